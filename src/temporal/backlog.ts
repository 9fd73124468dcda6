import type { Client } from '@temporalio/client';
// @temporalio/proto is CommonJS whose exports Node cannot name statically: import the default.
import proto from '@temporalio/proto';

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

/**
 * How long the oldest workflow task has been waiting on the task queue, in ms: how far batch processing
 * lags behind acceptance. 0 when nothing waits. The server's figure is approximate (it is what its
 * matching service tracks), which is all load shedding needs.
 */
export async function workflowBacklogAgeMs(client: Client, taskQueue: string): Promise<number> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    reportStats: true,
  });
  const age = response.stats?.approximateBacklogAge;
  if (!age) return 0;
  // seconds is an int64 (a Long object or a number, depending on the decoder).
  return Number(String(age.seconds ?? 0)) * 1000 + Math.round((age.nanos ?? 0) / 1e6);
}

import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { BatchInput, BatchRef } from '../shared/batch.ts';
import { processBatch } from '../../workflows/process-batch.ts';
import { batchWorkflowId } from './names.ts';
import { BATCH_ID, BATCH_IDS, EVENTFLOW_STATUS, PROJECT_ID } from '../../workflows/search-attributes.ts';

/**
 * Starts a processBatch run and resolves once the server has durably recorded it. Idempotent: starting
 * the same workflow id again attaches to the run that exists, and a finished run with this id means the
 * work was already accepted and processed.
 */
async function startOnce(client: Client, taskQueue: string, workflowId: string, input: BatchInput | BatchRef, batchIds: string[] | undefined): Promise<void> {
  try {
    await client.workflow.start(processBatch, {
      taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: PROJECT_ID, value: input.projectId },
        { key: BATCH_ID, value: 'runId' in input ? input.runId : input.batchId },
        { key: EVENTFLOW_STATUS, value: 'processing' },
        ...(batchIds ? [{ key: BATCH_IDS, value: batchIds }] : []),
      ],
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}

/**
 * Starts a batch's workflow with the events inline (the shape before runs by reference; tests and the
 * naive benchmark still start it). The id is the batch id, so a retried batch attaches to its run.
 */
export async function startBatchWorkflow(client: Client, taskQueue: string, input: BatchInput): Promise<string> {
  const workflowId = batchWorkflowId(input.batchId);
  await startOnce(client, taskQueue, workflowId, input, input.parts?.map((part) => part.batchId));
  return workflowId;
}

/**
 * Starts a run of accepted requests with a reference to them (never their bodies). The workflow id is
 * the run's, so starting it again attaches to the run that exists or existed.
 */
export async function startBatchRun(client: Client, taskQueue: string, ref: BatchRef, batchIdsMaxBytes: number): Promise<void> {
  await startOnce(client, taskQueue, batchWorkflowId(ref.runId), ref, batchIdsWithin(ref.batchIds, batchIdsMaxBytes));
}

/**
 * The leading batch ids whose JSON fits the server's size limit for one search attribute value (2 KB by
 * default, ~50 ids; temporal/dynamicconfig raises it). Past it the run would be refused, so the list is
 * cut; GET /v1/batches/:id finds any batch's run from Postgres either way.
 */
export function batchIdsWithin(batchIds: string[], maxBytes: number): string[] {
  let bytes = 2;
  let count = 0;
  while (count < batchIds.length && bytes + Buffer.byteLength(batchIds[count]) + 3 <= maxBytes) {
    bytes += Buffer.byteLength(batchIds[count]) + 3;
    count += 1;
  }
  return batchIds.slice(0, count);
}

import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { BatchInput, BatchRef } from '../shared/batch.ts';
import { processBatch } from '../../workflows/process-batch.ts';
import { batchWorkflowId } from './names.ts';
import { BATCH_ID, BATCH_IDS, EVENTFLOW_STATUS, PROJECT_ID } from '../../workflows/search-attributes.ts';

/**
 * Starts the batch's workflow and resolves once the server has durably recorded it: this is the moment
 * the API may answer 202. The id is the batch id, so a client retrying the same batch id (Idempotency-Key)
 * attaches to the existing run instead of processing the batch twice. A run of coalesced requests is
 * named after its first batch and lists every batch in the BatchIds search attribute.
 */
export async function startBatchWorkflow(client: Client, taskQueue: string, input: BatchInput): Promise<string> {
  const workflowId = batchWorkflowId(input.batchId);
  try {
    await client.workflow.start(processBatch, {
      taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: PROJECT_ID, value: input.projectId },
        { key: BATCH_ID, value: input.batchId },
        { key: EVENTFLOW_STATUS, value: 'processing' },
        ...(input.parts ? [{ key: BATCH_IDS, value: input.parts.map((part) => part.batchId) }] : []),
      ],
    });
  } catch (error) {
    // A finished run with this id means the batch was already accepted and processed.
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return workflowId;
}

/**
 * Starts a run of accepted requests with a reference to them (never their bodies). Idempotent: the
 * workflow id is the run's, so starting it again attaches to the run that exists or existed.
 */
export async function startBatchRun(client: Client, taskQueue: string, ref: BatchRef, batchIdsMaxBytes: number): Promise<void> {
  try {
    await client.workflow.start(processBatch, {
      taskQueue,
      workflowId: batchWorkflowId(ref.runId),
      args: [ref],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: PROJECT_ID, value: ref.projectId },
        { key: BATCH_ID, value: ref.runId },
        { key: EVENTFLOW_STATUS, value: 'processing' },
        { key: BATCH_IDS, value: batchIdsWithin(ref.batchIds, batchIdsMaxBytes) },
      ],
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
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

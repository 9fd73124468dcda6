import { Router } from '@koa/router';
import { WorkflowNotFoundError } from '@temporalio/client';
import { batchWorkflowId } from '../../temporal/names.ts';
import { PROJECT_ID } from '../../../workflows/search-attributes.ts';
import { findCompletedBatch, type BatchRow } from '../batches/queries.ts';
import type { RouteDeps } from '../deps.ts';
import { notFound } from '../errors.ts';
import { adminOnly } from '../middleware/auth.ts';
import type { ApiState } from '../state.ts';
import { callTemporal } from '../temporal-access.ts';

const MAX_BATCH_ID_LENGTH = 128;

/**
 * A batch's status: Postgres knows completed batches (with their summary); anything earlier or stuck is
 * only known to Temporal, whose run must carry the caller's project to be shown.
 */
export function batchesRouter({ db, temporal }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/batches' });

  router.get('/:id', adminOnly, async (ctx) => {
    const batchId = ctx.params.id;
    const projectId = ctx.state.auth.projectId;
    if (batchId.length > MAX_BATCH_ID_LENGTH) throw notFound('batch');

    const completed = await findCompletedBatch(db, projectId, batchId);
    if (completed) {
      ctx.body = completedBody(completed);
      return;
    }

    const workflowId = batchWorkflowId(batchId);
    const description = await callTemporal(temporal, (client) => client.workflow.getHandle(workflowId).describe()).catch(
      (error: unknown) => {
        if (error instanceof WorkflowNotFoundError) return undefined;
        throw error;
      },
    );
    if (!description || description.typedSearchAttributes.get(PROJECT_ID) !== projectId) throw notFound('batch');

    // The run may have completed between our two reads; its row is then the better answer.
    const justCompleted = description.status.name === 'COMPLETED' ? await findCompletedBatch(db, projectId, batchId) : undefined;
    ctx.body = justCompleted
      ? completedBody(justCompleted)
      : {
          batch_id: batchId,
          status: description.status.name.toLowerCase(),
          workflow_id: workflowId,
          summary: null,
          received_at: description.startTime,
          completed_at: description.closeTime ?? null,
        };
  });

  return router;
}

function completedBody(row: BatchRow) {
  const { received, invalid, duplicates, stored, rejected } = row.summary;
  return {
    batch_id: row.id,
    status: 'completed',
    workflow_id: row.workflow_id,
    summary: { received, invalid, duplicates, stored, rejected },
    received_at: row.received_at,
    completed_at: row.completed_at,
  };
}

import { Router } from '@koa/router';
import { WorkflowNotFoundError, type WorkflowExecutionInfo } from '@temporalio/client';
import { batchWorkflowId } from '../../temporal/names.ts';
import { PROJECT_ID } from '../../../workflows/search-attributes.ts';
import { findAcceptedRequest } from '../../ingest/queries.ts';
import { findCompletedBatch, type BatchRow } from '../../batches/queries.ts';
import type { RouteDeps } from '../deps.ts';
import { notFound } from '../errors.ts';
import { requires } from '../middleware/auth.ts';
import type { ApiState } from '../state.ts';
import { callTemporal } from '../temporal-access.ts';

// Both a describe() and a list() answer carry these.
type RunInfo = Pick<WorkflowExecutionInfo, 'workflowId' | 'status' | 'startTime' | 'closeTime' | 'typedSearchAttributes'>;

const MAX_BATCH_ID_LENGTH = 128;
// Batch ids EventFlow issues (UUIDs) never need quoting inside a visibility query; others are not looked up there.
const LIST_QUERY_SAFE = /^[A-Za-z0-9_.:-]+$/;

/**
 * A batch's status: Postgres knows completed batches (with their summary); anything earlier or stuck is
 * only known to Temporal, whose run must carry the caller's project to be shown.
 */
export function batchesRouter({ db, temporal }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/batches' });

  router.get('/:id', requires('project:read'), async (ctx) => {
    const batchId = ctx.params.id;
    const projectId = ctx.state.auth.projectId;
    if (batchId.length > MAX_BATCH_ID_LENGTH) throw notFound('batch');

    const completed = await findCompletedBatch(db, projectId, batchId);
    if (completed) {
      ctx.body = completedBody(completed);
      return;
    }

    const accepted = await findAcceptedRequest(db, projectId, batchId);
    if (accepted) {
      ctx.body = await acceptedBody(batchId, accepted);
      return;
    }

    const description = (await ownRun(batchId)) ?? (await coalescedRun(batchId, projectId));
    if (!description || description.typedSearchAttributes.get(PROJECT_ID) !== projectId) throw notFound('batch');

    // The run may have completed between our two reads; its row is then the better answer.
    const justCompleted = description.status.name === 'COMPLETED' ? await findCompletedBatch(db, projectId, batchId) : undefined;
    ctx.body = justCompleted
      ? completedBody(justCompleted)
      : {
          batch_id: batchId,
          status: description.status.name.toLowerCase(),
          workflow_id: description.workflowId,
          summary: null,
          received_at: description.startTime,
          completed_at: description.closeTime ?? null,
        };
  });

  /**
   * Accepted and not yet stored: `accepted` until a run claims it, then the run's own status (`running`,
   * or `failed` when its run failed and waits for an operator).
   */
  async function acceptedBody(batchId: string, accepted: { run_id: string | null; received_at: Date; started_at: Date | null }) {
    const workflowId = accepted.run_id ? batchWorkflowId(accepted.run_id) : null;
    let status = 'accepted';
    if (accepted.run_id && accepted.started_at) {
      const run = await ownRun(accepted.run_id).catch(() => undefined);
      status = run ? run.status.name.toLowerCase() : 'running';
    }
    return { batch_id: batchId, status, workflow_id: workflowId, summary: null, received_at: accepted.received_at, completed_at: null };
  }

  function ownRun(batchId: string): Promise<RunInfo | undefined> {
    return callTemporal(temporal, (client) => client.workflow.getHandle(batchWorkflowId(batchId)).describe()).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    });
  }

  /** A batch the API coalesced with others runs under the first one's id; BatchIds lists them all. */
  async function coalescedRun(batchId: string, projectId: string): Promise<RunInfo | undefined> {
    if (!LIST_QUERY_SAFE.test(batchId)) return undefined;
    return callTemporal(temporal, async (client) => {
      for await (const run of client.workflow.list({ query: `BatchIds = "${batchId}" AND ProjectId = "${projectId}"`, pageSize: 1 })) return run;
      return undefined;
    });
  }

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

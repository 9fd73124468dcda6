import { Router } from '@koa/router';
import type { EventFlowConfig } from '../../config.ts';
import { assertDeliverableUrl, UnsafeUrlError } from '../../deliveries/channels/webhook/ssrf.ts';
import {
  countDeadLetters,
  deadLetterWorkflowIds,
  findDelivery,
  listDeadLetters,
  type DeadLetterFilter,
} from '../../deliveries/records.ts';
import type { DeliveryRow } from '../../deliveries/types.ts';
import type { ReplayRequest } from '../../shared/delivery.ts';
import { discardSignal, replaySignal } from '../../../workflows/delivery.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError, invalidBody, notFound } from '../errors.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody, optionalJsonBody } from '../middleware/json-body.ts';
import { validateBody, validateQuery, type Valid } from '../middleware/validate.ts';
import { decodeCursor, page, PAGE_PARAMS, pageSize, TIME_PARAM } from '../pagination.ts';
import { textParam } from '../params.ts';
import type { ApiState } from '../state.ts';
import { isStorableInstant } from '../validation.ts';
import { callTemporal } from '../temporal-access.ts';

// Dead letters are parked delivery workflows; these routes find them (through their Postgres mirror)
// and act on them the way an operator would from the Web UI or CLI: by signalling the run.

// One bulk replay signals at most this many runs; the response says how many matched, so a caller
// repeats until nothing is left instead of one request fanning out without bound.
export const BULK_REPLAY_LIMIT = 1_000;

const RETRY_SCHEDULE = { type: 'array', items: { type: 'integer', minimum: 0, maximum: 86_400 }, minItems: 1, maxItems: 20 };
const FILTER_FIELDS = {
  endpoint_id: { type: 'string', format: 'uuid' },
  event_type: { type: 'string', minLength: 1, maxLength: 128 },
  from: TIME_PARAM,
  to: TIME_PARAM,
};
const LIST_QUERY = { type: 'object', additionalProperties: false, properties: { ...FILTER_FIELDS, ...PAGE_PARAMS } };
const REPLAY = {
  type: 'object',
  additionalProperties: false,
  properties: { url: { type: 'string', minLength: 1, maxLength: 2048 }, retry_schedule: RETRY_SCHEDULE },
};
const DISCARD = { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 1000 } } };
const BULK_REPLAY = {
  type: 'object',
  additionalProperties: false,
  properties: { ...FILTER_FIELDS, dry_run: { type: 'boolean' }, retry_schedule: RETRY_SCHEDULE },
};

interface FilterInput {
  endpoint_id?: string;
  event_type?: string;
  from?: string;
  to?: string;
}
type ListQuery = FilterInput & { limit?: string; cursor?: string };
type BulkReplay = FilterInput & { dry_run?: boolean; retry_schedule?: number[] };
type Discard = { reason?: string };

function toFilter(input: FilterInput): DeadLetterFilter {
  // The body's bounds are not checked by validateQuery, so the same storable-instant rule applies here.
  for (const field of ['from', 'to'] as const) {
    const value = input[field];
    if (value !== undefined && !isStorableInstant(value)) throw invalidBody([{ field, message: 'must be an ISO-8601 date-time with a time zone' }]);
  }
  return {
    endpointId: input.endpoint_id?.toLowerCase(),
    eventType: input.event_type,
    from: input.from && new Date(input.from).toISOString(),
    to: input.to && new Date(input.to).toISOString(),
  };
}

function present(row: DeliveryRow) {
  return {
    id: row.delivery_id,
    channel: row.channel,
    endpoint_id: row.channel === 'webhook' ? row.target_id : null,
    notification_rule_id: row.channel === 'email' ? row.target_id : null,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    last_error: row.last_error,
    workflow_id: row.workflow_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

async function checkReplayUrl(request: ReplayRequest, row: DeliveryRow, config: EventFlowConfig): Promise<void> {
  if (request.url === undefined) return;
  if (row.channel !== 'webhook') throw invalidBody([{ field: 'url', message: 'applies to webhook deliveries only' }]);
  try {
    await assertDeliverableUrl(request.url, config.webhooks.allowedPrivateTargets);
  } catch (error) {
    if (error instanceof UnsafeUrlError) throw new ApiError(400, 'unsafe_url', error.message, [{ field: 'url', message: error.message }]);
    throw error;
  }
}

export function deadLettersRouter({ db, temporal, config }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/dead-letters' });
  const act = requires('deliveries:act');
  const read = requires('project:read');

  async function deliveryOf(projectId: string, id: string | undefined): Promise<DeliveryRow> {
    const row = await findDelivery(db, projectId, textParam(id, 'dead letter'));
    if (!row) throw notFound('dead letter');
    return row;
  }

  async function parked(projectId: string, id: string | undefined): Promise<DeliveryRow> {
    const row = await deliveryOf(projectId, id);
    if (row.status !== 'dead_lettered') throw new ApiError(409, 'not_dead_lettered', `this delivery is ${row.status}, not dead-lettered`);
    return row;
  }

  router.get<Valid<never, ListQuery>>('/', read, validateQuery<ListQuery>(LIST_QUERY), async (ctx) => {
    const query = ctx.state.query;
    const limit = pageSize(query.limit);
    const after =
      query.cursor === undefined
        ? undefined
        : (decodeCursor(query.cursor, 2, ([updatedAt]) => isStorableInstant(updatedAt)) as [string, string]);
    const rows = await listDeadLetters(db, ctx.state.auth.projectId, toFilter(query), { limit, after });
    const { data, next_cursor } = page(rows, limit, (row) => [row.cursor_updated_at, row.delivery_id]);
    ctx.body = { data: data.map(({ cursor_updated_at, ...row }) => present(row)), next_cursor };
  });

  router.get('/:id', read, async (ctx) => {
    ctx.body = present(await deliveryOf(ctx.state.auth.projectId, ctx.params.id));
  });

  router.post<Valid<BulkReplay>>('/replay', act, jsonBody, validateBody<BulkReplay>(BULK_REPLAY), async (ctx) => {
    const body = ctx.state.input;
    const projectId = ctx.state.auth.projectId;
    const filter = toFilter(body);
    const matched = await countDeadLetters(db, projectId, filter);
    if (body.dry_run) {
      ctx.body = { dry_run: true, matched };
      return;
    }
    const targets = await deadLetterWorkflowIds(db, projectId, filter, BULK_REPLAY_LIMIT);
    const request: ReplayRequest = body.retry_schedule ? { retry_schedule: body.retry_schedule } : {};
    let replayed = 0;
    for (const { workflow_id: workflowId } of targets) {
      await callTemporal(temporal, (client) => client.workflow.getHandle(workflowId).signal(replaySignal, request));
      replayed += 1;
    }
    ctx.status = 202;
    ctx.body = { dry_run: false, matched, replayed, remaining: matched - replayed };
  });

  router.post<Valid<ReplayRequest>>('/:id/replay', act, optionalJsonBody, validateBody<ReplayRequest>(REPLAY), async (ctx) => {
    const request = ctx.state.input;
    const row = await parked(ctx.state.auth.projectId, ctx.params.id);
    await checkReplayUrl(request, row, config);
    await callTemporal(temporal, (client) => client.workflow.getHandle(row.workflow_id).signal(replaySignal, request));
    ctx.status = 202;
    ctx.body = { id: row.delivery_id, status: 'replaying', workflow_id: row.workflow_id };
  });

  router.post<Valid<Discard>>('/:id/discard', act, optionalJsonBody, validateBody<Discard>(DISCARD), async (ctx) => {
    const row = await parked(ctx.state.auth.projectId, ctx.params.id);
    await callTemporal(temporal, (client) => client.workflow.getHandle(row.workflow_id).signal(discardSignal, ctx.state.input));
    ctx.status = 202;
    ctx.body = { id: row.delivery_id, status: 'discarding', workflow_id: row.workflow_id };
  });

  return router;
}

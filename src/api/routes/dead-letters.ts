import { Router } from '@koa/router';
import { listDeadLetters } from '../../deliveries/records.ts';
import type { DeliveryRow } from '../../deliveries/types.ts';
import type { ReplayRequest } from '../../shared/delivery.ts';
import type { RouteDeps } from '../deps.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody, optionalJsonBody } from '../middleware/json-body.ts';
import { validateBody, validateQuery, type Valid } from '../middleware/validate.ts';
import {
  BULK_REPLAY,
  DISCARD_DEAD_LETTER,
  discardDeadLetter,
  FILTER_FIELDS,
  findDeadLetter,
  REPLAY_DEAD_LETTER,
  replayDeadLetter,
  replayDeadLetters,
  toFilter,
  type FilterInput,
} from '../operations/dead-letters.ts';
import { decodeCursor, page, PAGE_PARAMS, pageSize } from '../pagination.ts';
import type { ApiState } from '../state.ts';
import { isStorableInstant } from '../validation.ts';

// Dead letters are parked delivery workflows; these routes find them (through their Postgres mirror)
// and act on them through src/api/operations/dead-letters.ts.

const LIST_QUERY = { type: 'object', additionalProperties: false, properties: { ...FILTER_FIELDS, ...PAGE_PARAMS } };

type ListQuery = FilterInput & { limit?: string; cursor?: string };
type BulkReplay = FilterInput & { dry_run?: boolean; retry_schedule?: number[] };
type Discard = { reason?: string };

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

export function deadLettersRouter(deps: RouteDeps): Router<ApiState> {
  const { db } = deps;
  const router = new Router<ApiState>({ prefix: '/v1/dead-letters' });
  const act = requires('deliveries:act');
  const read = requires('project:read');

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
    ctx.body = present(await findDeadLetter(db, ctx.state.auth.projectId, ctx.params.id));
  });

  router.post<Valid<BulkReplay>>('/replay', act, jsonBody, validateBody<BulkReplay>(BULK_REPLAY), async (ctx) => {
    const result = await replayDeadLetters(deps, ctx.state.auth.projectId, ctx.state.input);
    if (result.dry_run) {
      ctx.body = { dry_run: true, matched: result.matched };
      return;
    }
    ctx.status = 202;
    ctx.body = result;
  });

  router.post<Valid<ReplayRequest>>('/:id/replay', act, optionalJsonBody, validateBody<ReplayRequest>(REPLAY_DEAD_LETTER), async (ctx) => {
    ctx.body = await replayDeadLetter(deps, ctx.state.auth.projectId, ctx.params.id, ctx.state.input);
    ctx.status = 202;
  });

  router.post<Valid<Discard>>('/:id/discard', act, optionalJsonBody, validateBody<Discard>(DISCARD_DEAD_LETTER), async (ctx) => {
    ctx.body = await discardDeadLetter(deps, ctx.state.auth.projectId, ctx.params.id, ctx.state.input);
    ctx.status = 202;
  });

  return router;
}

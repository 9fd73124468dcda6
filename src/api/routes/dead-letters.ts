import Router from '@koa/router';
import type { Knex } from 'knex';
import { Ajv } from 'ajv';
import type { EventFlowConfig } from '../../config.ts';
import {
  countDeadLetters,
  deadLetterWorkflowIds,
  findDelivery,
  listDeadLetters,
  type DeadLetterFilter,
  type DeadLetterRow,
} from '../../dead-letters/queries.ts';
import type { ReplayRequest } from '../../shared/delivery.ts';
import { discardSignal, replaySignal } from '../../../workflows/delivery.ts';
import { assertDeliverableUrl, UnsafeUrlError } from '../../webhooks/ssrf.ts';
import { ApiError, notFound } from '../errors.ts';
import { adminOnly } from '../middleware/auth.ts';
import { jsonBody, optionalJsonBody } from '../middleware/json-body.ts';
import type { ApiState } from '../state.ts';
import { callTemporal, type TemporalClientRef } from '../temporal-access.ts';
import { describeAjvErrors } from '../validation.ts';

// One bulk replay signals at most this many runs; the response says how many matched, so a caller
// repeats until nothing is left instead of one request fanning out without bound.
export const BULK_REPLAY_LIMIT = 1_000;
const MAX_PAGE = 500;

const ajv = new Ajv({ allErrors: true, strict: false });
const retrySchedule = { type: 'array', items: { type: 'integer', minimum: 0, maximum: 86_400 }, minItems: 1, maxItems: 20 };
const filterProperties = {
  endpoint_id: { type: 'string', pattern: '^[0-9a-fA-F-]{36}$' },
  event_type: { type: 'string', minLength: 1, maxLength: 128 },
  from: { type: 'string', minLength: 1 },
  to: { type: 'string', minLength: 1 },
};
const validateReplay = ajv.compile<ReplayRequest>({
  type: 'object',
  additionalProperties: false,
  properties: { url: { type: 'string', minLength: 1, maxLength: 2048 }, retry_schedule: retrySchedule },
});
const validateDiscard = ajv.compile<{ reason?: string }>({
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 1000 } },
});
const validateBulk = ajv.compile<{ endpoint_id?: string; event_type?: string; from?: string; to?: string; dry_run?: boolean } & ReplayRequest>({
  type: 'object',
  additionalProperties: false,
  properties: { ...filterProperties, dry_run: { type: 'boolean' }, retry_schedule: retrySchedule },
});
const validateListQuery = ajv.compile<{ endpoint_id?: string; event_type?: string; from?: string; to?: string; limit?: string; cursor?: string }>({
  type: 'object',
  additionalProperties: false,
  properties: {
    ...filterProperties,
    limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
    cursor: { type: 'string', maxLength: 512 },
  },
});

function check<T>(validate: ((value: unknown) => value is T) & { errors?: unknown }, value: unknown, code: string): T {
  if (validate(value)) return value;
  throw new ApiError(400, code, 'the request is invalid', describeAjvErrors(validate.errors as never));
}

function instant(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new ApiError(400, 'invalid_query', `${field} must be an ISO-8601 date-time`, [{ field, message: 'must be an ISO-8601 date-time' }]);
  return new Date(ms).toISOString();
}

function toFilter(input: { endpoint_id?: string; event_type?: string; from?: string; to?: string }): DeadLetterFilter {
  return {
    endpointId: input.endpoint_id,
    eventType: input.event_type,
    from: instant(input.from, 'from'),
    to: instant(input.to, 'to'),
  };
}

function present(row: DeadLetterRow) {
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

function encodeCursor(row: DeadLetterRow): string {
  return Buffer.from(JSON.stringify([new Date(row.updated_at).toISOString(), row.delivery_id])).toString('base64url');
}

function decodeCursor(cursor: string): { updatedAt: string; deliveryId: string } {
  try {
    const [updatedAt, deliveryId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof updatedAt === 'string' && typeof deliveryId === 'string' && Number.isFinite(Date.parse(updatedAt))) {
      return { updatedAt, deliveryId };
    }
  } catch {
    // fall through to the 400 below
  }
  throw new ApiError(400, 'invalid_query', 'cursor is not one this API returned', [{ field: 'cursor', message: 'is invalid' }]);
}

export interface DeadLetterRouteDeps {
  db: Knex;
  temporal: TemporalClientRef;
  config: EventFlowConfig;
}

/**
 * Dead letters are parked delivery workflows; these routes find them (through their Postgres mirror)
 * and act on them the same way an operator would from the Web UI or CLI: by signalling the run.
 */
export function deadLettersRouter({ db, temporal, config }: DeadLetterRouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/dead-letters' });
  router.use(adminOnly);

  async function parked(projectId: string, id: string): Promise<DeadLetterRow> {
    const row = await findDelivery(db, projectId, id);
    if (!row) throw notFound('dead letter');
    if (row.status !== 'dead_lettered') {
      throw new ApiError(409, 'not_dead_lettered', `this delivery is ${row.status}, not dead-lettered`);
    }
    return row;
  }

  async function checkReplayUrl(request: ReplayRequest, row: DeadLetterRow): Promise<void> {
    if (request.url === undefined) return;
    if (row.channel !== 'webhook') throw new ApiError(400, 'invalid_body', 'url applies to webhook deliveries only', [{ field: 'url', message: 'not allowed for email' }]);
    try {
      await assertDeliverableUrl(request.url, config.webhooks.allowedPrivateTargets);
    } catch (error) {
      if (error instanceof UnsafeUrlError) throw new ApiError(400, 'unsafe_url', error.message, [{ field: 'url', message: error.message }]);
      throw error;
    }
  }

  router.get('/', async (ctx) => {
    const query = check(validateListQuery, { ...ctx.query }, 'invalid_query');
    const limit = Math.min(Number(query.limit ?? 50), MAX_PAGE) || 50;
    const rows = await listDeadLetters(db, ctx.state.auth.projectId, toFilter(query), {
      limit,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    ctx.body = { data: rows.map(present), next_cursor: rows.length === limit ? encodeCursor(rows[rows.length - 1]) : null };
  });

  router.get('/:id', async (ctx) => {
    const row = await findDelivery(db, ctx.state.auth.projectId, ctx.params.id);
    if (!row) throw notFound('dead letter');
    ctx.body = present(row);
  });

  router.post('/replay', jsonBody, async (ctx) => {
    const body = check(validateBulk, ctx.state.body, 'invalid_body');
    const filter = toFilter(body);
    const matched = await countDeadLetters(db, ctx.state.auth.projectId, filter);
    if (body.dry_run) {
      ctx.body = { dry_run: true, matched };
      return;
    }
    const targets = await deadLetterWorkflowIds(db, ctx.state.auth.projectId, filter, BULK_REPLAY_LIMIT);
    const request: ReplayRequest = body.retry_schedule ? { retry_schedule: body.retry_schedule } : {};
    let replayed = 0;
    for (const { workflow_id: workflowId } of targets) {
      await callTemporal(temporal, (client) => client.workflow.getHandle(workflowId).signal(replaySignal, request));
      replayed += 1;
    }
    ctx.status = 202;
    ctx.body = { dry_run: false, matched, replayed, remaining: matched - replayed };
  });

  router.post('/:id/replay', optionalJsonBody, async (ctx) => {
    const request = check(validateReplay, ctx.state.body, 'invalid_body');
    const row = await parked(ctx.state.auth.projectId, ctx.params.id);
    await checkReplayUrl(request, row);
    await callTemporal(temporal, (client) => client.workflow.getHandle(row.workflow_id).signal(replaySignal, request));
    ctx.status = 202;
    ctx.body = { id: row.delivery_id, status: 'replaying', workflow_id: row.workflow_id };
  });

  router.post('/:id/discard', optionalJsonBody, async (ctx) => {
    const request = check(validateDiscard, ctx.state.body, 'invalid_body');
    const row = await parked(ctx.state.auth.projectId, ctx.params.id);
    await callTemporal(temporal, (client) => client.workflow.getHandle(row.workflow_id).signal(discardSignal, request));
    ctx.status = 202;
    ctx.body = { id: row.delivery_id, status: 'discarding', workflow_id: row.workflow_id };
  });

  return router;
}

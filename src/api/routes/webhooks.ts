import { Router } from '@koa/router';
import { findEndpoint, listEndpoints } from '../../deliveries/endpoints.ts';
import {
  CREATE_WEBHOOK,
  createWebhook,
  deleteWebhook,
  PATCH_WEBHOOK,
  ROTATE_WEBHOOK_SECRET,
  rotateWebhookSecret,
  TEST_WEBHOOK,
  testWebhook,
  updateWebhook,
  type EndpointInput,
  type TestWebhookInput,
} from '../operations/webhooks.ts';
import { deliveriesOfEvent, endpointAttempts, eventAttempts } from '../../deliveries/records.ts';
import type { DeliveryAttemptRow } from '../../deliveries/types.ts';
import { eventExists } from '../../events/queries.ts';
import type { RouteDeps } from '../deps.ts';
import { notFound } from '../errors.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody, optionalJsonBody } from '../middleware/json-body.ts';
import { validateBody, validateQuery, type Valid } from '../middleware/validate.ts';
import { decodeCursor, page, PAGE_PARAMS, pageSize } from '../pagination.ts';
import { uuidParam } from '../params.ts';
import type { ApiState } from '../state.ts';

// Webhook endpoints of the caller's project, their attempt log, and an event's deliveries across both
// channels. Every query is scoped by the caller's project; another project's ids answer 404.

// An event fans out to a handful of targets, each retried a few times; this bounds a pathological one.
const MAX_EVENT_ATTEMPTS = 1_000;

const ATTEMPTS_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    event_id: { type: 'string', maxLength: 128 },
    outcome: { enum: ['delivered', 'retryable', 'permanent', 'gone'] },
    ...PAGE_PARAMS,
  },
};

type AttemptsQuery = { event_id?: string; outcome?: string; limit?: string; cursor?: string };

function attemptJson(row: DeliveryAttemptRow) {
  return {
    id: String(row.id),
    channel: row.channel,
    target_id: row.target_id,
    endpoint_id: row.channel === 'webhook' ? row.target_id : null,
    event_id: row.event_id,
    delivery_id: row.delivery_id,
    attempt: row.attempt,
    attempted_at: row.attempted_at,
    status_code: row.status_code,
    duration_ms: row.duration_ms,
    response_excerpt: row.response_excerpt,
    error: row.error,
    outcome: row.outcome,
    trace_id: row.trace_id,
  };
}

export function webhooksRouter(deps: RouteDeps): Router<ApiState> {
  const { db } = deps;
  const router = new Router<ApiState>({ prefix: '/v1/webhooks' });
  const manage = requires('webhooks:manage');
  const read = requires('project:read');

  async function endpointOf(projectId: string, id: string | undefined) {
    const endpoint = await findEndpoint(db, projectId, uuidParam(id, 'webhook endpoint'));
    if (!endpoint) throw notFound('webhook endpoint');
    return endpoint;
  }

  router.post<Valid<EndpointInput>>('/', manage, jsonBody, validateBody<EndpointInput>(CREATE_WEBHOOK), async (ctx) => {
    const row = await createWebhook(deps, ctx.state.auth.projectId, ctx.state.input);
    ctx.status = 201;
    ctx.set('Location', `/v1/webhooks/${row.id}`);
    // The only time the secret is shown, with rotation the only way to get a new one.
    ctx.body = row;
  });

  router.get('/', read, async (ctx) => {
    ctx.body = { data: await listEndpoints(db, ctx.state.auth.projectId) };
  });

  router.get('/:id', read, async (ctx) => {
    ctx.body = await endpointOf(ctx.state.auth.projectId, ctx.params.id);
  });

  router.patch<Valid<EndpointInput>>('/:id', manage, jsonBody, validateBody<EndpointInput>(PATCH_WEBHOOK), async (ctx) => {
    ctx.body = await updateWebhook(deps, ctx.state.auth.projectId, ctx.params.id, ctx.state.input);
  });

  router.delete('/:id', manage, async (ctx) => {
    await deleteWebhook(deps, ctx.state.auth.projectId, ctx.params.id);
    ctx.status = 204;
  });

  router.post<Valid<{ grace_seconds?: number }>>('/:id/rotate-secret', manage, optionalJsonBody, validateBody<{ grace_seconds?: number }>(ROTATE_WEBHOOK_SECRET), async (ctx) => {
    ctx.body = await rotateWebhookSecret(deps, ctx.state.auth.projectId, ctx.params.id, ctx.state.input.grace_seconds);
  });

  // One signed request now, stored nowhere: a disabled endpoint answers 409 endpoint_disabled.
  router.post<Valid<TestWebhookInput>>('/:id/test', manage, optionalJsonBody, validateBody<TestWebhookInput>(TEST_WEBHOOK), async (ctx) => {
    ctx.body = await testWebhook(deps, ctx.state.auth.projectId, ctx.params.id, ctx.state.input);
  });

  router.get<Valid<never, AttemptsQuery>>('/:id/attempts', read, validateQuery<AttemptsQuery>(ATTEMPTS_QUERY), async (ctx) => {
    const projectId = ctx.state.auth.projectId;
    const endpoint = await endpointOf(projectId, ctx.params.id);
    const query = ctx.state.query;
    const limit = pageSize(query.limit);
    const beforeId = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 1, ([id]) => /^[1-9]\d{0,15}$/.test(id))[0];
    const rows = await endpointAttempts(db, projectId, endpoint.id, { eventId: query.event_id, outcome: query.outcome, beforeId, limit });
    const { data, next_cursor } = page(rows, limit, (row) => [String(row.id)]);
    ctx.body = { data: data.map(attemptJson), next_cursor };
  });

  return router;
}

/**
 * `GET /v1/events/:id/deliveries`: every attempt (webhook and email) and every tracked delivery of one
 * event. With the delivery routes rather than the event routes: it reads only delivery tables.
 */
export function eventDeliveriesRouter({ db }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/events/:id/deliveries' });
  router.get('/', requires('project:read'), async (ctx) => {
    const projectId = ctx.state.auth.projectId;
    const eventId = ctx.params.id!;
    if (!(await eventExists(db, projectId, eventId))) throw notFound('event');
    const [attempts, deliveries] = await Promise.all([eventAttempts(db, projectId, eventId, MAX_EVENT_ATTEMPTS), deliveriesOfEvent(db, projectId, eventId)]);
    ctx.body = {
      data: attempts.map(attemptJson),
      deliveries: deliveries.map(({ project_id, ...delivery }) => delivery),
    };
  });
  return router;
}

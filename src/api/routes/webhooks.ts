import { Router } from '@koa/router';
import type { EventFlowConfig } from '../../config.ts';
import { eventTypePatternProblem } from '../../deliveries/channels/webhook/filters.ts';
import { isReservedHeaderName } from '../../deliveries/channels/webhook/send.ts';
import { generateSecret } from '../../deliveries/channels/webhook/signing.ts';
import { assertDeliverableUrl, UnsafeUrlError } from '../../deliveries/channels/webhook/ssrf.ts';
import { deleteEndpoint, findEndpoint, insertEndpoint, listEndpoints, rotateEndpointSecret, updateEndpoint, type EndpointChanges } from '../../deliveries/endpoints.ts';
import { deliveriesOfEvent, endpointAttempts, eventAttempts } from '../../deliveries/records.ts';
import type { DeliveryAttemptRow } from '../../deliveries/types.ts';
import { eventExists } from '../../events/queries.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError, invalidBody, notFound } from '../errors.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody, optionalJsonBody } from '../middleware/json-body.ts';
import { validateBody, validateQuery, type Valid } from '../middleware/validate.ts';
import { decodeCursor, page, PAGE_PARAMS, pageSize } from '../pagination.ts';
import { uuidParam } from '../params.ts';
import type { ApiState } from '../state.ts';
import type { FieldDetail } from '../validation.ts';

// Webhook endpoints of the caller's project, their attempt log, and an event's deliveries across both
// channels. Every query is scoped by the caller's project; another project's ids answer 404.

const MAX_RETRY_DELAY_SECONDS = 7 * 24 * 3600;
const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$"; // RFC 9110 token
const HEADER_VALUE = '^[\\t\\x20-\\x7e]*$'; // visible ASCII: CR/LF can never split a header
// An event fans out to a handful of targets, each retried a few times; this bounds a pathological one.
const MAX_EVENT_ATTEMPTS = 1_000;

const ENDPOINT_FIELDS = {
  url: { type: 'string', minLength: 1, maxLength: 2048 },
  event_types: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string' } },
  description: { type: ['string', 'null'], maxLength: 1000 },
  enabled: { type: 'boolean' },
  headers: {
    type: 'object',
    maxProperties: 20,
    propertyNames: { pattern: HEADER_NAME },
    additionalProperties: { type: 'string', maxLength: 4096, pattern: HEADER_VALUE },
  },
  retry_schedule: { type: ['array', 'null'], maxItems: 20, items: { type: 'integer', minimum: 0, maximum: MAX_RETRY_DELAY_SECONDS } },
};
const CREATE = { type: 'object', additionalProperties: false, required: ['url', 'event_types'], properties: ENDPOINT_FIELDS };
const PATCH = { type: 'object', additionalProperties: false, minProperties: 1, properties: ENDPOINT_FIELDS };
const ROTATE = { type: 'object', additionalProperties: false, properties: { grace_seconds: { type: 'integer', minimum: 0, maximum: 30 * 24 * 3600 } } };
const ATTEMPTS_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    event_id: { type: 'string', maxLength: 128 },
    outcome: { enum: ['delivered', 'retryable', 'permanent', 'gone'] },
    ...PAGE_PARAMS,
  },
};

type EndpointInput = EndpointChanges;
type AttemptsQuery = { event_id?: string; outcome?: string; limit?: string; cursor?: string };

/** What a schema cannot say: pattern syntax and headers we reserve for ourselves. Dedupes the patterns. */
function checkEndpoint(input: EndpointInput): EndpointInput {
  const details: FieldDetail[] = [];
  input.event_types?.forEach((pattern, index) => {
    const problem = eventTypePatternProblem(pattern);
    if (problem) details.push({ field: `event_types.${index}`, message: problem });
  });
  for (const name of Object.keys(input.headers ?? {})) {
    if (isReservedHeaderName(name)) details.push({ field: `headers.${name}`, message: 'is set by EventFlow and cannot be overridden' });
  }
  if (details.length > 0) throw invalidBody(details);
  return input.event_types ? { ...input, event_types: [...new Set(input.event_types)] } : input;
}

async function assertSafeUrl(url: string, config: Pick<EventFlowConfig, 'webhooks'>): Promise<void> {
  try {
    await assertDeliverableUrl(url, config.webhooks.allowedPrivateTargets);
  } catch (error) {
    if (!(error instanceof UnsafeUrlError)) throw error;
    // A name that does not resolve *yet* is accepted: whatever it later resolves to is checked when
    // each connection is made, so this only spares owners a 400 for DNS that is not live yet.
    if (error.reason === 'unresolvable') return;
    throw new ApiError(400, 'unsafe_url', error.message, [{ field: 'url', message: error.message, reason: error.reason }]);
  }
}

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

export function webhooksRouter({ db, config }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/webhooks' });
  const manage = requires('webhooks:manage');
  const read = requires('project:read');

  async function endpointOf(projectId: string, id: string | undefined) {
    const endpoint = await findEndpoint(db, projectId, uuidParam(id, 'webhook endpoint'));
    if (!endpoint) throw notFound('webhook endpoint');
    return endpoint;
  }

  router.post<Valid<EndpointInput>>('/', manage, jsonBody, validateBody<EndpointInput>(CREATE), async (ctx) => {
    const input = checkEndpoint(ctx.state.input);
    await assertSafeUrl(input.url!, config);
    const row = await insertEndpoint(db, ctx.state.auth.projectId, {
      url: input.url!,
      event_types: input.event_types!,
      description: input.description ?? null,
      enabled: input.enabled ?? true,
      headers: input.headers ?? {},
      retry_schedule: input.retry_schedule ?? null,
      secret: generateSecret(),
    });
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

  router.patch<Valid<EndpointInput>>('/:id', manage, jsonBody, validateBody<EndpointInput>(PATCH), async (ctx) => {
    const input = checkEndpoint(ctx.state.input);
    const existing = await endpointOf(ctx.state.auth.projectId, ctx.params.id);
    if (input.url !== undefined && input.url !== existing.url) await assertSafeUrl(input.url, config);
    const row = await updateEndpoint(db, ctx.state.auth.projectId, existing, input);
    if (!row) throw notFound('webhook endpoint');
    ctx.body = row;
  });

  router.delete('/:id', manage, async (ctx) => {
    if (!(await deleteEndpoint(db, ctx.state.auth.projectId, uuidParam(ctx.params.id, 'webhook endpoint')))) throw notFound('webhook endpoint');
    ctx.status = 204;
  });

  router.post<Valid<{ grace_seconds?: number }>>('/:id/rotate-secret', manage, optionalJsonBody, validateBody<{ grace_seconds?: number }>(ROTATE), async (ctx) => {
    const graceSeconds = ctx.state.input.grace_seconds ?? config.webhooks.secretRotationGraceSeconds;
    const id = uuidParam(ctx.params.id, 'webhook endpoint');
    const row = await rotateEndpointSecret(db, ctx.state.auth.projectId, id, generateSecret(), graceSeconds);
    if (!row) throw notFound('webhook endpoint');
    ctx.body = row;
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

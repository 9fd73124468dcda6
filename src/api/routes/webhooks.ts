import Router from '@koa/router';
import type { ValidateFunction } from 'ajv';
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { EventFlowConfig } from '../../config.ts';
import { createSchemaCompiler } from '../../schemas/json-schema.ts';
import { eventTypePatternProblem } from '../../webhooks/filters.ts';
import { isReservedHeaderName } from '../../webhooks/send.ts';
import { generateSecret } from '../../webhooks/signing.ts';
import { assertDeliverableUrl, UnsafeUrlError } from '../../webhooks/ssrf.ts';
import { ApiError, notFound } from '../errors.ts';
import { adminOnly } from '../middleware/auth.ts';
import { jsonBody, optionalJsonBody } from '../middleware/json-body.ts';
import type { ApiState } from '../state.ts';
import { validBody, type FieldDetail } from '../validation.ts';

// Webhook endpoints of the caller's project, their attempt log, and an event's deliveries across both
// channels. Every query is scoped by the key's project; another project's ids answer 404.

export interface WebhooksRouterDependencies {
  db: Knex;
  /** For the SSRF allow-list and the default rotation grace period. */
  config: Pick<EventFlowConfig, 'webhooks'>;
}

const MAX_RETRY_DELAY_SECONDS = 7 * 24 * 3600;
const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$"; // RFC 9110 token
const HEADER_VALUE = '^[\\t\\x20-\\x7e]*$'; // visible ASCII: CR/LF can never split a header

const endpointFields = {
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
  retry_schedule: {
    type: ['array', 'null'],
    maxItems: 20,
    items: { type: 'integer', minimum: 0, maximum: MAX_RETRY_DELAY_SECONDS },
  },
};

const ajv = createSchemaCompiler();
const validateCreate = ajv.compile({
  type: 'object',
  additionalProperties: false,
  required: ['url', 'event_types'],
  properties: endpointFields,
});
const validatePatch = ajv.compile({ type: 'object', additionalProperties: false, minProperties: 1, properties: endpointFields });
const validateRotate = ajv.compile({
  type: 'object',
  additionalProperties: false,
  properties: { grace_seconds: { type: 'integer', minimum: 0, maximum: 30 * 24 * 3600 } },
});

interface EndpointInput {
  url?: string;
  event_types?: string[];
  description?: string | null;
  enabled?: boolean;
  headers?: Record<string, string>;
  retry_schedule?: number[] | null;
}

/** Schema first, then what a schema cannot say: pattern syntax and headers we reserve for ourselves. */
function parseEndpointBody(body: unknown, validate: ValidateFunction): EndpointInput {
  const input = validBody(validate, body) as EndpointInput;
  const details: FieldDetail[] = [];
  input.event_types?.forEach((pattern, index) => {
    const problem = eventTypePatternProblem(pattern);
    if (problem) details.push({ field: `event_types.${index}`, message: problem });
  });
  for (const name of Object.keys(input.headers ?? {})) {
    if (isReservedHeaderName(name)) details.push({ field: `headers.${name}`, message: 'is set by EventFlow and cannot be overridden' });
  }
  if (details.length > 0) throw invalidBody(details);
  if (input.event_types) input.event_types = [...new Set(input.event_types)];
  return input;
}

function invalidBody(details: FieldDetail[]): ApiError {
  return new ApiError(400, 'invalid_body', 'the request body is invalid', details);
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed id cannot exist: answer 404 without asking Postgres (which would reject the cast). */
function endpointIdParam(id: string): string {
  if (!UUID.test(id)) throw notFound('webhook endpoint');
  return id.toLowerCase();
}

const ENDPOINT_COLUMNS = [
  'id', 'url', 'event_types', 'description', 'enabled', 'headers', 'retry_schedule', 'disabled_reason',
  'disabled_at', 'failing_since', 'created_at', 'updated_at',
];

const ATTEMPT_OUTCOMES = ['delivered', 'retryable', 'permanent', 'gone'];
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;
// An event fans out to a handful of targets, each retried a few times; this bounds a pathological one.
const MAX_EVENT_ATTEMPTS = 1_000;

function attemptJson(row: Record<string, unknown>) {
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

function queryString(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text === '' ? undefined : text;
}

export function webhooksRouter({ db, config }: WebhooksRouterDependencies): Router<ApiState> {
  const router = new Router<ApiState>();
  router.use(adminOnly);

  async function findEndpoint(projectId: string, id: string) {
    const row = await db('webhook_endpoints').select(ENDPOINT_COLUMNS).where({ project_id: projectId, id: endpointIdParam(id) }).first();
    if (!row) throw notFound('webhook endpoint');
    return row;
  }

  router.post('/v1/webhooks', jsonBody, async (ctx) => {
    const input = parseEndpointBody(ctx.state.body, validateCreate);
    await assertSafeUrl(input.url!, config);
    const enabled = input.enabled ?? true;
    const [row] = await db('webhook_endpoints')
      .insert({
        id: uuidv7(),
        project_id: ctx.state.auth.projectId,
        url: input.url,
        event_types: input.event_types,
        description: input.description ?? null,
        enabled,
        headers: JSON.stringify(input.headers ?? {}),
        retry_schedule: input.retry_schedule ?? null,
        secret: generateSecret(),
        disabled_reason: enabled ? null : 'disabled through the API',
        disabled_at: enabled ? null : db.fn.now(),
      })
      .returning([...ENDPOINT_COLUMNS, 'secret']);
    ctx.status = 201;
    ctx.set('Location', `/v1/webhooks/${row.id}`);
    // The only time the secret is shown, with rotation the only way to get a new one.
    ctx.body = row;
  });

  router.get('/v1/webhooks', async (ctx) => {
    const rows = await db('webhook_endpoints')
      .select(ENDPOINT_COLUMNS)
      .where({ project_id: ctx.state.auth.projectId })
      .orderBy([{ column: 'created_at' }, { column: 'id' }]);
    ctx.body = { data: rows };
  });

  router.get('/v1/webhooks/:id', async (ctx) => {
    ctx.body = await findEndpoint(ctx.state.auth.projectId, ctx.params.id!);
  });

  router.patch('/v1/webhooks/:id', jsonBody, async (ctx) => {
    const input = parseEndpointBody(ctx.state.body, validatePatch);
    const existing = await findEndpoint(ctx.state.auth.projectId, ctx.params.id!);
    if (input.url !== undefined && input.url !== existing.url) await assertSafeUrl(input.url, config);

    const changes: Record<string, unknown> = { updated_at: db.fn.now() };
    if (input.url !== undefined && input.url !== existing.url) {
      // A new URL is a new receiver: the old one's failing window says nothing about it.
      Object.assign(changes, { url: input.url, failing_since: null });
    }
    if (input.event_types !== undefined) changes.event_types = input.event_types;
    if (input.description !== undefined) changes.description = input.description;
    if (input.headers !== undefined) changes.headers = JSON.stringify(input.headers);
    if (input.retry_schedule !== undefined) changes.retry_schedule = input.retry_schedule;
    if (input.enabled === true && !existing.enabled) {
      // Re-enabling is a fresh start: the failing window that got it disabled must not disable it again.
      Object.assign(changes, { enabled: true, disabled_reason: null, disabled_at: null, failing_since: null });
    } else if (input.enabled === false && existing.enabled) {
      Object.assign(changes, { enabled: false, disabled_reason: 'disabled through the API', disabled_at: db.fn.now() });
    }
    const [row] = await db('webhook_endpoints')
      .where({ project_id: ctx.state.auth.projectId, id: existing.id })
      .update(changes)
      .returning(ENDPOINT_COLUMNS);
    if (!row) throw notFound('webhook endpoint');
    ctx.body = row;
  });

  router.delete('/v1/webhooks/:id', async (ctx) => {
    const deleted = await db('webhook_endpoints')
      .where({ project_id: ctx.state.auth.projectId, id: endpointIdParam(ctx.params.id!) })
      .delete();
    if (deleted === 0) throw notFound('webhook endpoint');
    ctx.status = 204;
  });

  router.post('/v1/webhooks/:id/rotate-secret', optionalJsonBody, async (ctx) => {
    const body = validBody(validateRotate, ctx.state.body) as { grace_seconds?: number };
    const graceSeconds = body.grace_seconds ?? config.webhooks.secretRotationGraceSeconds;
    const id = endpointIdParam(ctx.params.id!);
    const secret = generateSecret();
    // One statement, so two concurrent rotations cannot both demote the same secret.
    const [row] = await db('webhook_endpoints')
      .where({ project_id: ctx.state.auth.projectId, id })
      .update({
        previous_secret: graceSeconds > 0 ? db.ref('secret') : null,
        previous_secret_expires_at: graceSeconds > 0 ? db.raw(`now() + make_interval(secs => ?)`, [graceSeconds]) : null,
        secret,
        updated_at: db.fn.now(),
      })
      .returning([...ENDPOINT_COLUMNS, 'secret', 'previous_secret_expires_at']);
    if (!row) throw notFound('webhook endpoint');
    ctx.body = row;
  });

  router.get('/v1/webhooks/:id/attempts', async (ctx) => {
    const projectId = ctx.state.auth.projectId;
    const endpoint = await findEndpoint(projectId, ctx.params.id!);
    const eventId = queryString(ctx.query.event_id);
    const outcome = queryString(ctx.query.outcome);
    const limitText = queryString(ctx.query.limit);
    const cursor = queryString(ctx.query.cursor);

    const details: FieldDetail[] = [];
    const limit = limitText === undefined ? DEFAULT_PAGE_SIZE : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      details.push({ field: 'limit', message: `must be an integer from 1 to ${MAX_PAGE_SIZE}` });
    }
    if (outcome !== undefined && !ATTEMPT_OUTCOMES.includes(outcome)) {
      details.push({ field: 'outcome', message: `must be one of ${ATTEMPT_OUTCOMES.join(', ')}` });
    }
    if (cursor !== undefined && !/^[1-9]\d{0,15}$/.test(cursor)) details.push({ field: 'cursor', message: 'is not a cursor from this API' });
    if (details.length > 0) throw new ApiError(400, 'invalid_query', 'the query parameters are invalid', details);

    const query = db('delivery_attempts').where({ project_id: projectId, target_id: endpoint.id, channel: 'webhook' });
    if (eventId !== undefined) query.andWhere('event_id', eventId);
    if (outcome !== undefined) query.andWhere('outcome', outcome);
    if (cursor !== undefined) query.andWhere('id', '<', cursor);
    const rows: Array<Record<string, unknown>> = await query.orderBy('id', 'desc').limit(limit + 1);
    const page = rows.slice(0, limit);
    ctx.body = {
      data: page.map(attemptJson),
      next_cursor: rows.length > limit ? String(page.at(-1)!.id) : null,
    };
  });

  // Lives here rather than with the events routes: it reads only delivery tables. `/v1/events/:id`
  // does not swallow it, since a router path must match to its end.
  router.get('/v1/events/:id/deliveries', async (ctx) => {
    const projectId = ctx.state.auth.projectId;
    const eventId = ctx.params.id!;
    const event = await db('events').select('id').where({ project_id: projectId, id: eventId }).first();
    if (!event) throw notFound('event');
    const [attempts, deliveries] = await Promise.all([
      db('delivery_attempts').where({ project_id: projectId, event_id: eventId }).orderBy('id').limit(MAX_EVENT_ATTEMPTS),
      db('deliveries')
        .select('delivery_id', 'channel', 'target_id', 'event_id', 'event_type', 'workflow_id', 'status', 'last_error', 'created_at', 'updated_at')
        .where({ project_id: projectId, event_id: eventId })
        .orderBy('created_at'),
    ]);
    ctx.body = { data: attempts.map(attemptJson), deliveries };
  });

  return router;
}

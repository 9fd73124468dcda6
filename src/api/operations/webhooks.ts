import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { EventFlowConfig } from '../../config.ts';
import { eventTypePatternProblem } from '../../deliveries/channels/webhook/filters.ts';
import { isReservedHeaderName } from '../../deliveries/channels/webhook/send.ts';
import { generateSecret, webhookId } from '../../deliveries/channels/webhook/signing.ts';
import { assertDeliverableUrl, UnsafeUrlError } from '../../deliveries/channels/webhook/ssrf.ts';
import { sendSignedWebhook } from '../../deliveries/deliverer.ts';
import { deleteEndpoint, findEndpoint, insertEndpoint, rotateEndpointSecret, updateEndpoint, type EndpointChanges } from '../../deliveries/endpoints.ts';
import { loadTarget, type WebhookTarget } from '../../deliveries/targets.ts';
import { ApiError, invalidBody, notFound } from '../errors.ts';
import { uuidParam } from '../params.ts';
import type { FieldDetail } from '../validation.ts';

// Managing webhook endpoints, for REST (src/api/routes/webhooks.ts) and GraphQL alike: the input
// schemas, what a schema cannot say, and the writes. Inputs arrive checked against these schemas.

const MAX_RETRY_DELAY_SECONDS = 7 * 24 * 3600;
const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$"; // RFC 9110 token
const HEADER_VALUE = '^[\\t\\x20-\\x7e]*$'; // visible ASCII: CR/LF can never split a header

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
export const CREATE_WEBHOOK = { type: 'object', additionalProperties: false, required: ['url', 'event_types'], properties: ENDPOINT_FIELDS };
export const PATCH_WEBHOOK = { type: 'object', additionalProperties: false, minProperties: 1, properties: ENDPOINT_FIELDS };
export const ROTATE_WEBHOOK_SECRET = { type: 'object', additionalProperties: false, properties: { grace_seconds: { type: 'integer', minimum: 0, maximum: 30 * 24 * 3600 } } };
export const TEST_WEBHOOK = { type: 'object', additionalProperties: false, properties: { event_type: { type: 'string', minLength: 1, maxLength: 128 } } };
export type EndpointInput = EndpointChanges;
export type TestWebhookInput = { event_type?: string };

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

export interface WebhookDeps {
  db: Knex;
  config: Pick<EventFlowConfig, 'webhooks'>;
}

/** A new endpoint with its signing secret: the only time the secret is shown. */
export async function createWebhook({ db, config }: WebhookDeps, projectId: string, raw: EndpointInput) {
  const input = checkEndpoint(raw);
  await assertSafeUrl(input.url!, config);
  return insertEndpoint(db, projectId, {
    url: input.url!,
    event_types: input.event_types!,
    description: input.description ?? null,
    enabled: input.enabled ?? true,
    headers: input.headers ?? {},
    retry_schedule: input.retry_schedule ?? null,
    secret: generateSecret(),
  });
}

export async function updateWebhook({ db, config }: WebhookDeps, projectId: string, id: string | undefined, raw: EndpointInput) {
  const input = checkEndpoint(raw);
  const existing = await findEndpoint(db, projectId, uuidParam(id, 'webhook endpoint'));
  if (!existing) throw notFound('webhook endpoint');
  if (input.url !== undefined && input.url !== existing.url) await assertSafeUrl(input.url, config);
  const row = await updateEndpoint(db, projectId, existing, input);
  if (!row) throw notFound('webhook endpoint');
  return row;
}

export async function deleteWebhook({ db }: WebhookDeps, projectId: string, id: string | undefined): Promise<void> {
  if (!(await deleteEndpoint(db, projectId, uuidParam(id, 'webhook endpoint')))) throw notFound('webhook endpoint');
}

/** A new secret; the previous one stays valid for the grace period (default WEBHOOK_SECRET_GRACE_SECONDS). */
export async function rotateWebhookSecret({ db, config }: WebhookDeps, projectId: string, id: string | undefined, graceSeconds?: number) {
  const row = await rotateEndpointSecret(db, projectId, uuidParam(id, 'webhook endpoint'), generateSecret(), graceSeconds ?? config.webhooks.secretRotationGraceSeconds);
  if (!row) throw notFound('webhook endpoint');
  return row;
}

/** What one test send came to; nothing of it is stored. */
export interface WebhookTestResult {
  event_id: string;
  delivered: boolean;
  outcome: string;
  status_code: number | null;
  duration_ms: number;
  response_excerpt: string | null;
  error: string | null;
}

/**
 * Sends one synthetic event to an endpoint now, signed and guarded exactly like a delivery, so an owner
 * can check their receiver. Not stored, not retried, and not counted in delivery metrics or the
 * endpoint's health: a failing test must not disable an endpoint.
 */
export async function testWebhook({ db, config }: WebhookDeps, projectId: string, id: string | undefined, input: TestWebhookInput): Promise<WebhookTestResult> {
  const endpointId = uuidParam(id, 'webhook endpoint');
  const endpoint = await findEndpoint(db, projectId, endpointId);
  if (!endpoint) throw notFound('webhook endpoint');
  if (!endpoint.enabled) throw new ApiError(409, 'endpoint_disabled', 'the endpoint is disabled; enable it before sending a test event');
  const target = (await loadTarget(db, projectId, 'webhook', endpointId)) as WebhookTarget | undefined;
  if (!target) throw notFound('webhook endpoint');

  const now = new Date().toISOString();
  const event = {
    id: `evt_test_${randomUUID()}`,
    type: input.event_type ?? 'eventflow.test',
    user_id: null,
    anonymous_id: null,
    timestamp: now,
    received_at: now,
    properties: { test: true },
    context: {},
    enrichment: {},
  };
  const result = await sendSignedWebhook(config, target, event, webhookId(target.id, event.id));
  return {
    event_id: event.id,
    delivered: result.outcome === 'delivered',
    outcome: result.outcome,
    status_code: result.statusCode ?? null,
    duration_ms: result.durationMs,
    response_excerpt: result.responseExcerpt ?? null,
    error: result.error ?? null,
  };
}

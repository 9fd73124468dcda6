import { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { clientIp } from '../client-ip.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { SEGMENT_CALLS, segmentField, toIngestEvent, type SegmentCall, type SegmentMessage } from '../events/segment-mapping.ts';
import { createSegmentParser, type SegmentRequest } from '../events/segment-messages.ts';
import { PROJECT_HEADER, requires, type CallerHeaders } from '../middleware/auth.ts';
import { jsonBodyReader } from '../middleware/json-body.ts';
import { measureIngest } from '../middleware/measure-ingest.ts';
import type { ApiState } from '../state.ts';

// Segment's HTTP Tracking API, so that the analytics SDKs applications already use (Segment's, and
// RudderStack's and others that speak the same API) send to EventFlow by changing their host. Under a
// prefix of its own rather than beside EventFlow's /v1 routes: Segment's `/v1/batch` next to our
// `/v1/batches/:id` would invite mistakes, and its auth (Basic, or the key in the body) and CORS (any
// origin) stay confined here. Every SDK takes a base URL, so the prefix costs its users nothing.
// Messages become native events and take the one ingestion path (accept), with its durability, ids,
// dedupe (the messageId is the event id), enrichment and deliveries.

export const SEGMENT_PREFIX = '/segment/v1';

// The spec's limit on a batch ("500 KB"), as the SDKs count it (analytics-node flushes at 480 × 1024).
// Checked on the JSON text, after decompression. Each message: 32 KB (MAX_EVENT_BYTES).
export const SEGMENT_MAX_BATCH_BYTES = 500 * 1024;

// Each SDK labels the JSON its own way: analytics-node application/json, analytics.js text/plain (a
// "simple" request, so browsers send it without a preflight), rudder-sdk-node (axios with a gzip'ed
// buffer) application/x-www-form-urlencoded. All are read as JSON; anything else is a 415.
const segmentBody = jsonBodyReader({
  limit: SEGMENT_MAX_BATCH_BYTES,
  mediaTypes: /^(?:application\/(?:[\w.+-]+\+)?json|text\/plain|application\/x-www-form-urlencoded|)$/i,
  mediaTypesMessage: 'Content-Type must be application/json or text/plain',
  gzip: true,
});

// The HTTP API's names, and the one-letter paths analytics.js posts single calls to.
const BATCH_PATHS = ['/batch', '/b'];
const CALL_PATHS: Record<SegmentCall, string[]> = {
  track: ['/track', '/t'],
  identify: ['/identify', '/i'],
  page: ['/page', '/p'],
  screen: ['/screen', '/s'],
  group: ['/group', '/g'],
  alias: ['/alias', '/a'],
};

export function segmentRouter({ accept, auth }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: SEGMENT_PREFIX });
  const parse = createSegmentParser();
  const mayIngest = requires('events:ingest');

  async function resolveCaller(ctx: Context & { state: ApiState }, credentials: Omit<CallerHeaders, 'project' | 'path'>, next: () => Promise<unknown>) {
    const { principal, user } = await auth.resolve({ ...credentials, project: ctx.get(PROJECT_HEADER), path: ctx.path });
    ctx.state.auth = principal;
    if (user) ctx.state.user = user;
    await mayIngest(ctx, next);
  }

  // A key in a header is checked before the body is read; browsers send theirs in the body (writeKey).
  const authenticateByHeader: Middleware<ApiState> = async (ctx, next) => {
    const credentials = headerCredentials(ctx);
    if (credentials) await resolveCaller(ctx, credentials, next);
    else await next();
  };
  const authenticateByBody: Middleware<ApiState> = async (ctx, next) => {
    if (ctx.state.auth) return next();
    const writeKey = (typeof ctx.state.body === 'object' && ctx.state.body !== null ? (ctx.state.body as { writeKey?: unknown }).writeKey : undefined);
    if (typeof writeKey !== 'string' || writeKey === '') {
      throw new ApiError(401, 'unauthorized', 'a write key is required: send it as the username of HTTP Basic auth, or as "writeKey" in the body');
    }
    await resolveCaller(ctx, { authorization: '', apiKey: writeKey }, next);
  };

  async function ingest(ctx: Context & { state: ApiState }, request: SegmentRequest) {
    const body = { batch: request.messages.map(toIngestEvent), ...(request.sentAt === undefined ? {} : { sent_at: request.sentAt }) };
    try {
      const accepted = await accept({
        projectId: ctx.state.auth.projectId,
        body,
        idempotencyKey: ctx.headers['idempotency-key'],
        clientIp: clientIp(ctx.ip),
        userAgent: ctx.get('User-Agent') || undefined,
        source: 'segment',
      });
      // What Segment's clients expect of a success: a 200 with a small JSON body (they read only the status).
      ctx.status = 200;
      ctx.body = { success: true, batch_id: accepted.batch_id, accepted: accepted.accepted };
    } catch (error) {
      throw error instanceof ApiError ? inSegmentTerms(error, request.messages) : error;
    }
  }

  const steps = [allowAnyOrigin, authenticateByHeader, measureIngest, segmentBody, authenticateByBody];
  router.options([...BATCH_PATHS, ...Object.values(CALL_PATHS).flat()], preflight);
  // The answer is sent only once the messages are committed to Postgres, as on POST /v1/events.
  router.post(BATCH_PATHS, ...steps, (ctx) => ingest(ctx, parse.batch(ctx.state.body)));
  for (const call of SEGMENT_CALLS) {
    router.post(CALL_PATHS[call], ...steps, (ctx) => ingest(ctx, parse.single(call, ctx.state.body)));
  }
  return router;
}

/**
 * Segment's scheme is HTTP Basic with the write key as the username (and no password); an EventFlow
 * Bearer token or X-API-Key works as on the native API.
 */
function headerCredentials(ctx: Context): Omit<CallerHeaders, 'project' | 'path'> | undefined {
  const authorization = ctx.get('Authorization');
  const basic = /^Basic\s+(\S+)\s*$/i.exec(authorization);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const username = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
    if (username === '') throw new ApiError(401, 'unauthorized', 'the write key goes in the username of HTTP Basic auth');
    return { authorization: '', apiKey: username };
  }
  const apiKey = ctx.get('X-API-Key');
  return authorization !== '' || apiKey !== '' ? { authorization, apiKey } : undefined;
}

/**
 * Browser SDKs post from the pages of any site, with the write key in the body: every origin may call,
 * and never with credentials (no Access-Control-Allow-Credentials: cookies are neither read nor set).
 */
const allowAnyOrigin: Middleware<ApiState> = async (ctx, next) => {
  ctx.set('Access-Control-Allow-Origin', '*');
  // analytics.js reads it on a 429 to know when to try again.
  ctx.set('Access-Control-Expose-Headers', 'Retry-After');
  await next();
};

/** Preflight for a cross-origin POST with a JSON Content-Type or an Authorization header. */
const preflight: Middleware<ApiState> = (ctx) => {
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.set('Access-Control-Allow-Methods', 'POST');
  const requested = ctx.get('Access-Control-Request-Headers');
  if (requested) ctx.set('Access-Control-Allow-Headers', requested);
  ctx.vary('Access-Control-Request-Headers');
  ctx.set('Access-Control-Max-Age', '86400');
  ctx.status = 204;
};

/** An error the native parser found on the mapped events, naming the fields as the client sent them. */
function inSegmentTerms(error: ApiError, messages: SegmentMessage[]): ApiError {
  if (!error.details.some((detail) => typeof (detail as { field?: unknown })?.field === 'string')) return error;
  const details = error.details.map((detail) => {
    const { index, field } = detail as { index?: number; field?: unknown };
    if (typeof field !== 'string') return detail;
    return { ...(detail as object), field: segmentField(index === undefined ? undefined : messages[index], field) };
  });
  const translated = new ApiError(error.status, error.code, error.message, details, error.headers);
  if (error.cause !== undefined) translated.cause = error.cause;
  return translated;
}

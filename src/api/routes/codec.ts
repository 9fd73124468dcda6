import { Router } from '@koa/router';
import type { Middleware } from 'koa';
import { loadRunRequests } from '../../ingest/queries.ts';
import type { BatchRef } from '../../shared/batch.ts';
import type { RouteDeps } from '../deps.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { validateBody, type Valid } from '../middleware/validate.ts';
import type { ApiState } from '../state.ts';

// A codec endpoint for the Temporal Web UI (`temporal server start-dev --ui-codec-endpoint …`, or the
// UI's codec setting): batch runs carry a reference to their accepted requests, not the events, and the
// UI asks here to show the events. Nothing is encoded: `/encode` hands payloads back unchanged.
//
// Who may ask: requests from this machine's loopback (when CODEC_ALLOW_LOOPBACK is on, as in the dev
// stack, where the browser and the API share the machine), which may read every project's runs; or a
// caller with an admin API key (`Authorization: Bearer …`), which sees its own project's runs only —
// references of other projects come back as they were. Anyone else gets 401 and nothing.

interface WirePayload {
  metadata?: Record<string, string>;
  data?: string;
}

const CODEC_BODY = {
  type: 'object',
  required: ['payloads'],
  properties: {
    payloads: {
      type: 'array',
      maxItems: 1_000,
      items: {
        type: 'object',
        properties: { metadata: { type: 'object', additionalProperties: { type: 'string' } }, data: { type: 'string' } },
      },
    },
  },
} as const;

const JSON_PLAIN = Buffer.from('json/plain').toString('base64');
// Runs carry at most a few thousand events; the UI shows one run's input at a time.
const MAX_SHOWN_EVENTS = 2_000;

export function codecRouter({ db, config, auth }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/codec' });
  const allowedOrigins = new Set(config.api.codec.corsOrigins);

  // The UI calls from the browser, from its own origin: answer preflights and name the origin back.
  const cors: Middleware<ApiState> = async (ctx, next) => {
    const origin = ctx.get('Origin');
    if (origin && allowedOrigins.has(origin)) {
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Allow-Credentials', 'true');
      ctx.set('Vary', 'Origin');
    }
    if (ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Methods', 'POST, OPTIONS');
      ctx.set('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      ctx.status = 204;
      return;
    }
    await next();
  };

  /** Sets `ctx.state.codecScope`: every project (loopback) or the key's own. */
  const authorize: Middleware<ApiState & { codecScope?: string | 'all' }> = async (ctx, next) => {
    if (config.api.codec.allowLoopback && isLoopback(ctx.req.socket.remoteAddress)) {
      ctx.state.codecScope = 'all';
      await next();
      return;
    }
    await auth.authenticate(ctx, async () => {
      await requires('project:read')(ctx, async () => {
        ctx.state.codecScope = ctx.state.auth.projectId;
        await next();
      });
    });
  };

  router.options('/decode', cors);
  router.options('/encode', cors);

  router.post<Valid<{ payloads: WirePayload[] }> & { codecScope?: string | 'all' }>(
    '/decode',
    cors,
    authorize,
    jsonBody,
    validateBody<{ payloads: WirePayload[] }>(CODEC_BODY),
    async (ctx) => {
      const scope = ctx.state.codecScope!;
      ctx.body = { payloads: await Promise.all(ctx.state.input.payloads.map((payload) => decode(payload, scope))) };
    },
  );

  router.post<Valid<{ payloads: WirePayload[] }>>('/encode', cors, authorize, jsonBody, validateBody<{ payloads: WirePayload[] }>(CODEC_BODY), async (ctx) => {
    ctx.body = { payloads: ctx.state.input.payloads };
  });

  async function decode(payload: WirePayload, scope: string): Promise<WirePayload> {
    const ref = batchRefIn(payload);
    if (!ref || (scope !== 'all' && ref.projectId !== scope)) return payload;
    const requests = await loadRunRequests(db, ref.runId);
    let shown = 0;
    const resolved = {
      ...ref,
      requests: requests.map(({ digest, events, ...request }) => {
        const visible = events.slice(0, Math.max(0, MAX_SHOWN_EVENTS - shown));
        shown += visible.length;
        return { ...request, events: visible };
      }),
      ...(requests.length === 0 ? { note: 'this run stored its events (or never had any): query them through the API' } : {}),
    };
    return { metadata: { ...payload.metadata, encoding: JSON_PLAIN }, data: Buffer.from(JSON.stringify(resolved)).toString('base64') };
  }

  return router;
}

/** The payload's value when it is a batch run's reference (json/plain with BatchRef's fields). */
function batchRefIn(payload: WirePayload): BatchRef | undefined {
  if (payload.metadata?.encoding !== JSON_PLAIN || payload.data === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  const ref = value as Partial<BatchRef> | null;
  const isRef =
    typeof ref === 'object' && ref !== null && typeof ref.runId === 'string' && typeof ref.projectId === 'string' &&
    Array.isArray(ref.batchIds) && typeof ref.digest === 'string' && typeof ref.eventCount === 'number';
  return isRef ? (ref as BatchRef) : undefined;
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}


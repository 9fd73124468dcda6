import { Router } from '@koa/router';
import type { RouteDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { validateBody, type Valid } from '../middleware/validate.ts';
import type { ApiState } from '../state.ts';

// The dashboard's spans (page loads, fetches) reach the collector through here, so the browser needs no
// route to it and only signed-in callers can add spans. OTLP/JSON in, forwarded as is.

const FORWARD_TIMEOUT_MS = 5_000;
// A browser exporter sends a batch every few seconds; far more than this is not a dashboard.
const MAX_RESOURCE_SPANS = 64;
const OTLP_TRACES = {
  type: 'object',
  required: ['resourceSpans'],
  properties: { resourceSpans: { type: 'array', maxItems: MAX_RESOURCE_SPANS, items: { type: 'object' } } },
} as const;

type OtlpTraces = { resourceSpans: object[] };

export function tracesRouter({ config, log }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/traces' });
  router.post<Valid<OtlpTraces>>('/', requires('project:read'), jsonBody, validateBody<OtlpTraces>(OTLP_TRACES), async (ctx) => {
    if (!config.otlpEndpoint) throw new ApiError(503, 'tracing_unavailable', 'tracing is off on this server (no OTEL_EXPORTER_OTLP_ENDPOINT)');
    let forwarded: Response;
    try {
      forwarded = await fetch(`${config.otlpEndpoint}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(ctx.state.input),
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      });
    } catch (error) {
      log.warn({ err: error }, 'could not forward browser spans');
      throw new ApiError(503, 'tracing_unavailable', 'the trace collector did not answer', [], { 'Retry-After': '5' });
    }
    if (forwarded.status >= 400 && forwarded.status < 500) {
      throw new ApiError(400, 'invalid_body', `the collector refused the spans (${forwarded.status})`, [{ field: 'body', message: (await forwarded.text()).slice(0, 300) }]);
    }
    if (!forwarded.ok) throw new ApiError(503, 'tracing_unavailable', `the trace collector answered ${forwarded.status}`, [], { 'Retry-After': '5' });
    ctx.body = { partialSuccess: {} };
  });
  return router;
}

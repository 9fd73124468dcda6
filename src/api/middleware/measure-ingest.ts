import type { Middleware } from 'koa';
import { observeBatchSize, recordEventsAccepted, recordEventsRejected, startIngestTimer } from '../../telemetry/metrics.ts';
import { ApiError } from '../errors.ts';
import type { ApiState } from '../state.ts';

/**
 * Ingest metrics around body parsing and the handler, so refusals by either are counted. The handler
 * answers `{ accepted: N, … }`; a refused request's events are counted from its body's `batch`.
 */
export const measureIngest: Middleware<ApiState> = async (ctx, next) => {
  const stopTimer = startIngestTimer();
  let status = 500;
  try {
    await next();
    status = ctx.status;
    const accepted = (ctx.body as { accepted: number }).accepted;
    recordEventsAccepted(accepted);
    observeBatchSize(accepted);
  } catch (error) {
    status = error instanceof ApiError ? error.status : 500;
    recordEventsRejected(error instanceof ApiError ? error.code : 'internal_error', eventsInBody(ctx.state.body));
    throw error;
  } finally {
    stopTimer(status);
  }
};

/** How many events a rejected request carried, for the rejection metric (1 when it is not even a list). */
function eventsInBody(body: unknown): number {
  if (Array.isArray(body)) return body.length;
  const batch = (body as { batch?: unknown } | undefined)?.batch;
  return Array.isArray(batch) ? batch.length : 1;
}

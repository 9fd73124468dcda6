import type { Middleware } from 'koa';
import type { Logger } from '../../logging.ts';
import { ApiError } from '../errors.ts';

// Codes for errors raised by Koa or its helpers (http-errors with a status) rather than by our handlers.
const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  501: 'not_implemented',
};

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
}

/**
 * Registered first, so every failure below (and every unmatched route) leaves with the one error body.
 * 4xx messages are meant for the caller; anything else is logged in full and answered with a generic 500.
 */
export function handleErrors(log: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
      // Nothing answered: no route matched (404), or the path exists for other methods (the router
      // set 405 or 501 and the Allow header).
      if (ctx.body == null && ctx.status === 404) {
        throw new ApiError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
      if (ctx.body == null && (ctx.status === 405 || ctx.status === 501)) {
        throw new ApiError(405, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`);
      }
    } catch (caught) {
      const error = toApiError(caught);
      // Unexpected failures, and expected ones that carry a cause (Temporal's error behind a 503).
      if (error.status >= 500 && (!(caught instanceof ApiError) || caught.cause !== undefined)) {
        log[error.status === 503 ? 'warn' : 'error']({ err: caught, method: ctx.method, path: ctx.path }, 'request failed');
      }
      ctx.status = error.status;
      ctx.set(error.headers);
      ctx.body = { error: { code: error.code, message: error.message, details: error.details } };
    }
    log.debug(
      { method: ctx.method, route: ctx._matchedRoute ?? ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) },
      'request',
    );
  };
}

// Postgres refuses NUL in text and some escapes in jsonb. Inputs are checked for these before they are
// queried or stored, but a path or query parameter that slipped through must still be the caller's
// 400, never our 500.
const UNSTORABLE_INPUT_CODES = new Set(['22021', '22P05']);

function toApiError(caught: unknown): ApiError {
  if (caught instanceof ApiError) return caught;
  const error = (caught ?? {}) as HttpLikeError & { code?: unknown };
  if (typeof error.code === 'string' && UNSTORABLE_INPUT_CODES.has(error.code)) {
    return new ApiError(400, 'bad_request', 'the request contains characters that cannot be stored (such as NUL)');
  }
  const status = error.status ?? error.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && error.expose !== false) {
    return new ApiError(status, CODE_BY_STATUS[status] ?? 'bad_request', error.message || 'bad request');
  }
  return new ApiError(500, 'internal_error', 'internal server error');
}

import type { Middleware } from 'koa';
import getRawBody from 'raw-body';
import { ApiError } from '../errors.ts';
import type { ApiState } from '../state.ts';

/**
 * The one body-size limit of the API. Enforced by raw-body while the stream is read (and up front when
 * Content-Length already says more), so an oversized body is never buffered whole. Sized for the biggest
 * body we accept, an ingestion batch; it also keeps a batch's workflow input well under Temporal's 2 MiB
 * payload limit.
 */
export const MAX_BODY_BYTES = 512 * 1024;

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

/** Reads and parses a JSON body into `ctx.state.body`; for routes that take one. */
export const jsonBody: Middleware<ApiState> = async (ctx, next) => {
  // By the header alone (ctx.is() also wants a body), so an empty JSON request is a 400, not a 415.
  if (!JSON_MEDIA_TYPE.test(ctx.request.type.trim())) {
    throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json');
  }
  const charset = ctx.request.charset.toLowerCase();
  if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ApiError(415, 'unsupported_media_type', 'JSON bodies must be UTF-8');
  }
  const encoding = ctx.get('Content-Encoding').toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw new ApiError(415, 'unsupported_media_type', `Content-Encoding "${encoding}" is not supported`);
  }

  let text: string;
  try {
    text = await getRawBody(ctx.req, { length: ctx.request.length, limit: MAX_BODY_BYTES, encoding: 'utf8' });
  } catch (error) {
    // The rest of the body is still on the wire: close the connection after answering rather than
    // leave a half-read request on a keep-alive socket.
    ctx.set('Connection', 'close');
    if ((error as { type?: string }).type === 'entity.too.large') {
      throw new ApiError(413, 'payload_too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`, [
        { field: 'body', message: `must not exceed ${MAX_BODY_BYTES} bytes` },
      ]);
    }
    // Aborted uploads and a Content-Length that does not match the body.
    throw new ApiError(400, 'invalid_body', 'the request body could not be read', [
      { field: 'body', message: (error as Error).message },
    ]);
  }

  if (text.trim() === '') throw new ApiError(400, 'invalid_json', 'the request body is empty');
  try {
    ctx.state.body = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    ctx.state.bodyLength = text.length;
  } catch (error) {
    throw new ApiError(400, 'invalid_json', `the request body is not valid JSON: ${(error as Error).message}`);
  }
  await next();
};

/** For actions whose body is optional: no body at all means "with defaults" (`{}`); any body must be JSON. */
export const optionalJsonBody: Middleware<ApiState> = async (ctx, next) => {
  if (ctx.get('Transfer-Encoding') === '' && (ctx.request.length ?? 0) === 0) {
    ctx.state.body = {};
    await next();
    return;
  }
  await jsonBody(ctx, next);
};

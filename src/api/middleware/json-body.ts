import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import type { Context, Middleware } from 'koa';
import getRawBody from 'raw-body';
import { ApiError } from '../errors.ts';
import type { ApiState } from '../state.ts';

const gunzip = promisify(gunzipCallback);
// Invalid sequences become U+FFFD, as before; a leading BOM is dropped.
const utf8 = new TextDecoder('utf-8');

/**
 * The one body-size limit of the API. Enforced by raw-body while the stream is read (and up front when
 * Content-Length already says more), so an oversized body is never buffered whole. Sized for the biggest
 * body we accept, an ingestion batch; it also keeps a batch's workflow input well under Temporal's 2 MiB
 * payload limit.
 */
export const MAX_BODY_BYTES = 512 * 1024;

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

export interface JsonBodyOptions {
  /** The most bytes a body may have as JSON text (after decompression). */
  limit: number;
  /** The Content-Types a body may be labelled with (tested against '' when none is sent). */
  mediaTypes: RegExp;
  /** The 415's message for any other Content-Type. */
  mediaTypesMessage: string;
  /** Take `Content-Encoding: gzip` bodies; otherwise they are a 415. */
  gzip: boolean;
}

/** Reads and parses a JSON body into `ctx.state.body`, as `options` allow; for routes that take one. */
export function jsonBodyReader(options: JsonBodyOptions): Middleware<ApiState> {
  return async (ctx, next) => {
    // By the header alone (ctx.is() also wants a body), so an empty JSON request is a 400, not a 415.
    if (!options.mediaTypes.test(ctx.request.type.trim())) {
      throw new ApiError(415, 'unsupported_media_type', options.mediaTypesMessage);
    }
    const charset = ctx.request.charset.toLowerCase();
    if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8') {
      throw new ApiError(415, 'unsupported_media_type', 'JSON bodies must be UTF-8');
    }
    const encoding = ctx.get('Content-Encoding').trim().toLowerCase();
    const gzipped = options.gzip && (encoding === 'gzip' || encoding === 'x-gzip');
    if (encoding !== '' && encoding !== 'identity' && !gzipped) {
      throw new ApiError(415, 'unsupported_media_type', `Content-Encoding "${encoding}" is not supported`);
    }

    const text = utf8.decode(gzipped ? await readGzipped(ctx, options.limit) : await readBody(ctx, options.limit));
    if (text.trim() === '') throw new ApiError(400, 'invalid_json', 'the request body is empty');
    try {
      ctx.state.body = JSON.parse(text);
      ctx.state.bodyLength = text.length;
    } catch (error) {
      throw new ApiError(400, 'invalid_json', `the request body is not valid JSON: ${(error as Error).message}`);
    }
    await next();
  };
}

/** The native API's body: JSON only, uncompressed, up to MAX_BODY_BYTES. */
export const jsonBody = jsonBodyReader({
  limit: MAX_BODY_BYTES,
  mediaTypes: JSON_MEDIA_TYPE,
  mediaTypesMessage: 'Content-Type must be application/json',
  gzip: false,
});

/** For actions whose body is optional: no body at all means "with defaults" (`{}`); any body must be JSON. */
export const optionalJsonBody: Middleware<ApiState> = async (ctx, next) => {
  if (ctx.get('Transfer-Encoding') === '' && (ctx.request.length ?? 0) === 0) {
    ctx.state.body = {};
    await next();
    return;
  }
  await jsonBody(ctx, next);
};

async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { length: ctx.request.length, limit });
  } catch (error) {
    // The rest of the body is still on the wire: close the connection after answering rather than
    // leave a half-read request on a keep-alive socket.
    ctx.set('Connection', 'close');
    if ((error as { type?: string }).type === 'entity.too.large') throw tooLarge(limit);
    // Aborted uploads and a Content-Length that does not match the body.
    throw new ApiError(400, 'invalid_body', 'the request body could not be read', [
      { field: 'body', message: (error as Error).message },
    ]);
  }
}

/**
 * A gzip body is read whole (it is at most `limit` bytes compressed) and inflated with the same bound on
 * its output, so a small "zip bomb" costs no more than an honest body of the limit's size.
 */
async function readGzipped(ctx: Context, limit: number): Promise<Buffer> {
  const compressed = await readBody(ctx, limit);
  try {
    return await gunzip(compressed, { maxOutputLength: limit });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
    throw new ApiError(400, 'invalid_body', 'the gzip request body could not be decompressed', [
      { field: 'body', message: (error as Error).message },
    ]);
  }
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'payload_too_large', `request bodies are limited to ${limit} bytes`, [
    { field: 'body', message: `must not exceed ${limit} bytes` },
  ]);
}

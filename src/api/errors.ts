// The one error shape every 4xx/5xx answers with: `{ "error": { "code", "message", "details" } }`.
// Handlers throw ApiError; the error middleware (registered first) turns it into the response.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown[];
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, details: unknown[] = [], headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

/** Unknown and not-visible resources answer the same, so other projects' existence never leaks. */
export function notFound(what = 'resource'): ApiError {
  return new ApiError(404, 'not_found', `${what} not found`);
}

/** 400 invalid_body with one `{ field, message }` detail per problem. */
export function invalidBody(details: Array<{ field: string; message: string }>, message = 'the request body is invalid'): ApiError {
  return new ApiError(400, 'invalid_body', message, details);
}

export function forbidden(message: string): ApiError {
  return new ApiError(403, 'forbidden', message);
}

/**
 * Clients should back off and retry: the batch was not accepted, nothing was started. The cause (the
 * gRPC error) is logged by the error middleware, never sent.
 */
export function temporalUnavailable(cause?: unknown): ApiError {
  const error = new ApiError(503, 'temporal_unavailable', 'the workflow service is unavailable; retry later', [], {
    'Retry-After': '5',
  });
  if (cause !== undefined) error.cause = cause;
  return error;
}

/**
 * Acceptance could not be committed (Postgres unreachable or failing): nothing was accepted, so a retry
 * is safe. The cause is logged by the error middleware, never sent.
 */
export function databaseUnavailable(cause?: unknown, message = 'events cannot be accepted right now; retry later'): ApiError {
  const error = new ApiError(503, 'database_unavailable', message, [], { 'Retry-After': '5' });
  if (cause !== undefined) error.cause = cause;
  return error;
}

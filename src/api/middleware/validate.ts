import type { Middleware } from 'koa';
import { createSchemaCompiler, fieldErrors } from '../../schemas/json-schema.ts';
import { ApiError, invalidBody } from '../errors.ts';
import type { ApiState } from '../state.ts';
import { isStorableInstant } from '../validation.ts';

// The one way a route checks what it is sent. A route declares its schemas and reads the typed result
// from `ctx.state.input` (body) or `ctx.state.query` (query string):
//
//   router.post<Valid<CreateKey>>('/', jsonBody, validateBody<CreateKey>(CREATE_KEY), async (ctx) => {
//     const { kind } = ctx.state.input;
//
// Schemas are compiled once, when the router is built, by one Ajv instance for every request schema.

const requestSchemas = createSchemaCompiler();

/** Route state after `validateBody<Body>` and/or `validateQuery<Query>`. */
export interface Valid<Body = never, Query = never> {
  input: Body;
  query: Query;
}

// Query parameters whose schema names a format the client gets a friendlier message for.
const QUERY_MESSAGES: Record<string, string> = {
  limit: 'must be an integer between 1 and 1000',
  from: 'must be an ISO-8601 date-time with a time zone',
  to: 'must be an ISO-8601 date-time with a time zone',
};

/** Checks `ctx.state.body` (left by jsonBody) against the schema: 400 invalid_body listing every problem. */
export function validateBody<Body>(schema: object): Middleware<ApiState & Valid<Body, unknown>> {
  const validate = requestSchemas.compile<Body>(schema);
  return async (ctx, next) => {
    if (!validate(ctx.state.body)) {
      throw invalidBody(fieldErrors(validate.errors).map((detail) => ({ ...detail, field: detail.field || 'body' })));
    }
    ctx.state.input = ctx.state.body as Body;
    await next();
  };
}

/**
 * Checks the query string against a schema of string-valued parameters: 400 invalid_query. Empty
 * parameters count as absent; a repeated parameter fails the schema ("must be string"); `from`/`to`
 * must also be instants Postgres can store.
 */
export function validateQuery<Query>(schema: object): Middleware<ApiState & Valid<unknown, Query>> {
  const validate = requestSchemas.compile(schema);
  return async (ctx, next) => {
    const present = Object.fromEntries(Object.entries(ctx.query).filter(([, value]) => value !== '' && value !== undefined));
    const details = validate(present) ? [] : fieldErrors(validate.errors, { messages: QUERY_MESSAGES });
    for (const field of ['from', 'to']) {
      const value = present[field];
      if (typeof value === 'string' && !details.some((detail) => detail.field === field) && !isStorableInstant(value)) {
        details.push({ field, message: QUERY_MESSAGES[field] });
      }
    }
    if (details.length > 0) throw new ApiError(400, 'invalid_query', 'the query parameters are invalid', details);
    ctx.state.query = present as Query;
    await next();
  };
}

/**
 * The same check outside a route (GraphQL arguments): a function returning the typed value, or throwing
 * 400 invalid_body with every problem, exactly as validateBody would answer.
 */
export function inputChecker<T>(schema: object): (value: unknown) => T {
  const validate = requestSchemas.compile<T>(schema);
  return (value) => {
    if (!validate(value)) throw invalidBody(fieldErrors(validate.errors).map((detail) => ({ ...detail, field: detail.field || 'input' })));
    return value;
  };
}

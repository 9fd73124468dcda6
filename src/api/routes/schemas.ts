import { Router } from '@koa/router';
import { compileUserSchema, createSchemaCompiler } from '../../schemas/json-schema.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { listLatestSchemas, listSchemaVersions, storeSchemaVersion } from '../../schemas/queries.ts';
import type { ApiState } from '../state.ts';
import { unstorableValueProblem } from '../validation.ts';

const MAX_TYPE_LENGTH = 128;
// Deeper than any sensible schema, shallow enough for Postgres' jsonb parser and ajv's compiler.
const MAX_SCHEMA_DEPTH = 64;

/** JSON Schemas for events' `properties`, versioned per event type; the worker validates with the latest. */
export function schemasRouter({ db }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/schemas' });

  router.put('/:type', requires('schemas:manage'), jsonBody, async (ctx) => {
    const type = eventType(ctx.params.type);
    const schema = unwrapSchema(ctx.state.body);
    const stored = await storeSchemaVersion(db, ctx.state.auth.projectId, type, schema);
    ctx.status = stored.created ? 201 : 200;
    ctx.body = { type: stored.type, version: stored.version, schema: stored.schema, created_at: stored.created_at };
  });

  router.get('/', requires('project:read'), async (ctx) => {
    ctx.body = { data: await listLatestSchemas(db, ctx.state.auth.projectId) };
  });

  router.get('/:type', requires('project:read'), async (ctx) => {
    const type = eventType(ctx.params.type);
    const versions = await listSchemaVersions(db, ctx.state.auth.projectId, type);
    if (versions.length === 0) throw notFound('schema');
    const latest = versions[versions.length - 1];
    ctx.body = {
      ...latest,
      versions: versions.map(({ version, schema, created_at }) => ({ version, schema, created_at })),
    };
  });

  return router;
}

function eventType(value: string): string {
  if (value.length < 1 || value.length > MAX_TYPE_LENGTH) {
    throw new ApiError(400, 'invalid_type', `an event type is 1–${MAX_TYPE_LENGTH} characters`, [
      { field: 'type', message: `must be 1–${MAX_TYPE_LENGTH} characters` },
    ]);
  }
  return value;
}

/** The body is `{ "schema": {...} }` or, when it has no `schema` key, the JSON Schema itself. */
function unwrapSchema(body: unknown): object {
  let schema = body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'schema' in body) {
    const extra = Object.keys(body).filter((key) => key !== 'schema');
    if (extra.length > 0) {
      throw new ApiError(400, 'invalid_body', 'the request body is invalid', extra.map((field) => ({ field, message: 'is not a known field' })));
    }
    schema = (body as { schema: unknown }).schema;
  }
  const unstorable = unstorableValueProblem(schema, MAX_SCHEMA_DEPTH);
  if (unstorable) throw new ApiError(400, 'invalid_schema', 'the JSON Schema cannot be stored', [{ field: 'schema', message: unstorable }]);
  // A fresh compiler per check: ajv remembers every schema it compiled, so a `$id` reused across
  // versions or projects would collide in a shared instance.
  const check = compileUserSchema(createSchemaCompiler(), schema);
  if (!check.ok) throw new ApiError(400, 'invalid_schema', 'the JSON Schema does not compile', [{ field: 'schema', message: check.message }]);
  if ('$id' in (schema as object)) {
    // The worker caches compiled validators in one ajv instance, where a second version with the same
    // `$id` would fail to compile; schemas are identified by event type and version instead.
    throw new ApiError(400, 'invalid_schema', 'the JSON Schema must not declare $id', [{ field: 'schema.$id', message: 'is not supported' }]);
  }
  return schema as object;
}

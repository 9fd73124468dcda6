import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FieldError } from '../shared/batch.ts';

// ajv-formats is CommonJS with a default export; under ESM the function sits on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

/** One Ajv instance per process: compiling is the expensive part, so validators are cached by caller. */
export function createSchemaCompiler(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv;
}

export type SchemaCheck = { ok: true; validate: ValidateFunction } | { ok: false; message: string };

/** Compiles a user-supplied schema, turning ajv's exceptions into a message fit for a 400. */
export function compileUserSchema(ajv: Ajv, schema: unknown): SchemaCheck {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return { ok: false, message: 'a JSON Schema must be a JSON object' };
  }
  try {
    return { ok: true, validate: ajv.compile(schema as object) };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

/**
 * The one mapping of ajv errors to `{ field, message }`, for API 400s and for events' rejection reasons:
 * a dotted path under `prefix`, naming the missing or unknown key itself where that is the problem.
 * `messages` replaces ajv's wording for particular fields.
 */
export function fieldErrors(
  errors: ErrorObject[] | null | undefined,
  { prefix = '', messages = {} }: { prefix?: string; messages?: Record<string, string> } = {},
): FieldError[] {
  return (errors ?? []).map((error) => {
    const path = [prefix, ...error.instancePath.split('/').filter(Boolean)];
    if (error.keyword === 'additionalProperties') {
      return { field: [...path, String(error.params.additionalProperty)].filter(Boolean).join('.'), message: 'is not a known field' };
    }
    if (error.keyword === 'required') {
      return { field: [...path, String(error.params.missingProperty)].filter(Boolean).join('.'), message: 'is required' };
    }
    const field = path.filter(Boolean).join('.');
    return { field, message: messages[field] ?? error.message ?? 'is invalid' };
  });
}

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

/** Maps ajv errors to `{ field, message }` with a JSON-pointer-like dotted field path. */
export function toFieldErrors(errors: ErrorObject[] | null | undefined, prefix: string): FieldError[] {
  return (errors ?? []).map((error) => {
    const pointer = error.instancePath.split('/').filter(Boolean).join('.');
    const missing = error.keyword === 'required' ? String(error.params.missingProperty) : '';
    const field = [prefix, pointer, missing].filter(Boolean).join('.');
    return { field, message: error.message ?? 'is invalid' };
  });
}

import type { ErrorObject, ValidateFunction } from 'ajv';
import { ApiError } from './errors.ts';

export interface FieldDetail {
  field: string;
  message: string;
}

// Postgres timestamptz accepts far more, but JSON/ISO-8601 round-trips are only unambiguous in 0001–9999.
const MIN_STORABLE_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_STORABLE_MS = Date.parse('9999-12-31T23:59:59.999Z');

export function isStorableMillis(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_STORABLE_MS && ms <= MAX_STORABLE_MS;
}

/**
 * ajv's `date-time` format accepts things Date.parse does not (leap second 23:59:60, offsets without
 * minutes) and years Postgres rejects (0000); either would fail the batch after it was accepted.
 */
export function isStorableInstant(value: string): boolean {
  return isStorableMillis(Date.parse(value));
}

/** `{ field, message }` for each ajv error, naming the offending field (or the unknown key). */
export function describeAjvErrors(errors: ErrorObject[] | null | undefined, messages: Record<string, string> = {}): FieldDetail[] {
  return (errors ?? []).map((error) => {
    if (error.keyword === 'additionalProperties') {
      return { field: String(error.params.additionalProperty), message: 'is not a known field' };
    }
    if (error.keyword === 'required') {
      return { field: String(error.params.missingProperty), message: 'is required' };
    }
    const field = error.instancePath.split('/').filter(Boolean).join('.');
    return { field, message: messages[field] ?? error.message ?? 'is invalid' };
  });
}

/** Body validation with a compiled schema: the typed body, or 400 invalid_body listing every problem. */
export function validBody<T>(validate: ValidateFunction<T>, body: unknown): T {
  if (validate(body)) return body;
  const details = describeAjvErrors(validate.errors);
  throw new ApiError(400, 'invalid_body', 'the request body is invalid', details.map((detail) => ({ ...detail, field: detail.field || 'body' })));
}

// Lone UTF-16 surrogates and NUL cannot be stored by Postgres (text or jsonb).
const UNSTORABLE_CHARACTER = /[\p{Cs}\u0000]/u;

/**
 * Why Postgres could not store this JSON value, if it could not: NUL or unpaired surrogates in a string
 * or key, or nesting deeper than `maxDepth` (its JSON parser recurses per level). Iterative on purpose:
 * a body can nest tens of thousands of levels within the size limit.
 */
export function unstorableValueProblem(value: unknown, maxDepth: number): string | undefined {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current === 'string') {
      if (UNSTORABLE_CHARACTER.test(current)) return 'contains NUL or unpaired surrogate characters';
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= maxDepth) return `nests deeper than ${maxDepth} levels`;
    if (Array.isArray(current)) {
      for (const child of current) pending.push([child, depth + 1]);
      continue;
    }
    for (const [key, child] of Object.entries(current)) {
      if (UNSTORABLE_CHARACTER.test(key)) return 'contains NUL or unpaired surrogate characters';
      pending.push([child, depth + 1]);
    }
  }
  return undefined;
}

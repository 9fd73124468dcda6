
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

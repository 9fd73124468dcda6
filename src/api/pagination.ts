import { ApiError } from './errors.ts';

// Keyset pagination: the cursor is the sort key of the last row served, so pages stay stable while new
// events arrive (an OFFSET would shift). It is opaque to clients: base64url of a JSON array.

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1_000;

/** Query-schema properties every list route takes: spread them into its `validateQuery` schema. */
export const PAGE_PARAMS = {
  limit: { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' },
  cursor: { type: 'string', maxLength: 2048 },
} as const;

/** A time-range bound in a query string (`from`, `to`). */
export const TIME_PARAM = { type: 'string', format: 'date-time' } as const;

export function pageSize(limit: string | undefined): number {
  return limit === undefined ? DEFAULT_PAGE_SIZE : Number(limit);
}

export function encodeCursor(key: string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Decodes a cursor made by encodeCursor with `length` parts, or answers 400 invalid_query. */
export function decodeCursor(cursor: string, length: number, isValid: (key: string[]) => boolean): string[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== length || key.some((part) => typeof part !== 'string') || !isValid(key)) {
    throw new ApiError(400, 'invalid_query', 'the query parameters are invalid', [
      { field: 'cursor', message: 'is not a cursor returned by this endpoint' },
    ]);
  }
  return key;
}

/** Rows fetched with `limit + 1`: the extra row only tells whether another page exists. */
export function page<T>(rows: T[], limit: number, cursorOf: (row: T) => string[]) {
  const data = rows.slice(0, limit);
  const next = rows.length > limit ? encodeCursor(cursorOf(data[data.length - 1])) : null;
  return { data, next_cursor: next };
}

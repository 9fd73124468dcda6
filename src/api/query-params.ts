import type { ValidateFunction } from 'ajv';
import type { ParsedUrlQuery } from 'node:querystring';
import { ApiError } from './errors.ts';
import { describeAjvErrors, isStorableInstant } from './validation.ts';
import { DEFAULT_PAGE_SIZE } from './pagination.ts';

export const LIMIT_PARAM = { type: 'string', pattern: '^(?:[1-9][0-9]{0,2}|1000)$' } as const;
export const TIME_PARAM = { type: 'string', format: 'date-time' } as const;

const FRIENDLY_MESSAGES: Record<string, string> = {
  limit: 'must be an integer between 1 and 1000',
  from: 'must be an ISO-8601 date-time with a time zone',
  to: 'must be an ISO-8601 date-time with a time zone',
};

/**
 * Validates a query string against a compiled schema of string-valued params. Empty params count as
 * absent; repeated params fail the schema ("must be string"). Bad params answer 400 invalid_query.
 */
export function parseQuery<T extends Record<string, string | undefined>>(validate: ValidateFunction, query: ParsedUrlQuery): T {
  const present = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== '' && value !== undefined));
  const details = validate(present) ? [] : describeAjvErrors(validate.errors, FRIENDLY_MESSAGES);
  for (const field of ['from', 'to']) {
    const value = present[field];
    if (typeof value === 'string' && !details.some((detail) => detail.field === field) && !isStorableInstant(value)) {
      details.push({ field, message: FRIENDLY_MESSAGES[field] });
    }
  }
  if (details.length > 0) throw new ApiError(400, 'invalid_query', 'the query parameters are invalid', details);
  return present as T;
}

export function pageSize(limit: string | undefined): number {
  return limit === undefined ? DEFAULT_PAGE_SIZE : Number(limit);
}

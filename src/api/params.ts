import { notFound } from './errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A path id that must be a UUID. A malformed one cannot exist, so it answers the same 404 as an unknown
 * one, without asking Postgres (which would reject the cast with an error of its own).
 */
export function uuidParam(value: string | undefined, what: string): string {
  if (value === undefined || !UUID.test(value)) throw notFound(what);
  return value.toLowerCase();
}

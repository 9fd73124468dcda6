import { notFound } from './errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * A path id that must be a UUID. A malformed one cannot exist, so it answers the same 404 as an unknown
 * one, without asking Postgres (which would reject the cast with an error of its own).
 */
export function uuidParam(value: string | undefined, what: string): string {
  if (value === undefined || !UUID.test(value)) throw notFound(what);
  return value.toLowerCase();
}

/** A path id EventFlow made that is not a UUID (a delivery's `msg_…` id): anything longer is not one. */
export function textParam(value: string | undefined, what: string, maxLength = 128): string {
  if (value === undefined || value.length === 0 || value.length > maxLength) throw notFound(what);
  return value;
}

import type { Client } from '@temporalio/client';
import { temporalUnavailable } from './errors.ts';
import { withDeadline } from '../deadline.ts';

/**
 * The API's one Temporal client. Empty while the boot-time connection is still being retried in the
 * background: calls that need Temporal (replay, batch status) answer 503 and /ready names Temporal until
 * it is filled; ingestion does not wait for it (acceptance is a Postgres commit).
 */
export interface TemporalClientRef {
  current: Client | undefined;
}

/**
 * How long a request may wait on Temporal. A gRPC deadline, not an AbortSignal: the SDK's retry
 * interceptor keeps retrying an aborted call in the background, while a passed deadline makes every
 * further attempt fail at once. So after a 503 the start cannot still happen behind the caller's back.
 */
export const TEMPORAL_CALL_DEADLINE_MS = 3_000;

// gRPC status codes meaning "Temporal cannot take this right now" rather than "this request is wrong".
const UNAVAILABLE_CODES = new Set([
  1, // CANCELLED
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  10, // ABORTED
  14, // UNAVAILABLE
]);

export function isTemporalUnavailable(error: unknown): boolean {
  for (let current = error as { code?: unknown; cause?: unknown } | undefined; current; current = current.cause as typeof current) {
    if (typeof current.code === 'number' && UNAVAILABLE_CODES.has(current.code)) return true;
  }
  return false;
}

// Calls we stopped waiting for can still be inside the SDK's retry back-off; closing the connection
// under them makes the next retry throw from a timer (an uncaught exception). Shutdown waits for them.
const inFlight = new WeakMap<TemporalClientRef, Set<Promise<unknown>>>();

/** Resolves once every call made through `ref` has settled (bounded by the deadline plus one back-off). */
export async function settleTemporalCalls(ref: TemporalClientRef): Promise<void> {
  await Promise.allSettled([...(inFlight.get(ref) ?? [])]);
}

/** Runs a Temporal call under a deadline; unreachable/overloaded Temporal becomes a 503. */
export async function callTemporal<T>(
  ref: TemporalClientRef,
  call: (client: Client) => Promise<T>,
  timeoutMs = TEMPORAL_CALL_DEADLINE_MS,
): Promise<T> {
  const client = ref.current;
  if (!client) throw temporalUnavailable();
  const deadline = Date.now() + timeoutMs;
  const calling = client.connection.withDeadline(deadline, () => call(client));
  let pending = inFlight.get(ref);
  if (!pending) inFlight.set(ref, (pending = new Set()));
  const tracked = calling.catch(() => undefined).finally(() => pending.delete(tracked));
  pending.add(tracked);

  // The SDK notices a passed deadline only when its current retry back-off (up to seconds) ends; the
  // caller need not wait for that, as no attempt can succeed any more.
  try {
    return await withDeadline(calling, timeoutMs, () => Object.assign(new Error('Temporal call deadline passed'), { code: 4 }));
  } catch (error) {
    if (isTemporalUnavailable(error)) throw temporalUnavailable(error);
    throw error;
  }
}

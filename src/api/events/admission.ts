import { ApiError } from '../errors.ts';

/**
 * Load shedding for ingestion. Two bounds, both answered with 429 + Retry-After so a client backs off
 * instead of queueing without limit:
 * - events this process is still handing to Temporal (starts in flight): protects the API's memory and
 *   the Temporal frontend when requests arrive faster than starts complete;
 * - how far processing lags behind acceptance: how long a batch accepted now would wait on the task
 *   queue for a worker (src/temporal/backlog.ts). A 202 is a promise to process soon, and past this
 *   lag the promise is not kept.
 * A refused request started nothing, so retrying it (with or without Idempotency-Key) is always safe.
 */
export interface AdmissionLimits {
  /** Events per API process whose workflow start is still in flight. */
  maxInFlightEvents: number;
  /** Processing lag, in ms, above which requests are refused; 0 turns the check off. */
  maxProcessingLagMs: number;
}

export interface Admission {
  /** The bound on processing lag this admission enforces (0 = off); the backlog probe reads it too. */
  readonly maxProcessingLagMs: number;
  /** Runs `start` for `events` events, or throws a 429 ApiError without running it. */
  admit<T>(events: number, start: () => Promise<T>): Promise<T>;
  /** Feeds the lag observed by the backlog probe. */
  observeProcessingLag(ms: number): void;
}

export function createAdmission(limits: AdmissionLimits): Admission {
  let inFlightEvents = 0;
  let latestLagMs = 0;

  return {
    maxProcessingLagMs: limits.maxProcessingLagMs,
    async admit(events, start) {
      if (limits.maxProcessingLagMs > 0 && latestLagMs > limits.maxProcessingLagMs) {
        throw overloaded('processing_backlog', `processing lags ${Math.round(latestLagMs / 1000)} s behind; retry later`,
          retryAfterSeconds(latestLagMs - limits.maxProcessingLagMs));
      }
      // A single request larger than the bound is still admitted when nothing else is in flight.
      if (inFlightEvents > 0 && inFlightEvents + events > limits.maxInFlightEvents) {
        throw overloaded('ingest_saturated', 'too many events are being accepted at once; retry shortly', 1);
      }
      inFlightEvents += events;
      try {
        return await start();
      } finally {
        inFlightEvents -= events;
      }
    },
    observeProcessingLag(ms) {
      latestLagMs = ms;
    },
  };
}

/** Retry-After grows with the excess lag, between 1 and 30 s, so clients do not return all at once. */
function retryAfterSeconds(excessMs: number): number {
  return Math.min(30, Math.max(1, Math.ceil(excessMs / 1000)));
}

function overloaded(reason: string, message: string, retryAfter: number): ApiError {
  return new ApiError(429, 'overloaded', message, [{ reason }], { 'Retry-After': String(retryAfter) });
}

/**
 * Settles with `work`, or rejects with `onExpiry()` once `ms` have passed, whichever comes first. The
 * work itself is not cancelled (a promise cannot be); callers use this where waiting longer is useless:
 * a readiness probe, a Temporal call whose SDK retry back-off outlasts its deadline, a telemetry flush.
 * The timer never keeps the process alive.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onExpiry: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onExpiry()), ms);
    timer.unref();
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

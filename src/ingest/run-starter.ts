import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { TemporalClientRef } from '../api/temporal-access.ts';
import { callTemporal } from '../api/temporal-access.ts';
import type { Logger } from '../logging.ts';
import { inSpanContinuing } from '../telemetry/spans.ts';
import { startBatchRun } from '../temporal/start-batch.ts';
import { claimRuns, markRunsStarted, unstartedRuns, type ClaimedRun, type RunLimits } from './queries.ts';

export interface RunStarterOptions {
  db: Knex;
  temporal: TemporalClientRef;
  taskQueue: string;
  /** Budget for the BatchIds search attribute (the server's value size limit). */
  batchIdsMaxBytes: number;
  log: Logger;
  limits: RunLimits & {
    /** How long accepted requests gather before they are claimed into runs (the batching time bound). */
    windowMs: number;
  };
  /** Runs recorded this long ago without a confirmed start are started again (crash recovery). */
  restartAfterSeconds?: number;
}

export interface RunStarter {
  /** Something was accepted: claim soon rather than at the next poll. */
  notify(): void;
  /** Stops claiming; resolves when the current cycle (claims and starts) is done. */
  stop(): Promise<void>;
}

// Without notifications (requests accepted by another API process) and for the crash sweep.
const POLL_MS = 250;
const SWEEP_EVERY_MS = 5_000;
const STARTS_IN_FLIGHT = 8;

/**
 * The path from acceptance to a started run, off the request path: claims accepted requests into runs
 * (per project, by count and a short time bound), starts one workflow per run with a reference, and
 * records the start. Crash-safe: a claim is committed before the start, the start is idempotent (the
 * workflow id is the run id), and runs whose start was never confirmed are started again by any API
 * process's sweep, so an API that dies after a commit leaves nothing unstarted for long.
 */
export function startRunStarter(options: RunStarterOptions): RunStarter {
  const restartAfterSeconds = options.restartAfterSeconds ?? 10;
  let stopped = false;
  let wake: (() => void) | undefined;
  let lastSweep = 0;

  async function start(runs: ClaimedRun[]): Promise<void> {
    const started: string[] = [];
    let next = 0;
    const lanes = Array.from({ length: Math.min(STARTS_IN_FLIGHT, runs.length) }, async () => {
      while (next < runs.length) {
        const { ref, traceparents } = runs[next++];
        try {
          // The start continues the first request's trace (and links the others'), so one event's trace
          // runs from its HTTP request through the run to Postgres and its deliveries.
          await inSpanContinuing('eventflow.run.start', traceparents, { 'eventflow.batch_id': ref.runId, 'eventflow.event_count': ref.eventCount }, () =>
            callTemporal(options.temporal, (client) => startBatchRun(client, options.taskQueue, ref, options.batchIdsMaxBytes), 5_000),
          );
          started.push(ref.runId);
        } catch (error) {
          // Left unstarted: the sweep tries again. Accepted events are safe in Postgres meanwhile.
          options.log.warn({ err: error, runId: ref.runId }, 'could not start a batch run; will retry');
        }
      }
    });
    await Promise.all(lanes);
    await markRunsStarted(options.db, started);
  }

  async function cycle(): Promise<number> {
    const runs = await claimRuns(options.db, options.taskQueue, options.limits);
    if (runs.length > 0) await start(runs);
    if (Date.now() - lastSweep >= SWEEP_EVERY_MS) {
      lastSweep = Date.now();
      const orphans = await unstartedRuns(options.db, options.taskQueue, restartAfterSeconds, 100);
      if (orphans.length > 0) {
        options.log.info({ runs: orphans.length }, 'starting runs whose start was not confirmed');
        await start(orphans);
      }
    }
    return runs.reduce((sum, { ref }) => sum + ref.eventCount, 0);
  }

  const loop = (async () => {
    while (!stopped) {
      let claimedEvents = 0;
      try {
        claimedEvents = await cycle();
      } catch (error) {
        options.log.warn({ err: error }, 'claiming accepted requests failed; retrying');
        await sleep(1_000);
        continue;
      }
      if (stopped) break;
      // A full claim means more is waiting: go again at once. Otherwise sleep until something is
      // accepted (or the poll), then let the window gather more before claiming.
      if (claimedEvents > 0 && claimedEvents >= options.limits.maxEvents) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      if (!stopped && options.limits.windowMs > 0) await sleep(options.limits.windowMs);
    }
  })();

  return {
    notify() {
      wake?.();
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}

import type { Knex } from 'knex';
import { oldestWaitingRequestAgeMs } from '../../ingest/queries.ts';
import type { Logger } from '../../logging.ts';
import { recordProcessingBacklog } from '../../telemetry/metrics.ts';
import { describeWorkflowBacklog, expectedWaitMs } from '../../temporal/backlog.ts';
import { callTemporal, type TemporalClientRef } from '../temporal-access.ts';
import type { Admission } from './admission.ts';

const PROBE_DEADLINE_MS = 2_000;

/**
 * Reads the batch task queue's lag from Temporal on a fixed interval and hands it to admission control.
 * A failed read counts as no lag: refusing events on stale data would turn a probe hiccup into an
 * outage. Returns a stop function.
 */
export function startBacklogProbe(options: {
  /** Where accepted requests wait to be started as runs: their age is lag too. */
  db?: Knex;
  temporal: TemporalClientRef;
  taskQueue: string;
  admission: Admission;
  intervalMs: number;
  log: Logger;
}): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    let lagMs = 0;
    try {
      if (options.temporal.current) {
        const backlog = await callTemporal(options.temporal, (client) => describeWorkflowBacklog(client, options.taskQueue), PROBE_DEADLINE_MS);
        // The queue's projected wait counts once its oldest task has waited a third of the bound.
        lagMs = expectedWaitMs(backlog, options.admission.maxProcessingLagMs / 3);
      }
    } catch (error) {
      options.log.debug({ err: error }, 'could not read the task queue backlog');
    }
    try {
      // Accepted requests not yet started as a run wait too (Temporal down, or starts falling behind).
      if (options.db) lagMs = Math.max(lagMs, await oldestWaitingRequestAgeMs(options.db, options.taskQueue));
    } catch (error) {
      options.log.debug({ err: error }, 'could not read the ingest backlog');
    }
    options.admission.observeProcessingLag(lagMs);
    recordProcessingBacklog(lagMs / 1000);
    if (!stopped) timer = setTimeout(tick, options.intervalMs);
  };
  timer = setTimeout(tick, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

import type { Client } from '@temporalio/client';
import { delay } from '../src/dev/process.ts';
import { microsecondHistogram, recordMs, summarize, type LatencySummary } from './histogram.ts';
import { round } from './proc-stats.ts';

// (b) The Temporal dev server's ceiling: workflows that do nothing (benchmarks/noop-workflows.ts, hosted
// by benchmarks/noop-worker.ts on a task queue of their own). Two runs of `seconds` each with `starters`
// concurrent callers: starts alone as fast as they go (then the time until all have completed), and a
// closed loop of start-and-wait-for-the-result, whose rate is what a stream of workflows can sustain.

export interface TemporalCeiling {
  taskQueue: string;
  starters: number;
  seconds: number;
  started: number;
  failedStarts: number;
  startsPerSecond: number;
  /** StartWorkflowExecution round trip, ms. */
  startLatencyMs: LatencySummary;
  /** Completed while starts were still going on, per second of that window. */
  completedPerSecondDuringStarts: number;
  /** All started ÷ time from the first start until the last completed (as seen by visibility). */
  completedPerSecondOverall: number;
  drainSeconds: number;
  /** Closed loop: each starter starts a workflow and waits for its result before the next. */
  startedAndCompletedPerSecond: number;
  /** Start → result seen by the client, ms, in the closed-loop run. */
  roundTripMs: LatencySummary;
}

export async function driveNoopWorkflows(options: {
  client: Client;
  taskQueue: string;
  starters: number;
  seconds: number;
  runId: string;
}): Promise<TemporalCeiling> {
  const { client, taskQueue, starters, seconds, runId } = options;
  const latency = microsecondHistogram();
  let started = 0;
  let failedStarts = 0;
  let sequence = 0;
  const begin = performance.now();
  const deadline = begin + seconds * 1000;
  await Promise.all(
    Array.from({ length: starters }, async () => {
      while (performance.now() < deadline) {
        const at = performance.now();
        try {
          await client.workflow.start('benchNoop', { taskQueue, workflowId: `bench-noop-${runId}-${sequence++}`, args: [] });
          started += 1;
          recordMs(latency, performance.now() - at);
        } catch {
          failedStarts += 1;
        }
      }
    }),
  );
  const startWindow = (performance.now() - begin) / 1000;
  const completedAtWindowEnd = (await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Completed"`)).count;

  // Visibility lags the history by a little; polling it is still far cheaper than a result() per run.
  const drainDeadline = performance.now() + 300_000;
  let completed = completedAtWindowEnd;
  while (completed < started && performance.now() < drainDeadline) {
    await delay(250);
    completed = (await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Completed"`)).count;
  }
  const total = (performance.now() - begin) / 1000;

  // The steady state of starting *and* finishing: what a pipeline of workflows can sustain.
  const roundTrip = microsecondHistogram();
  let executed = 0;
  const executeBegin = performance.now();
  const executeDeadline = executeBegin + seconds * 1000;
  await Promise.all(
    Array.from({ length: starters }, async () => {
      while (performance.now() < executeDeadline) {
        const at = performance.now();
        try {
          await client.workflow.execute('benchNoop', { taskQueue, workflowId: `bench-noop-${runId}-${sequence++}`, args: [] });
          executed += 1;
          recordMs(roundTrip, performance.now() - at);
        } catch {
          failedStarts += 1;
        }
      }
    }),
  );
  const executeSeconds = (performance.now() - executeBegin) / 1000;
  return {
    taskQueue,
    starters,
    seconds,
    started,
    failedStarts,
    startsPerSecond: Math.round(started / startWindow),
    startLatencyMs: summarize(latency),
    completedPerSecondDuringStarts: Math.round(completedAtWindowEnd / startWindow),
    completedPerSecondOverall: Math.round(completed / total),
    drainSeconds: round(total - startWindow, 1),
    startedAndCompletedPerSecond: Math.round(executed / executeSeconds),
    roundTripMs: summarize(roundTrip),
  };
}

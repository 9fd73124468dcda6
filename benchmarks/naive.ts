import { createWriteStream } from 'node:fs';
import type { Client } from '@temporalio/client';
import { v7 as uuidv7 } from 'uuid';
import type { BatchInput } from '../src/shared/batch.ts';
import { startBatchWorkflow } from '../src/temporal/start-batch.ts';
import { benchEvent, BENCH_USER_AGENT } from './events.ts';
import { microsecondHistogram, recordMs, summarize, type LatencySummary } from './histogram.ts';

// (c) The naive design EventFlow's batching is measured against: one workflow per event. The same
// `processBatch` workflow, worker and task queue, started straight through the Temporal client exactly
// as the API starts a batch (src/temporal/start-batch.ts), but with a single event in each.

export interface NaiveLoad {
  concurrency: number;
  seconds: number;
  started: number;
  failedStarts: number;
  startsPerSecond: number;
  startLatencyMs: LatencySummary;
  startedAtMs: number;
  finishedAtMs: number;
}

export async function driveNaiveStarts(options: {
  client: Client;
  taskQueue: string;
  projectId: string;
  seconds: number;
  concurrency: number;
  idsFile: string;
}): Promise<NaiveLoad> {
  const { client, taskQueue, projectId, seconds, concurrency } = options;
  const ids = createWriteStream(options.idsFile);
  const latency = microsecondHistogram();
  let started = 0;
  let failedStarts = 0;
  let sequence = 0;
  const startedAtMs = Date.now();
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const sentMs = Date.now();
        const at = performance.now();
        const event = { id: uuidv7(), ...benchEvent(sequence++, sentMs) };
        const input: BatchInput = {
          batchId: uuidv7(),
          projectId,
          receivedAt: new Date(sentMs).toISOString(),
          sentAt: new Date(sentMs).toISOString(),
          client: { ip: '127.0.0.1', userAgent: BENCH_USER_AGENT },
          events: [event],
        };
        try {
          await startBatchWorkflow(client, taskQueue, input);
          started += 1;
          recordMs(latency, performance.now() - at);
          ids.write(`${event.id}\n`);
        } catch {
          failedStarts += 1;
        }
      }
    }),
  );
  const finishedAtMs = Date.now();
  await new Promise<void>((resolve) => ids.end(resolve));
  return {
    concurrency,
    seconds,
    started,
    failedStarts,
    startsPerSecond: Math.round(started / ((finishedAtMs - startedAtMs) / 1000)),
    startLatencyMs: summarize(latency),
    startedAtMs,
    finishedAtMs,
  };
}

// The HTTP load generator, run as a child process of benchmarks/run.ts (fork, IPC) so its CPU is its
// own and measured apart from the stack's.
//
// Open loop: request n is due at t0 + n × interval whatever happened to earlier requests, and its latency
// is measured from that *scheduled* time to the end of its response. A slow server therefore shows up as
// latency (queueing), not as a lower request rate that hides it (coordinated omission).
import { createWriteStream, type WriteStream } from 'node:fs';
import { Pool } from 'undici';
import { batchBodyTemplate, BENCH_USER_AGENT } from './events.ts';
import { microsecondHistogram, recordMs, summarize, type LatencySummary } from './histogram.ts';

export interface LoadPhaseConfig {
  name: string;
  apiUrl: string;
  key: string;
  eventsPerSecond: number;
  batchSize: number;
  durationSeconds: number;
  /** Keep-alive connections to the API; requests beyond them queue in the client (and that wait counts). */
  connections: number;
  /** Where the ids of accepted events are written, one per line (the loss check reads them). */
  idsFile: string;
  /** Give up (and say so) once this many requests are in flight: the server is hopelessly behind. */
  maxInFlight: number;
  requestTimeoutMs: number;
}

export type { LatencySummary };

export interface LoadPhaseResult {
  name: string;
  offeredEventsPerSecond: number;
  batchSize: number;
  requestsPerSecond: number;
  requestsScheduled: number;
  requestsSent: number;
  requestsAccepted: number;
  eventsAccepted: number;
  /** HTTP status (or error code) → count, for everything that was not a 202. */
  failures: Record<string, number>;
  /** Scheduled send → response read, ms, over all completed requests (202 or not). */
  latencyMs: LatencySummary;
  /** How late the generator itself dispatched requests (its own scheduling lag), ms. */
  dispatchLagMs: { p99: number; max: number };
  /** Epoch ms of the first scheduled send and of the last response. */
  startedAtMs: number;
  finishedAtMs: number;
  /** Events accepted per wall second, by the second the 202 arrived. */
  acceptedPerSecond: number[];
  /** The first batch id answered, for fetching one workflow history. */
  sampleBatchId: string | undefined;
  aborted: string | undefined;
}

type Message = { type: 'run'; config: LoadPhaseConfig };

async function runPhase(config: LoadPhaseConfig): Promise<LoadPhaseResult> {
  const body = batchBodyTemplate(config.batchSize);
  const intervalMs = (1000 * config.batchSize) / config.eventsPerSecond;
  // Rounded, not floored: 30 s × 15 req/s must be 450 requests, not 449 by floating-point error.
  const total = Math.max(1, Math.round((config.durationSeconds * config.eventsPerSecond) / config.batchSize));
  const url = new URL(config.apiUrl);
  const pool = new Pool(url.origin, {
    connections: config.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: config.requestTimeoutMs,
    bodyTimeout: config.requestTimeoutMs,
  });
  const headers = {
    authorization: `Bearer ${config.key}`,
    'content-type': 'application/json',
    'user-agent': BENCH_USER_AGENT,
  };
  const latency = microsecondHistogram();
  const lag = microsecondHistogram();
  const ids: WriteStream = createWriteStream(config.idsFile);
  const failures: Record<string, number> = {};
  const acceptedPerSecond: number[] = [];
  let requestsSent = 0;
  let requestsAccepted = 0;
  let eventsAccepted = 0;
  let inFlight = 0;
  let sampleBatchId: string | undefined;
  let aborted: string | undefined;
  let lastResponseAt = 0;

  // Epoch time of the schedule's origin; performance.now() drives the schedule (monotonic).
  const t0 = performance.now() + 100;
  const epochAtT0 = Date.now() + (t0 - performance.now());

  const fail = (key: string) => void (failures[key] = (failures[key] ?? 0) + 1);

  async function send(n: number): Promise<void> {
    const scheduled = t0 + n * intervalMs;
    recordMs(lag, performance.now() - scheduled);
    inFlight += 1;
    requestsSent += 1;
    try {
      const response = await pool.request({
        path: `${url.pathname.replace(/\/$/, '')}/v1/events`,
        method: 'POST',
        headers,
        body: body(epochAtT0 + (scheduled - t0)),
      });
      const text = await response.body.text();
      const done = performance.now();
      recordMs(latency, done - scheduled);
      lastResponseAt = Math.max(lastResponseAt, done);
      if (response.statusCode === 202) {
        const answer = JSON.parse(text) as { batch_id: string; accepted: number; ids: string[] };
        requestsAccepted += 1;
        eventsAccepted += answer.ids.length;
        sampleBatchId ??= answer.batch_id;
        ids.write(answer.ids.join('\n') + '\n');
        const second = Math.floor((done - t0) / 1000);
        acceptedPerSecond[second] = (acceptedPerSecond[second] ?? 0) + answer.ids.length;
      } else {
        fail(String(response.statusCode));
      }
    } catch (error) {
      const done = performance.now();
      recordMs(latency, done - scheduled);
      lastResponseAt = Math.max(lastResponseAt, done);
      fail((error as { code?: string }).code ?? (error as Error).name ?? 'error');
    } finally {
      inFlight -= 1;
    }
  }

  const pending = new Set<Promise<void>>();
  let next = 0;
  let lastProgress = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && t0 + next * intervalMs <= now) {
        if (inFlight >= config.maxInFlight) {
          aborted = `stopped after ${((now - t0) / 1000).toFixed(1)} s: ${inFlight} requests in flight (the API is far behind the offered rate)`;
          resolve();
          return;
        }
        const sending = send(next++);
        pending.add(sending);
        void sending.finally(() => pending.delete(sending));
      }
      if (now - lastProgress >= 5_000 && now > t0) {
        lastProgress = now;
        process.send?.({
          type: 'progress',
          name: config.name,
          elapsedSeconds: Math.round((now - t0) / 1000),
          eventsAccepted,
          inFlight,
          failures: Object.values(failures).reduce((sum, count) => sum + count, 0),
        });
      }
      if (next >= total) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, Math.min(5, t0 + next * intervalMs - performance.now())));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  await Promise.all(pending);
  await new Promise<void>((resolve) => ids.end(resolve));
  await pool.close();

  return {
    name: config.name,
    offeredEventsPerSecond: config.eventsPerSecond,
    batchSize: config.batchSize,
    requestsPerSecond: Math.round((1000 / intervalMs) * 10) / 10,
    requestsScheduled: total,
    requestsSent,
    requestsAccepted,
    eventsAccepted,
    failures,
    latencyMs: summarize(latency),
    dispatchLagMs: { p99: summarize(lag).p99, max: summarize(lag).max },
    startedAtMs: epochAtT0,
    finishedAtMs: epochAtT0 + (Math.max(lastResponseAt, t0) - t0),
    acceptedPerSecond: Array.from(acceptedPerSecond, (count) => count ?? 0),
    sampleBatchId,
    aborted,
  };
}

// Only as a forked child: the parent sends one `run`, gets one `done`, and the process ends.
if (process.send) {
  // Never outlive the parent, and never run far past the phase (a stuck run must stop by itself).
  process.on('disconnect', () => process.exit(0));
  process.once('message', (message: Message) => {
    const hardStop = setTimeout(
      () => {
        console.error('load generator: hard time limit reached');
        process.exit(2);
      },
      (message.config.durationSeconds + 120) * 1000 + message.config.requestTimeoutMs,
    );
    hardStop.unref();
    runPhase(message.config).then(
      (result) => process.send!({ type: 'done', result }, undefined, undefined, () => process.exit(0)),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

// Segment's API against the native one, in one run on one stack. The same N events go
//   1. through the real @segment/analytics-node with its default batching (flushAt 15) to /segment/v1/batch,
//   2. as the same batches of 15 posted by plain HTTP to /segment/v1/batch (the endpoint without the SDK),
//   3. as batches of 15 posted to POST /v1/events (the native API),
// each with up to --in-flight requests unanswered, into a project of its own. Per path: events/s
// acknowledged and stored (up to the last stored_at of the N), event → stored latency, CPU per event.
// And the SDK alone against a local server that answers 200 at once: what one sending process of
// analytics-node can do whatever the destination. Prints a JSON report.
//   ./scripts/bench-segment.sh [--events N] [--in-flight N]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Analytics } from '@segment/analytics-node';
import pg from 'pg';
import { SEGMENT_PREFIX } from '../src/api/routes/segment.ts';
import { createBenchProject } from './api-client.ts';
import { benchEvent } from './events.ts';
import { positive } from './options.ts';
import { cpuMicrosPer, ProcessMonitor, round } from './proc-stats.ts';
import { openStack, type BenchStack } from './stack.ts';
import { storedStats, waitForStored } from './stored.ts';

// analytics-node's default batch size; the other paths send requests of the same size.
const ANALYTICS_NODE_FLUSH_AT = 15;
const WARM_UP_EVENTS = 5_000;
const USAGE = 'Usage: ./scripts/bench-segment.sh [--events N (default 20000)] [--in-flight N requests at once (default 64)]\n';

const log = (message: string) => process.stderr.write(`[bench-segment ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

interface Sent {
  startedAtMs: number;
  seconds: number;
  requests: number;
  failedEvents: number;
}

/** Sends `count` events with the project's write key, at most `inFlight` requests unanswered. */
type Path = (baseUrl: string, writeKey: string, count: number, inFlight: number) => Promise<Sent>;

/**
 * As an application would: one track() per event, the SDK batching and sending. The application waits
 * only while the SDK has `inFlight` requests unanswered or that many batches' worth of events not yet
 * sent. (Not on track()'s callback: analytics-core delays every callback to at least 300 ms after the
 * call, which would throttle the SDK by a rule of its callbacks rather than of its sending.)
 */
const throughSdk: Path = async (baseUrl, writeKey, count, inFlight) => {
  const analytics = new Analytics({ writeKey, host: baseUrl, path: `${SEGMENT_PREFIX}/batch` });
  let requests = 0;
  let unanswered = 0;
  let shipped = 0;
  let failedEvents = 0;
  let wake: (() => void) | undefined;
  const changed = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  analytics.on('http_request', ({ body }) => {
    requests += 1;
    unanswered += 1;
    shipped += (JSON.parse(body) as { batch: unknown[] }).batch.length;
    changed();
  });
  analytics.on('http_response', () => {
    unanswered -= 1;
    changed();
  });
  analytics.on('error', () => (failedEvents += 1));
  const startedAtMs = Date.now();
  const started = performance.now();
  for (let index = 0; index < count; index += 1) {
    while (unanswered >= inFlight || index - shipped >= inFlight * ANALYTICS_NODE_FLUSH_AT) {
      await new Promise<void>((resolve) => (wake = resolve));
    }
    const sentMs = Date.now();
    const event = benchEvent(index, sentMs);
    analytics.track({ userId: event.user_id!, event: event.type, properties: event.properties, context: event.context, timestamp: new Date(sentMs) });
  }
  await analytics.closeAndFlush({ timeout: 120_000 });
  return { startedAtMs, seconds: (performance.now() - started) / 1000, requests, failedEvents };
};

/** Batches of 15 by plain HTTP, `inFlight` senders posting in turn: `request` makes each one's request. */
function overHttp(request: (writeKey: string, batch: Array<ReturnType<typeof benchEvent>>, from: number) => { path: string; init: RequestInit }): Path {
  return async (baseUrl, writeKey, count, inFlight) => {
    let next = 0;
    let requests = 0;
    let failedEvents = 0;
    const sender = async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + ANALYTICS_NODE_FLUSH_AT);
        const sentMs = Date.now();
        const batch = Array.from({ length: next - from }, (_, offset) => benchEvent(from + offset, sentMs));
        const { path, init } = request(writeKey, batch, from);
        const response = await fetch(`${baseUrl}${path}`, { method: 'POST', ...init });
        await response.arrayBuffer();
        requests += 1;
        if (response.status >= 300) failedEvents += batch.length;
      }
    };
    const startedAtMs = Date.now();
    const started = performance.now();
    await Promise.all(Array.from({ length: inFlight }, sender));
    return { startedAtMs, seconds: (performance.now() - started) / 1000, requests, failedEvents };
  };
}

/** What analytics-node sends, without analytics-node: its body shape, Basic auth, its headers. */
const throughSegmentHttp = overHttp((writeKey, batch, from) => ({
  path: `${SEGMENT_PREFIX}/batch`,
  init: {
    headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      batch: batch.map((event, offset) => ({
        type: 'track',
        event: event.type,
        userId: event.user_id,
        properties: event.properties,
        context: event.context,
        timestamp: event.timestamp,
        messageId: `bench-${from + offset}`,
        integrations: {},
      })),
      writeKey,
      sentAt: new Date().toISOString(),
    }),
  },
}));

const throughNative = overHttp((writeKey, batch) => ({
  path: '/v1/events',
  init: {
    headers: { authorization: `Bearer ${writeKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch, sent_at: new Date().toISOString() }),
  },
}));

async function measure(stack: BenchStack, db: pg.Pool, monitor: ProcessMonitor, name: string, path: Path, count: number, inFlight: number) {
  const project = await createBenchProject(stack.apiUrl, stack.rootKey, `bench segment: ${name}`);
  await db.query('ANALYZE events');
  const mark = monitor.mark();
  const sent = await path(stack.apiUrl, project.writeKey, count, inFlight);
  const drain = await waitForStored(db, project.id, { events: count, batches: 1 }, { timeoutSeconds: 120, stallSeconds: 30, log });
  const usage = monitor.usageSince(mark);
  const stored = await storedStats(db, project.id, sent.startedAtMs, sent.startedAtMs + sent.seconds * 1000);
  const cpu = cpuMicrosPer(stored.stored, usage);
  const result = {
    events: count,
    requests: sent.requests,
    failedEvents: sent.failedEvents,
    stored: stored.stored,
    lost: count - stored.stored,
    sendSeconds: round(sent.seconds, 2),
    acknowledgedPerSecond: Math.round(count / sent.seconds),
    storedPerSecond: stored.storedPerSecond,
    eventToStoredMs: stored.latencyMs,
    drainComplete: drain.complete,
    stackCpuMicrosPerEvent: cpu,
    senderCpuMicrosPerEvent: stored.stored > 0 ? Math.round(((usage.processes.bench?.cpuSeconds ?? 0) / stored.stored) * 1e6) : 0,
    machineBusyShare: usage.machineBusyShare,
  };
  log(
    `${name}: ${count} events in ${sent.requests} requests, acknowledged ${result.acknowledgedPerSecond}/s, stored ${result.storedPerSecond}/s, ` +
      `event→stored p50/p95 ${stored.latencyMs.p50}/${stored.latencyMs.p95} ms, lost ${result.lost}, stack CPU ${cpu.total} µs/event, machine busy ${usage.machineBusyShare}`,
  );
  return result;
}

/** The SDK's own ceiling: the same drive against a local server that reads each request and answers 200. */
async function sdkAlone(count: number, inFlight: number) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const sent = await throughSdk(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'bench', count, inFlight);
    const result = { events: count, requests: sent.requests, sendSeconds: round(sent.seconds, 2), eventsPerSecond: Math.round(count / sent.seconds) };
    log(`analytics-node against a server that answers at once: ${result.eventsPerSecond} events/s`);
    return result;
  } finally {
    server.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string' }, 'in-flight': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const events = positive('events', values.events, 20_000);
  const inFlight = positive('in-flight', values['in-flight'], 64);
  if (!Number.isInteger(events) || !Number.isInteger(inFlight)) throw new Error('--events and --in-flight take whole numbers');

  const stack = await openStack({ log });
  const db = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
  const monitor = new ProcessMonitor(1_000);
  monitor.track([...stack.processes(), { name: 'bench', pid: process.pid }]);
  monitor.start();
  try {
    // Every path once, unmeasured: JIT, pools and `events` statistics warm for whichever goes first.
    log(`warm-up: ${WARM_UP_EVENTS} events through each path`);
    for (const [name, path] of [['sdk', throughSdk], ['segment http', throughSegmentHttp], ['native', throughNative]] as const) {
      await measure(stack, db, monitor, `warm-up ${name}`, path, WARM_UP_EVENTS, inFlight);
    }
    const report = {
      events,
      eventsPerRequest: ANALYTICS_NODE_FLUSH_AT,
      requestsInFlight: inFlight,
      sdkToEventFlow: await measure(stack, db, monitor, 'analytics-node → /segment/v1/batch', throughSdk, events, inFlight),
      httpToSegmentEndpoint: await measure(stack, db, monitor, 'plain HTTP → /segment/v1/batch', throughSegmentHttp, events, inFlight),
      native: await measure(stack, db, monitor, 'plain HTTP → POST /v1/events', throughNative, events, inFlight),
      sdkAlone: await sdkAlone(events, inFlight),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    monitor.stop();
    await db.end();
    await stack.stop();
  }
}

await main().catch((error: unknown) => {
  log(`benchmark failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});

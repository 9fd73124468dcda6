// The webhook receiver, run as a child process of benchmarks/run.ts (fork, IPC): a plain HTTP server on
// 127.0.0.1 that answers 200 at once and records, per event id, when its delivery arrived. Latency is
// arrival minus the client's scheduled send time carried in the event (`properties.bench_sent_ms`).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { microsecondHistogram, recordMs, summarize, type LatencySummary } from './histogram.ts';

export interface ReceiverStats {
  requests: number;
  /** Distinct event ids delivered. */
  uniqueEvents: number;
  duplicates: number;
  unreadable: number;
  firstArrivalMs: number | undefined;
  lastArrivalMs: number | undefined;
  /** Scheduled send → arrival, ms, first delivery of each event. */
  latencyMs: LatencySummary;
  /** Distinct events delivered per wall second since the reset. */
  perSecond: number[];
}

type Command = { type: 'stats' } | { type: 'reset' };

interface WebhookBody {
  data?: { id?: string; properties?: { bench_sent_ms?: number } };
}

const epochNow = () => performance.timeOrigin + performance.now();

let seen = new Set<string>();
let histogram = microsecondHistogram();
let requests = 0;
let duplicates = 0;
let unreadable = 0;
let firstArrival: number | undefined;
let lastArrival: number | undefined;
let resetAt = epochNow();
let perSecond: number[] = [];

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const arrival = epochNow();
    res.writeHead(200, { 'content-length': '0' });
    res.end();
    requests += 1;
    let body: WebhookBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookBody;
    } catch {
      unreadable += 1;
      return;
    }
    const id = body.data?.id;
    const sentMs = body.data?.properties?.bench_sent_ms;
    if (typeof id !== 'string' || typeof sentMs !== 'number') {
      unreadable += 1;
      return;
    }
    if (seen.has(id)) {
      duplicates += 1;
      return;
    }
    seen.add(id);
    firstArrival ??= arrival;
    lastArrival = arrival;
    recordMs(histogram, arrival - sentMs);
    const second = Math.floor((arrival - resetAt) / 1000);
    perSecond[second] = (perSecond[second] ?? 0) + 1;
  });
});

function stats(): ReceiverStats {
  return {
    requests,
    uniqueEvents: seen.size,
    duplicates,
    unreadable,
    firstArrivalMs: firstArrival,
    lastArrivalMs: lastArrival,
    latencyMs: summarize(histogram),
    perSecond: Array.from(perSecond, (count) => count ?? 0),
  };
}

if (process.send) {
  process.on('disconnect', () => process.exit(0));
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.send!({ type: 'listening', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
  });
  process.on('message', (command: Command) => {
    if (command.type === 'reset') {
      seen = new Set();
      histogram = microsecondHistogram();
      requests = duplicates = unreadable = 0;
      firstArrival = lastArrival = undefined;
      resetAt = epochNow();
      perSecond = [];
      process.send!({ type: 'reset' });
    } else if (command.type === 'stats') {
      process.send!({ type: 'stats', stats: stats() });
    }
  });
}

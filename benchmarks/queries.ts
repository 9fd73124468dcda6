// Read-side latency with a big project: seeds N events (default 1,000,000) straight into Postgres — the
// ingestion path is measured by run.ts; here only the stored volume matters — fills the stats rollups the
// way the migration does, then times GraphQL `events(first: 50)` and `eventStats` and REST `/v1/stats`
// over HTTP, one request at a time. Prints a JSON report.
//   ./scripts/bench-queries.sh [--events N] [--requests N]
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createBenchProject } from './api-client.ts';
import { microsecondHistogram, recordMs, summarize } from './histogram.ts';
import { seedEvents } from './seed.ts';
import { openStack } from './stack.ts';

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    process.stderr.write(`--${name} takes a whole number ≥ 1, got "${raw}"\n`);
    process.exit(2);
  }
  return value;
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({ options: { events: { type: 'string' }, requests: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\nUsage: ./scripts/bench-queries.sh [--events N] [--requests N]\n`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write('Usage: ./scripts/bench-queries.sh [--events N (default 1000000)] [--requests N per query (default 200)]\n');
  process.exit(0);
}
const eventCount = positiveInteger('events', values.events as string | undefined, 1_000_000);
const requests = positiveInteger('requests', values.requests as string | undefined, 200);
const log = (message: string) => process.stderr.write(`[bench-queries ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const stack = await openStack({ log });
const db = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
try {
  const project = await createBenchProject(stack.apiUrl, stack.rootKey, 'bench queries');
  log(`seeding ${eventCount} events over 30 days, 12 types, 50,000 users`);
  const seedStarted = performance.now();
  await seedEvents(db, project.id, eventCount);
  log(`seeded in ${Math.round((performance.now() - seedStarted) / 1000)} s`);

  const time = async (name: string, send: () => Promise<Response>) => {
    const histogram = microsecondHistogram();
    for (let index = 0; index < requests + 10; index++) {
      const started = performance.now();
      const response = await send();
      const body = await response.text();
      if (response.status !== 200 || body.includes('"errors"')) throw new Error(`${name}: ${response.status} ${body.slice(0, 300)}`);
      if (index >= 10) recordMs(histogram, performance.now() - started); // the first ten warm caches and JIT
    }
    const summary = summarize(histogram);
    log(`${name}: p50 ${summary.p50} ms, p95 ${summary.p95} ms, p99 ${summary.p99} ms`);
    return summary;
  };
  const graphql = (query: string) => () =>
    fetch(`${stack.apiUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${project.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
  const report = {
    events: eventCount,
    requestsPerQuery: requests,
    latencyMs: {
      'graphql events(first: 50)': await time('graphql events(first: 50)', graphql('{ events(first: 50) { edges { node { id type userId timestamp properties } } pageInfo { hasNextPage endCursor } } }')),
      'graphql events(first: 50) with totalCount': await time('graphql events(first: 50) with totalCount', graphql('{ events(first: 50) { totalCount edges { node { id } } } }')),
      'graphql eventStats': await time('graphql eventStats', graphql('{ eventStats { totalEvents eventsToday eventsThisWeek uniqueUsers topEvents { type count } hourly { hour count } } }')),
      'GET /v1/stats': await time('GET /v1/stats', () => fetch(`${stack.apiUrl}/v1/stats`, { headers: { authorization: `Bearer ${project.adminKey}` } })),
    },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  await db.end();
  await stack.stop();
}

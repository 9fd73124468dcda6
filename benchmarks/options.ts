import { parseArgs } from 'node:util';

// Command-line options of benchmarks/run.ts (`./scripts/bench.sh --help`).

export const SECTIONS = ['postgres', 'temporal', 'single', 'fixed', 'sustained', 'webhook', 'naive', 'levers'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  quick: boolean;
  sections: Set<Section>;
  /** The sustained phase: offered rate, batch size and duration. */
  rate: number;
  batchSize: number;
  duration: number;
  /** Single-event requests (the most common client) at a fixed request rate. */
  singleRate: number;
  singleDuration: number;
  /** The latency phase at a fixed rate (the 5,000 events/s). */
  fixedRate: number;
  fixedBatchSize: number;
  fixedDuration: number;
  webhookRate: number;
  webhookDuration: number;
  naiveSeconds: number;
  naiveConcurrency: number;
  postgresSeconds: number;
  temporalSeconds: number;
  temporalStarters: number;
  leverRate: number;
  leverDuration: number;
  leverBatchSizes: number[];
  leverRunWindows: number[];
  connections: number;
  drainTimeout: number;
  workerEnv: Record<string, string>;
  apiEnv: Record<string, string>;
  outDir: string;
  dataRoot: string | undefined;
  keepData: boolean;
  pgStatements: boolean;
  maxLoad: number;
  waitForQuiet: number;
}

export const USAGE = `Usage: ./scripts/bench.sh [options]

Boots a throw-away stack (embedded Postgres + Temporal dev server on SQLite in a temp dir, API and worker
as child processes) unless BENCH_API_URL, BENCH_ADMIN_KEY, DATABASE_URL and TEMPORAL_ADDRESS name a
running one; drives it from a separate load-generator process and prints a JSON report (also written
to bench-results/<timestamp>.json).

  --quick                    ~10 s phases and short ceilings (a smoke run of everything)
  --only a,b,…               sections: ${SECTIONS.join(', ')} (default: all but levers)
  --levers                   also run the levers: batch size, worker concurrency, run window
  --rate N                   sustained phase offered events/s (default 20000)
  --batch-size N             sustained and webhook phases' events per request (default 500)
  --duration S               sustained phase seconds (default 60; --quick 10)
  --single-rate N            single-event phase requests/s, one event each (default 2000)
  --single-duration S        (default 30; --quick 10)
  --fixed-rate N             latency phase events/s (default 5000)
  --fixed-batch-size N       latency phase events per request (default 100)
  --fixed-duration S         latency phase seconds (default 30; --quick 10)
  --webhook-rate N           webhook phase events/s, one endpoint receiving every event (default 7500)
  --webhook-duration S       (default 30; --quick 10)
  --naive-seconds S          naive one-workflow-per-event starts (default 15; --quick 8)
  --naive-concurrency N      concurrent starters (default 64)
  --postgres-seconds S       each raw insert measurement (default 10; --quick 4)
  --temporal-seconds S       no-op workflow starts (default 15; --quick 6)
  --temporal-starters N      (default 64)
  --lever-rate N             offered events/s in the lever runs (default: --rate)
  --lever-duration S         (default 20; --quick 8)
  --lever-batch-sizes a,b,c  (default 100,500,1000; 2,000 of the ~490-byte benchmark events exceed the
                             API's 512 KiB body limit, so such a size is reported as not fitting)
  --lever-run-windows a,b    INGEST_RUN_WINDOW_MS values (how long acceptance waits to fill a run) at
                             --single-rate single-event requests (default 0,10,50,200)
  --connections N            load generator keep-alive connections (default 64)
  --drain-timeout S          give up waiting for the backlog after S (default 900)
  --worker-env K=V           extra worker environment (repeatable), e.g. WORKER_MAX_CONCURRENT_ACTIVITIES=200
  --api-env K=V              extra API environment (repeatable)
  --out DIR                  where the JSON report goes (default bench-results)
  --data-root DIR            parent of the stack's temp dir (default: the OS temp dir)
  --keep-data                keep the temp dir (Postgres cluster, Temporal SQLite file, service logs)
  --pg-statements            load pg_stat_statements and report each phase's costliest statements (diagnosis)
  --max-load L               wait (up to --wait-for-quiet s) until the 1-min load average is below L (default 1.5)
  --wait-for-quiet S         (default 600; 0 = do not wait, just record the load)
`;

export function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return value;
}

function nonNegativeInteger(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} takes whole numbers ≥ 0, got "${raw}"`);
  return value;
}

function keyValues(name: string, pairs: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--${name} takes KEY=VALUE, got "${pair}"`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      only: { type: 'string' },
      levers: { type: 'boolean' },
      rate: { type: 'string' },
      'batch-size': { type: 'string' },
      duration: { type: 'string' },
      'single-rate': { type: 'string' },
      'single-duration': { type: 'string' },
      'fixed-rate': { type: 'string' },
      'fixed-batch-size': { type: 'string' },
      'fixed-duration': { type: 'string' },
      'webhook-rate': { type: 'string' },
      'webhook-duration': { type: 'string' },
      'naive-seconds': { type: 'string' },
      'naive-concurrency': { type: 'string' },
      'postgres-seconds': { type: 'string' },
      'temporal-seconds': { type: 'string' },
      'temporal-starters': { type: 'string' },
      'lever-rate': { type: 'string' },
      'lever-duration': { type: 'string' },
      'lever-batch-sizes': { type: 'string' },
      'lever-run-windows': { type: 'string' },
      connections: { type: 'string' },
      'drain-timeout': { type: 'string' },
      'worker-env': { type: 'string', multiple: true },
      'api-env': { type: 'string', multiple: true },
      out: { type: 'string' },
      'data-root': { type: 'string' },
      'keep-data': { type: 'boolean' },
      'pg-statements': { type: 'boolean' },
      'max-load': { type: 'string' },
      'wait-for-quiet': { type: 'string' },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  let sections = new Set<Section>(SECTIONS.filter((section) => section !== 'levers'));
  if (values.only) {
    const chosen = values.only.split(',').map((item) => item.trim()).filter(Boolean);
    const unknown = chosen.filter((item) => !(SECTIONS as readonly string[]).includes(item));
    if (unknown.length > 0) throw new Error(`--only: unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}`);
    sections = new Set(chosen as Section[]);
  }
  if (values.levers) sections.add('levers');
  const rate = positive('rate', values.rate, 20_000);
  const batchSizes = (values['lever-batch-sizes'] ?? '100,500,1000').split(',').map((item) => positive('lever-batch-sizes', item, 0));
  const batchSize = positive('batch-size', values['batch-size'], 500);
  const fixedBatchSize = positive('fixed-batch-size', values['fixed-batch-size'], 100);
  for (const size of [batchSize, fixedBatchSize, ...batchSizes]) {
    if (size > 2_000 || !Number.isInteger(size)) throw new Error(`batch sizes must be whole numbers up to 2000 (the API's limit), got ${size}`);
  }
  return {
    quick,
    sections,
    rate,
    batchSize,
    duration: positive('duration', values.duration, quick ? 10 : 60),
    singleRate: positive('single-rate', values['single-rate'], 2_000),
    singleDuration: positive('single-duration', values['single-duration'], quick ? 10 : 30),
    fixedRate: positive('fixed-rate', values['fixed-rate'], 5_000),
    fixedBatchSize,
    fixedDuration: positive('fixed-duration', values['fixed-duration'], quick ? 10 : 30),
    webhookRate: positive('webhook-rate', values['webhook-rate'], 7_500),
    webhookDuration: positive('webhook-duration', values['webhook-duration'], quick ? 10 : 30),
    naiveSeconds: positive('naive-seconds', values['naive-seconds'], quick ? 8 : 15),
    naiveConcurrency: positive('naive-concurrency', values['naive-concurrency'], 64),
    postgresSeconds: positive('postgres-seconds', values['postgres-seconds'], quick ? 4 : 10),
    temporalSeconds: positive('temporal-seconds', values['temporal-seconds'], quick ? 6 : 15),
    temporalStarters: positive('temporal-starters', values['temporal-starters'], 64),
    leverRate: positive('lever-rate', values['lever-rate'], rate),
    leverDuration: positive('lever-duration', values['lever-duration'], quick ? 8 : 20),
    leverBatchSizes: batchSizes,
    leverRunWindows: (values['lever-run-windows'] ?? '0,10,50,200').split(',').map((item) => nonNegativeInteger('lever-run-windows', item)),
    connections: positive('connections', values.connections, 64),
    drainTimeout: positive('drain-timeout', values['drain-timeout'], 900),
    workerEnv: keyValues('worker-env', values['worker-env']),
    apiEnv: keyValues('api-env', values['api-env']),
    outDir: values.out ?? 'bench-results',
    dataRoot: values['data-root'],
    keepData: values['keep-data'] === true,
    pgStatements: values['pg-statements'] === true,
    maxLoad: positive('max-load', values['max-load'], 1.5),
    waitForQuiet: values['wait-for-quiet'] === undefined ? 600 : Number(values['wait-for-quiet']),
  };
}

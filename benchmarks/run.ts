// EventFlow's throughput and latency benchmark (`./scripts/bench.sh`, options: --help).
//
// Boots the stack (or attaches to a running one), then measures side by side on the same machine:
//   (a) the raw Postgres insert ceiling for EventFlow's rows,
//   (b) the Temporal dev server's no-op workflow ceiling,
//   (c) the naive design: one processBatch workflow per event,
//   (d) EventFlow's batched path over real HTTP: a fixed 5,000 events/s latency phase, a sustained phase
//       at the highest rate, and a webhook phase with a local receiver,
// with the CPU and memory of every process behind each number, the issue's targets as pass/fail, and
// the durability each number stands for. The JSON report goes to stdout and bench-results/.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { MAX_BODY_BYTES } from '../src/api/middleware/json-body.ts';
import { REPO_ROOT } from '../src/dev/dev-env.ts';
import { delay } from '../src/dev/process.ts';
import { createBenchProject } from './api-client.ts';
import { batchBodyTemplate } from './events.ts';
import { forkChild, type BenchChild } from './children.ts';
import { driveNaiveStarts } from './naive.ts';
import { parseOptions, USAGE, type BenchOptions, type Section } from './options.ts';
import { runPhase, type PhaseContext, type PhaseResult, type PhaseSpec } from './phase.ts';
import { measurePostgresCeiling, type PostgresCeiling } from './postgres-ceiling.ts';
import { cpuMicrosPer, loadAverage, ProcessMonitor, round, type TrackedProcess } from './proc-stats.ts';
import { bottleneck, compare, DURABILITY, evaluateTargets, type NaiveResult } from './report.ts';
import { openStack, type BenchStack } from './stack.ts';
import { lossCheck, storedStats, waitForStored } from './stored.ts';
import { driveNoopWorkflows, type TemporalCeiling } from './temporal-ceiling.ts';

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

// Worker settings compared in the lever runs; the middle one is the shipped default (src/config.ts).
const WORKER_LEVERS: Array<Record<string, string>> = [
  { WORKER_MAX_CONCURRENT_ACTIVITIES: '20', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '10' },
  { WORKER_MAX_CONCURRENT_ACTIVITIES: '100', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '40' },
  { WORKER_MAX_CONCURRENT_ACTIVITIES: '400', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '200' },
];

async function waitForQuietMachine(options: BenchOptions): Promise<number[]> {
  const deadline = Date.now() + options.waitForQuiet * 1000;
  let load = loadAverage();
  while (load[0]! >= options.maxLoad && Date.now() < deadline) {
    log(`1-min load average ${load[0]} >= ${options.maxLoad}: waiting for a quieter machine (up to ${Math.round((deadline - Date.now()) / 1000)} s more)`);
    await delay(15_000);
    load = loadAverage();
  }
  if (load[0]! >= options.maxLoad) log(`load average still ${load[0]}: running anyway; the report records it`);
  return load;
}

function filesystemOf(path: string): string {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields.length >= 3 && path.startsWith(fields[1]!))
    .sort((a, b) => b[1]!.length - a[1]!.length);
  const mount = mounts[0];
  return mount ? `${mount[2]} (${mount[0]} mounted on ${mount[1]})` : 'unknown';
}

function commandLine(pid: number | undefined): string[] | undefined {
  if (!pid) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

function flagValues(argv: string[] | undefined, flag: string): string[] {
  if (!argv) return [];
  return argv.flatMap((arg, index) => (arg === flag && argv[index + 1] ? [argv[index + 1]!] : []));
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

async function durability(stack: BenchStack, db: pg.Pool) {
  const temporalPid = stack.processes().find((process) => process.name === 'temporal')?.pid;
  const argv = commandLine(temporalPid);
  const pragmas = flagValues(argv, '--sqlite-pragma');
  const dbFile = flagValues(argv, '--db-filename')[0];
  const setting = async (name: string) => (await db.query(`SHOW ${name}`)).rows[0][name] as string;
  const fsync = await setting('fsync');
  const synchronousCommit = await setting('synchronous_commit');
  return {
    accepted202:
      `at the 202 the request's events are committed to Postgres (ingest_requests, group-committed with concurrent ` +
      `requests) with fsync=${fsync}, synchronous_commit=${synchronousCommit}` +
      (fsync === 'on' && synchronousCommit === 'on' ? ': survives an OS crash or power loss. ' : '. ') +
      'A run is started for them afterwards (by reference); its start is committed to the Temporal dev server\'s SQLite ' +
      `(${pragmas.map((pragma) => `--sqlite-pragma ${pragma}`).join(' ')}); a start lost there is made again from Postgres.`,
    ingestTables: await ingestTableSizes(db),
    temporalServerCommandLine: argv,
    temporalDataFilesystem: dbFile ? filesystemOf(resolve(dbFile)) : undefined,
    stored:
      `stored = committed by Postgres with fsync=${fsync}, synchronous_commit=${synchronousCommit}` +
      (fsync === 'on' && synchronousCommit === 'on' ? ': survives an OS crash or power loss as well.' : ': see these settings.'),
    postgresDataFilesystem: stack.dataDir ? filesystemOf(stack.dataDir) : undefined,
    webhookDelivered: 'delivered = the receiver answered 200 to the first attempt; deliveries are at-least-once (a retried dispatch re-sends with the same webhook-id).',
  };
}

/** What acceptance leaves behind: processed requests are deleted with their run, so these stay small. */
async function ingestTableSizes(db: pg.Pool) {
  const { rows } = await db.query<{ relation: string; rows: string; total_bytes: string }>(
    `SELECT relname AS relation, n_live_tup AS rows, pg_total_relation_size(relid) AS total_bytes
       FROM pg_stat_user_tables WHERE relname IN ('ingest_requests', 'ingest_runs', 'events') ORDER BY relname`,
  );
  return Object.fromEntries(rows.map((row) => [row.relation, { liveRows: Number(row.rows), totalBytes: Number(row.total_bytes) }]));
}

function summarizePhase(phase: PhaseResult) {
  return {
    durability: { accepted: DURABILITY.accepted, stored: DURABILITY.stored, ...(phase.webhook ? { delivered: DURABILITY.delivered } : {}) },
    ...phase,
    bottleneckDuringLoad: bottleneck(phase.usageDuringLoad),
    bottleneckDuringDrain: phase.drain.backlogDrainSeconds >= 2 ? bottleneck(phase.usageDuringDrain) : undefined,
  };
}

/** The phase's headline numbers, for the lever tables. */
function leverRow(phase: PhaseResult) {
  return {
    batchSize: phase.spec.batchSize,
    requestBytes: requestBytes(phase.spec.batchSize),
    offeredPerSecond: phase.spec.eventsPerSecond,
    acceptedPerSecond: phase.acceptedPerSecond,
    failedRequests: Object.values(phase.load.failures).reduce((sum, count) => sum + count, 0),
    aborted: phase.load.aborted,
    acceptLatencyMs: { p50: phase.load.latencyMs.p50, p99: phase.load.latencyMs.p99 },
    storedPerSecond: phase.stored?.storedPerSecond,
    medianStoredPerSecondDuringLoad: phase.stored?.medianStoredPerSecondDuringLoad,
    acceptToStoredMs: phase.stored?.latencyMs,
    backlogDrainSeconds: phase.drain.backlogDrainSeconds,
    lossOk: phase.loss?.ok,
    historyBytesPerBatch: phase.history?.historyBytes,
    historyBytesPerEvent: phase.history?.historyBytesPerEvent,
    temporalDbGrowthBytesPerEvent: phase.temporalDbGrowthBytesPerEvent,
    postgres: phase.postgres,
    cpuMicrosPerEvent: phase.cpuMicrosPerEvent,
    cpuBoundEventsPerSecond: phase.cpuBoundEventsPerSecond,
    cores: Object.fromEntries(Object.entries(phase.usageDuringLoad.processes).map(([name, use]) => [name, use.cores])),
    mainThreadCores: Object.fromEntries(
      Object.entries(phase.usageDuringLoad.processes)
        .filter(([name]) => ['api', 'worker'].includes(name))
        .map(([name, use]) => [name, use.mainThreadCores]),
    ),
    machineBusyShare: phase.usageDuringLoad.machineBusyShare,
    bottleneck: bottleneck(phase.usageDuringLoad).verdict,
  };
}

/**
 * A few seconds of light traffic before anything is measured: the API, the worker and their connection
 * pools warm up, and `events` gets rows and statistics, as on any database that has been running a while.
 */
async function warmUp(ctx: PhaseContext): Promise<{ acceptedPerSecond: number; storedPerSecond: number | undefined }> {
  const result = await runPhase(ctx, { name: 'warm-up', eventsPerSecond: 1_000, batchSize: 100, durationSeconds: 3, webhook: false });
  return { acceptedPerSecond: result.acceptedPerSecond, storedPerSecond: result.stored?.storedPerSecond };
}

/** The numbers side by side, for the terminal (the JSON has everything). */
function headline(report: {
  ceilings: { postgres?: PostgresCeiling; temporal?: TemporalCeiling };
  eventflow: { fixedRate?: PhaseResult; sustained?: PhaseResult; webhook?: PhaseResult };
  naive?: NaiveResult;
  comparison: ReturnType<typeof compare>;
}): string[] {
  const lines: string[] = [];
  const { postgres, temporal } = report.ceilings;
  if (postgres) {
    lines.push(`(a) Postgres ceiling: unnest x2 ${postgres.unnest.rowsPerSecond} rows/s, COPY ${postgres.copy.map((copy) => `${copy.rowsPerSecond}/s on ${copy.connections}`).join(', ')}`);
  }
  if (temporal) {
    lines.push(`(b) Temporal no-op: ${temporal.startsPerSecond} starts/s, ${temporal.completedPerSecondOverall} completed/s, closed loop ${temporal.startedAndCompletedPerSecond}/s`);
  }
  if (report.naive?.stored) lines.push(`(c) naive: ${report.naive.load.startsPerSecond} starts/s, ${report.naive.stored.storedPerSecond} events stored/s`);
  for (const [label, phase] of Object.entries(report.eventflow)) {
    if (!phase) continue;
    lines.push(
      `(d) ${label}: offered ${phase.spec.eventsPerSecond}/s x${phase.spec.batchSize}, accepted ${phase.acceptedPerSecond}/s, ` +
        `accept p50/p95/p99 ${phase.load.latencyMs.p50}/${phase.load.latencyMs.p95}/${phase.load.latencyMs.p99} ms, ` +
        `stored ${phase.stored?.storedPerSecond}/s, accept->stored p50/p95/p99 ${phase.stored?.latencyMs.p50}/${phase.stored?.latencyMs.p95}/${phase.stored?.latencyMs.p99} ms, ` +
        `drain ${phase.drain.backlogDrainSeconds} s, loss ${phase.loss?.ok ? 'none' : JSON.stringify(phase.loss)}` +
        (phase.webhook ? `, webhooks ${phase.webhook.deliveriesPerSecond}/s p50/p95/p99 ${phase.webhook.latencyMs.p50}/${phase.webhook.latencyMs.p95}/${phase.webhook.latencyMs.p99} ms` : '') +
        `; CPU us/event ${JSON.stringify(phase.cpuMicrosPerEvent)} (CPU-bound rate ${phase.cpuBoundEventsPerSecond}/s); ${bottleneck(phase.usageDuringLoad).verdict}`,
    );
  }
  lines.push(`ratios: ${JSON.stringify(report.comparison)}`);
  return lines;
}

function requestBytes(batchSize: number): number {
  return Buffer.byteLength(batchBodyTemplate(batchSize)(Date.now()));
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const options = parsed;
  for (const [flag, size] of [['--batch-size', options.batchSize], ['--fixed-batch-size', options.fixedBatchSize]] as const) {
    if (requestBytes(size) > MAX_BODY_BYTES) {
      throw new Error(`${flag} ${size}: ${requestBytes(size)} bytes per request, over the API's ${MAX_BODY_BYTES}-byte body limit`);
    }
  }
  const startedAt = new Date();
  const loadAtStart = options.waitForQuiet > 0 ? await waitForQuietMachine(options) : loadAverage();
  log(`load average at start: ${loadAtStart.join(' ')}; sections: ${[...options.sections].join(', ')}`);

  const scratchDir = await mkdtemp(join(options.dataRoot ? resolve(options.dataRoot) : tmpdir(), 'eventflow-bench-run-'));
  const stack = await openStack({ dataRoot: options.dataRoot, keepData: options.keepData, pgStatStatements: options.pgStatements, workerEnv: options.workerEnv, apiEnv: options.apiEnv, log });
  const monitor = new ProcessMonitor(1_000);
  const db = new pg.Pool({ connectionString: stack.databaseUrl, max: 4 });
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection, namespace: stack.namespace });
  let receiver: BenchChild | undefined;
  let receiverUrl: string | undefined;
  const extra: TrackedProcess[] = [{ name: 'bench', pid: process.pid }];
  const tracked = () => [...stack.processes(), ...extra];
  monitor.track(tracked());
  monitor.start();
  stopOnSignal = async () => {
    // The stack first: stopping Postgres (fast shutdown) also ends any query this process is waiting on.
    await stack.stop();
    await receiver?.stop();
    void connection.close().catch(() => undefined);
    void db.end().catch(() => undefined);
    await rm(scratchDir, { recursive: true, force: true });
  };

  const results: {
    postgres?: PostgresCeiling & { postgresCpuMicrosPerRow: number | undefined; usage: ReturnType<ProcessMonitor['usageSince']> };
    temporal?: TemporalCeiling & { usage: ReturnType<ProcessMonitor['usageSince']> };
    single?: PhaseResult;
    fixed?: PhaseResult;
    sustained?: PhaseResult;
    webhook?: PhaseResult;
    naive?: NaiveResult;
    levers?: {
      batchSize: Array<ReturnType<typeof leverRow> | { batchSize: number; skipped: string }>;
      workerConcurrency: Array<{ env: Record<string, string> } & ReturnType<typeof leverRow>>;
      runWindow: Array<{ runWindowMs: number } & ReturnType<typeof leverRow>>;
    };
    warmUp?: Awaited<ReturnType<typeof warmUp>>;
    errors: Record<string, string>;
  } = { errors: {} };

  // One failed section is reported and the rest still run.
  async function section(name: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      log(`section ${name} failed: ${(error as Error).stack ?? String(error)}`);
      results.errors[name] = (error as Error).message;
    }
  }

  try {
    if (options.sections.has('webhook')) {
      if (stack.allowsLocalWebhooks === undefined) {
        log('attached stack: the webhook phase needs WEBHOOK_ALLOWED_PRIVATE_TARGETS=127.0.0.1 in the API and worker');
      }
      receiver = forkChild('./receiver.ts', [], join(scratchDir, 'receiver.log'));
      receiverUrl = (await receiver.next<{ url: string }>('listening', 15_000)).url;
      extra.push({ name: 'receiver', pid: receiver.pid });
      monitor.track(tracked());
    }
    const ctx: PhaseContext = {
      stack,
      monitor,
      db,
      client,
      scratchDir,
      receiver,
      receiverUrl,
      connections: options.connections,
      drainTimeoutSeconds: options.drainTimeout,
      stallSeconds: 120,
      tracked,
      log,
    };

    const needsWarmUp = ['single', 'fixed', 'sustained', 'webhook', 'naive', 'levers'].some((name) => options.sections.has(name as Section));
    if (needsWarmUp) {
      await section('warm-up', async () => {
        log('warm-up: 3 s at 1,000 events/s (not reported as a result)');
        results.warmUp = await warmUp(ctx);
      });
    }

    if (options.sections.has('postgres')) {
      await section('postgres', async () => {
        const project = await createBenchProject(stack.apiUrl, stack.rootKey, 'bench postgres ceiling');
        const mark = monitor.mark();
        const ceiling = await measurePostgresCeiling(stack.databaseUrl, project.id, options.postgresSeconds, log);
        const usage = monitor.usageSince(mark);
        const rows = ceiling.unnest.rows + ceiling.copy.reduce((sum, copy) => sum + copy.rows, 0);
        results.postgres = { ...ceiling, postgresCpuMicrosPerRow: cpuMicrosPer(rows, usage).postgres, usage };
        log(`(a) unnest x2: ${ceiling.unnest.rowsPerSecond} rows/s; COPY: ${ceiling.copy.map((copy) => `${copy.rowsPerSecond} rows/s on ${copy.connections}`).join(', ')}`);
      });
    }

    if (options.sections.has('temporal')) {
      await section('temporal', async () => {
        const runId = `${Date.now().toString(36)}`;
        const taskQueue = `bench-noop-${runId}`;
        const worker = forkChild('./noop-worker.ts', [stack.temporalAddress, stack.namespace, taskQueue], join(scratchDir, 'noop-worker.log'));
        try {
          await worker.next('ready', 120_000);
          extra.push({ name: 'noop-worker', pid: worker.pid });
          monitor.track(tracked());
          log(`(b) Temporal ceiling: no-op workflows, ${options.temporalStarters} concurrent starters for ${options.temporalSeconds} s`);
          const mark = monitor.mark();
          const ceiling = await driveNoopWorkflows({ client, taskQueue, starters: options.temporalStarters, seconds: options.temporalSeconds, runId });
          results.temporal = { ...ceiling, usage: monitor.usageSince(mark) };
          log(`(b) ${ceiling.startsPerSecond} starts/s, ${ceiling.completedPerSecondOverall} completed/s overall`);
        } finally {
          await worker.stop();
          extra.splice(extra.findIndex((process) => process.name === 'noop-worker'), 1);
          monitor.track(tracked());
        }
      });
    }

    const phase = async (key: 'single' | 'fixed' | 'sustained' | 'webhook', spec: PhaseSpec) =>
      section(key, async () => {
        const result = await runPhase(ctx, spec);
        results[key] = result;
        log(
          `(d) ${spec.name}: accepted ${result.acceptedPerSecond}/s, accept p99 ${result.load.latencyMs.p99} ms, stored ${result.stored?.storedPerSecond}/s, ` +
            `accept->stored p95 ${result.stored?.latencyMs.p95} ms, drain ${result.drain.backlogDrainSeconds} s, loss ok ${result.loss?.ok}` +
            (result.webhook ? `, webhooks ${result.webhook.deliveriesPerSecond}/s` : ''),
        );
      });
    if (options.sections.has('single')) {
      await phase('single', { name: 'single-event', eventsPerSecond: options.singleRate, batchSize: 1, durationSeconds: options.singleDuration, webhook: false, history: true });
    }
    if (options.sections.has('fixed')) {
      await phase('fixed', { name: 'fixed-rate', eventsPerSecond: options.fixedRate, batchSize: options.fixedBatchSize, durationSeconds: options.fixedDuration, webhook: false, history: true });
    }
    if (options.sections.has('naive')) {
      await section('naive', async () => {
        const project = await createBenchProject(stack.apiUrl, stack.rootKey, 'bench naive');
        const idsFile = join(scratchDir, 'naive.ids');
        log(`(c) naive: one processBatch workflow per event, ${options.naiveConcurrency} concurrent starters for ${options.naiveSeconds} s`);
        const mark = monitor.mark();
        const load = await driveNaiveStarts({ client, taskQueue: stack.taskQueue, projectId: project.id, seconds: options.naiveSeconds, concurrency: options.naiveConcurrency, idsFile });
        await waitForStored(db, project.id, { events: load.started, batches: load.started }, { timeoutSeconds: options.drainTimeout, stallSeconds: 120, log });
        const usage = monitor.usageSince(mark);
        const stored = load.started > 0 ? await storedStats(db, project.id, load.startedAtMs, load.finishedAtMs) : undefined;
        const loss = load.started > 0 ? await lossCheck(db, project.id, idsFile) : undefined;
        // This process drives the naive load (and polls Postgres); like the receiver it is not counted.
        results.naive = { load, stored, loss, cpuMicrosPerEvent: cpuMicrosPer(stored?.stored ?? 0, usage), usage };
        log(`(c) naive: ${load.startsPerSecond} starts/s, ${stored?.storedPerSecond} stored/s`);
      });
    }

    if (options.sections.has('sustained')) {
      await phase('sustained', { name: 'sustained', eventsPerSecond: options.rate, batchSize: options.batchSize, durationSeconds: options.duration, webhook: false, history: true });
    }
    if (options.sections.has('webhook')) {
      await phase('webhook', { name: 'webhook', eventsPerSecond: options.webhookRate, batchSize: options.batchSize, durationSeconds: options.webhookDuration, webhook: true });
    }

    if (options.sections.has('levers')) {
      await section('levers', async () => {
        // Each lever run gets a stack of its own: Temporal's SQLite file and the events table grow with
        // every run, and a run on a bigger database costs more per event, which would favour whichever
        // setting ran first. Attached to a running stack, only the batch size can be varied.
        const fresh = async (workerEnv: Record<string, string>, spec: PhaseSpec, apiEnv: Record<string, string> = {}): Promise<PhaseResult> => {
          if (stack.mode === 'attached') return runPhase(ctx, spec);
          const leverStack = await openStack({ dataRoot: options.dataRoot, pgStatStatements: options.pgStatements, workerEnv: { ...options.workerEnv, ...workerEnv }, apiEnv: { ...options.apiEnv, ...apiEnv }, log });
          const leverDb = new pg.Pool({ connectionString: leverStack.databaseUrl, max: 4 });
          const leverConnection = await Connection.connect({ address: leverStack.temporalAddress });
          const leverTracked = () => [...leverStack.processes(), ...extra];
          try {
            const leverCtx: PhaseContext = {
              ...ctx,
              stack: leverStack,
              db: leverDb,
              client: new Client({ connection: leverConnection, namespace: leverStack.namespace }),
              tracked: leverTracked,
            };
            await warmUp(leverCtx);
            return await runPhase(leverCtx, spec);
          } finally {
            await leverConnection.close();
            await leverDb.end();
            await leverStack.stop();
            monitor.track(tracked());
          }
        };
        const batchSize: Array<ReturnType<typeof leverRow> | { batchSize: number; skipped: string }> = [];
        for (const size of options.leverBatchSizes) {
          const bodyBytes = requestBytes(size);
          if (bodyBytes > MAX_BODY_BYTES) {
            batchSize.push({ batchSize: size, skipped: `a request of ${size} benchmark events is ${bodyBytes} bytes, over the API's ${MAX_BODY_BYTES}-byte body limit (413)` });
            log(`lever batch ${size}: skipped, ${bodyBytes} bytes per request > ${MAX_BODY_BYTES}`);
            continue;
          }
          const result = await fresh({}, { name: `lever-batch-${size}`, eventsPerSecond: options.leverRate, batchSize: size, durationSeconds: options.leverDuration, webhook: false, history: true });
          batchSize.push(leverRow(result));
          log(`lever batch ${size}: ${JSON.stringify(leverRow(result))}`);
        }
        const workerConcurrency = [];
        if (stack.mode === 'booted') {
          for (const env of WORKER_LEVERS) {
            const name = `lever-worker-${env.WORKER_MAX_CONCURRENT_ACTIVITIES}-${env.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS}`;
            const result = await fresh(env, { name, eventsPerSecond: options.leverRate, batchSize: options.batchSize, durationSeconds: options.leverDuration, webhook: false });
            workerConcurrency.push({ env, ...leverRow(result) });
            log(`lever worker ${JSON.stringify(env)}: ${JSON.stringify(leverRow(result))}`);
          }
        } else {
          log('attached stack: its worker cannot be reconfigured from here, so the worker-concurrency lever is skipped');
        }
        // How long acceptance waits to fill a run, at the single-event phase's request rate.
        const runWindow = [];
        if (stack.mode === 'booted') {
          for (const windowMs of options.leverRunWindows) {
            const env = { INGEST_RUN_WINDOW_MS: String(windowMs) };
            const spec = { name: `lever-run-window-${windowMs}`, eventsPerSecond: options.singleRate, batchSize: 1, durationSeconds: options.leverDuration, webhook: false };
            const result = await fresh({}, spec, env);
            runWindow.push({ runWindowMs: windowMs, ...leverRow(result) });
            log(`lever run window ${windowMs} ms: ${JSON.stringify(leverRow(result))}`);
          }
        } else {
          log('attached stack: its API cannot be reconfigured from here, so the run-window lever is skipped');
        }
        results.levers = { batchSize, workerConcurrency, runWindow };
      });
    }
  } finally {
    monitor.stop();
    const notes = await durability(stack, db).catch((error: unknown) => ({ error: String(error) }));
    await receiver?.stop();
    await connection.close();
    await db.end();
    log('stopping the stack');
    await stack.stop();
    await rm(scratchDir, { recursive: true, force: true });

    const report = {
      meta: {
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        mode: stack.mode,
        quick: options.quick,
        gitCommit: gitCommit(),
        node: process.version,
        machine: { cores: availableParallelism(), cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30, 1) },
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadAverage(),
        options: { ...options, sections: [...options.sections] },
        dataDir: options.keepData ? stack.dataDir : undefined,
        warmUp: results.warmUp,
      },
      durability: notes,
      targets: evaluateTargets({ quick: options.quick, single: results.single, fixed: results.fixed, sustained: results.sustained, webhook: results.webhook, naive: results.naive }),
      comparison: compare(results.postgres, results.temporal, results.naive, results.sustained),
      ceilings: {
        postgres: results.postgres && {
          durability: DURABILITY.stored.replace('stored', 'rows'),
          ...results.postgres,
          bottleneck: bottleneck(results.postgres.usage),
        },
        temporal: results.temporal && {
          durability: 'a start/completion is committed to the same SQLite file as EventFlow\'s (WAL, synchronous=NORMAL)',
          ...results.temporal,
          bottleneck: bottleneck(results.temporal.usage),
        },
      },
      eventflow: {
        singleEvent: results.single && summarizePhase(results.single),
        fixedRate: results.fixed && summarizePhase(results.fixed),
        sustained: results.sustained && summarizePhase(results.sustained),
        webhook: results.webhook && summarizePhase(results.webhook),
      },
      naive: results.naive && {
        durability: 'started = workflow start committed to Temporal\'s SQLite, as at the 202; ' + DURABILITY.stored,
        ...results.naive,
        bottleneck: bottleneck(results.naive.usage),
      },
      levers: results.levers,
      errors: results.errors,
    };
    const outDir = resolve(REPO_ROOT, options.outDir);
    await mkdir(outDir, { recursive: true });
    const file = join(outDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    log(`report written to ${file}`);
    for (const line of headline(report)) log(line);
    for (const verdict of report.targets) {
      log(`${verdict.pass === true ? 'PASS' : verdict.pass === false ? 'FAIL' : ' n/a'}  ${verdict.target}: ${verdict.measured}${verdict.note ? ` (${verdict.note})` : ''}`);
      if (verdict.boundBy) log(`      bound by: ${verdict.boundBy}`);
    }
  }
}

// Ctrl-C: stop the stack cleanly (a second one forces). Either way the exit hooks of stack.ts,
// children.ts and src/dev/process.ts signal every process this run started.
let stopOnSignal: (() => Promise<void>) | undefined;
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted || !stopOnSignal) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping the stack (again to force)`);
    const forced = setTimeout(() => process.exit(130), 60_000);
    void stopOnSignal().finally(() => {
      clearTimeout(forced);
      process.exit(130);
    });
  });
}

await main().catch((error: unknown) => {
  log(`benchmark failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});

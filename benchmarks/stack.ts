import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import pg from 'pg';
import { createDatabase, migrateToLatest } from '../src/db/connection.ts';
import { REPO_ROOT } from '../src/dev/dev-env.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/dev/embedded-postgres.ts';
import { getFreePort, waitUntil } from '../src/dev/process.ts';
import { startTemporalDevServer, type TemporalDevServer } from '../temporal/dev-server.ts';
import { pino } from 'pino';
import { pidsByCommandLine, pidsListeningOn, type TrackedProcess } from './proc-stats.ts';

// The stack under test: booted here (embedded Postgres and a Temporal dev server persisting to SQLite,
// both in a temp dir; the API and the worker as child processes, started as in the Dockerfile), or the
// running one named by BENCH_API_URL + BENCH_ADMIN_KEY + DATABASE_URL + TEMPORAL_ADDRESS.

const TELEMETRY_PRELOAD = './src/telemetry/instrumentation.ts';
const SERVICE_STOP_GRACE_MS = 20_000;
const { TaskQueueType } = proto.temporal.api.enums.v1;

export interface BenchStack {
  mode: 'booted' | 'attached';
  apiUrl: string;
  /** Root admin key: creates the benchmark's projects. */
  rootKey: string;
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  /** Temp dir holding Postgres' cluster, Temporal's SQLite file and the services' logs (booted only). */
  dataDir: string | undefined;
  temporalDbFile: string | undefined;
  /** The four roles' pids as known right now (the worker's changes when it is restarted). */
  processes(): TrackedProcess[];
  /** pg_stat_statements is loaded (booted with --pg-statements): per-phase statement costs can be read. */
  pgStatStatements: boolean;
  /** Lets the receiver on 127.0.0.1 be a webhook target (false: the attached stack's own setting). */
  allowsLocalWebhooks: boolean | undefined;
  stop(): Promise<void>;
}

export interface BootOptions {
  /** Parent of the temp dir; defaults to the OS temp dir. */
  dataRoot?: string;
  keepData?: boolean;
  /** Load pg_stat_statements (one extra Postgres restart at boot) to see what each statement costs. */
  pgStatStatements?: boolean;
  workerEnv?: Record<string, string>;
  apiEnv?: Record<string, string>;
  log: (message: string) => void;
}

export async function openStack(options: BootOptions): Promise<BenchStack> {
  return process.env.BENCH_API_URL ? attachStack() : bootStack(options);
}

async function attachStack(): Promise<BenchStack> {
  const env = process.env;
  const missing = ['BENCH_API_URL', 'BENCH_ADMIN_KEY', 'DATABASE_URL', 'TEMPORAL_ADDRESS'].filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`attaching to a running stack needs ${missing.join(', ')}`);
  const apiUrl = env.BENCH_API_URL!.replace(/\/$/, '');
  const temporalAddress = env.TEMPORAL_ADDRESS!;
  const databaseUrl = env.DATABASE_URL!;
  const pids = discoverPids(apiUrl, temporalAddress, databaseUrl);
  return {
    mode: 'attached',
    apiUrl,
    rootKey: env.BENCH_ADMIN_KEY!,
    databaseUrl,
    temporalAddress,
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.TEMPORAL_TASK_QUEUE || 'eventflow',
    dataDir: undefined,
    temporalDbFile: undefined,
    processes: () => pids,
    pgStatStatements: false,
    allowsLocalWebhooks: undefined,
    async stop() {},
  };
}

/** BENCH_PIDS="api=1,worker=2,temporal=3,postgres=4", else found by listening port / command line. */
function discoverPids(apiUrl: string, temporalAddress: string, databaseUrl: string): TrackedProcess[] {
  if (process.env.BENCH_PIDS) {
    return process.env.BENCH_PIDS.split(',').map((pair) => {
      const [name, pid] = pair.split('=');
      return { name: name!.trim(), pid: Number(pid), tree: true };
    });
  }
  const found: TrackedProcess[] = [];
  const byPort = (name: string, port: number) => {
    const pid = pidsListeningOn(port)[0];
    if (pid) found.push({ name, pid, tree: true });
  };
  byPort('api', Number(new URL(apiUrl).port || 80));
  byPort('temporal', Number(temporalAddress.split(':').at(-1)));
  byPort('postgres', Number(new URL(databaseUrl).port || 5432));
  const worker = pidsByCommandLine(['src/worker/main.ts'])[0];
  if (worker) found.push({ name: 'worker', pid: worker });
  return found;
}

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

interface Service {
  child: ChildProcess;
  exited: Promise<void>;
}

const services = new Set<ChildProcess>();
// Whatever happens to this process, the services it started do not outlive it.
process.on('exit', () => {
  for (const child of services) child.kill('SIGKILL');
});

function startService(entry: string, env: Record<string, string>, logFile: string): Service {
  const fd = openSync(logFile, 'a');
  // Output straight to a file (not through this process): the benchmark's CPU stays its own.
  const child = spawn(process.execPath, ['--import', TELEMETRY_PRELOAD, entry], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  services.add(child);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  void exited.then(() => services.delete(child));
  return { child, exited };
}

async function stopService(service: Service): Promise<void> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return;
  service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.child.kill('SIGKILL'), SERVICE_STOP_GRACE_MS);
  await service.exited;
  clearTimeout(timer);
}

async function bootStack(options: BootOptions): Promise<BenchStack> {
  const dataDir = await mkdtemp(join(resolve(options.dataRoot ?? tmpdir()), 'eventflow-bench-'));
  // Postgres' and Temporal's own output goes to a file: stdout carries the JSON report only.
  const quiet = pino({ level: 'info', base: { service: 'bench-stack' } }, pino.destination({ dest: join(dataDir, 'infra.log'), sync: false }));
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch((error: unknown) => options.log(`stop failed: ${String(error)}`));
    stops.length = 0;
  };
  try {
    options.log(`booting the stack in ${dataDir}`);
    const [pgPort, temporalPort, apiPort, metricsPort, temporalMetricsPort] = await Promise.all(
      Array.from({ length: 5 }, () => getFreePort()),
    );
    // Postgres with its default durability (fsync on, synchronous_commit on): what production runs.
    const startPostgres = () =>
      startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), port: pgPort, logger: quiet.child({ component: 'postgres' }) });
    let postgres: EmbeddedPostgres = await startPostgres();
    if (options.pgStatStatements) {
      // A preloaded library needs a restart; the setting lives in the temp cluster only.
      await withClient(postgres.url, (client) => client.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`));
      await postgres.stop();
      postgres = await startPostgres();
      await withClient(postgres.url, (client) => client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'));
    }
    stops.push(() => postgres.stop());
    const temporalDbFile = join(dataDir, 'temporal.db');
    const temporal: TemporalDevServer = await startTemporalDevServer({
      dbFile: temporalDbFile,
      port: temporalPort,
      headless: true,
      namespace: 'default',
      logger: quiet.child({ component: 'temporal' }),
    });
    stops.push(() => temporal.stop());

    const db = createDatabase(postgres.url, 1);
    try {
      await migrateToLatest(db);
    } finally {
      await db.destroy();
    }

    const rootKey = `efk_bench_${randomBytes(24).toString('base64url')}`;
    const baseEnv: Record<string, string> = {
      ...(process.env as Record<string, string>),
      NODE_ENV: 'production',
      LOG_LEVEL: process.env.LOG_LEVEL || 'info',
      DATABASE_URL: postgres.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'eventflow',
      EVENTFLOW_ADMIN_KEY: rootKey,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      WORKER_METRICS_PORT: String(metricsPort),
      WORKER_TEMPORAL_METRICS_PORT: String(temporalMetricsPort),
      // The receiver listens on 127.0.0.1, which the SSRF guard refuses unless allowed.
      WEBHOOK_ALLOWED_PRIVATE_TARGETS: '127.0.0.1',
    };
    const apiEnv = { ...baseEnv, ...options.apiEnv };
    const workerEnv = { ...baseEnv, ...options.workerEnv };

    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const waitForWorker = (pid: number) =>
      waitUntil(
        async () => {
          const described = await connection.workflowService.describeTaskQueue({
            namespace: 'default',
            taskQueue: { name: 'eventflow' },
            taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
          });
          return described.pollers?.some((poller) => poller.identity?.startsWith(`${pid}@`)) ? true : undefined;
        },
        { what: `worker ${pid} polling`, timeoutMs: 120_000, intervalMs: 500, gaveUp: () => (worker.child.exitCode !== null ? 'the worker exited' : undefined) },
      );

    const worker = startService('src/worker/main.ts', workerEnv, join(dataDir, 'worker.log'));
    stops.push(() => stopService(worker));
    const api = startService('src/api/main.ts', apiEnv, join(dataDir, 'api.log'));
    stops.push(() => stopService(api));

    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitUntil(
      async () => ((await fetch(`${apiUrl}/ready`, { signal: AbortSignal.timeout(2_000) })).status === 200 ? true : undefined),
      { what: `API ready on ${apiUrl}`, timeoutMs: 120_000, intervalMs: 250, gaveUp: () => (api.child.exitCode !== null ? `the API exited; see ${dataDir}/api.log` : undefined) },
    );
    await waitForWorker(worker.child.pid!);
    const infraPids = {
      temporal: pidsListeningOn(temporalPort)[0],
      postgres: Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]),
    };
    options.log(`stack ready: API ${apiUrl}, Temporal ${temporal.address}, Postgres :${pgPort}`);

    if (!options.keepData) stops.unshift(() => rm(dataDir, { recursive: true, force: true }));
    return {
      mode: 'booted',
      apiUrl,
      rootKey,
      databaseUrl: postgres.url,
      temporalAddress: temporal.address,
      namespace: 'default',
      taskQueue: 'eventflow',
      dataDir,
      temporalDbFile,
      pgStatStatements: options.pgStatStatements === true,
      processes: () => [
        { name: 'api', pid: api.child.pid! },
        { name: 'worker', pid: worker.child.pid! },
        ...(infraPids.temporal ? [{ name: 'temporal', pid: infraPids.temporal, tree: true }] : []),
        { name: 'postgres', pid: infraPids.postgres, tree: true },
      ],
      allowsLocalWebhooks: true,
      stop,
    };
  } catch (error) {
    options.log(`boot failed; logs in ${dataDir}`);
    await stop();
    throw error;
  }
}

import { randomBytes, randomUUID } from 'node:crypto';
import { REPO_ROOT } from '../../src/dev/dev-env.ts';
import { getFreePort, hasExited, startManagedProcess, waitUntil, type ManagedProcess } from '../../src/dev/process.ts';
import { createLogger } from '../../src/logging.ts';

// The API and the worker as the dev stack runs them: two processes with the telemetry preload, against
// the harness's Postgres, Temporal, SMTP and Jaeger (its environment), on a task queue of their own.

const PRELOAD = './src/telemetry/instrumentation.ts';

export interface Services {
  apiUrl: string;
  /** The root admin key (EVENTFLOW_ADMIN_KEY) of this API. */
  adminKey: string;
  /** The worker's Prometheus endpoint. */
  workerMetricsUrl: string;
  api: ManagedProcess;
  worker: ManagedProcess;
  /** For waitUntil's gaveUp: why waiting is pointless (a service exited), or undefined. */
  died(): string | undefined;
}

export async function startServices(t: { after(fn: () => Promise<unknown>): void }, extraEnv: Record<string, string> = {}): Promise<Services> {
  const log = createLogger('services', process.env.LOG_LEVEL || 'warn');
  const [apiPort, metricsPort, temporalMetricsPort] = await Promise.all([getFreePort(), getFreePort(), getFreePort()]);
  const adminKey = `ef_test_${randomBytes(16).toString('hex')}`;
  const env = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    TEMPORAL_TASK_QUEUE: `services-${randomUUID()}`,
    EVENTFLOW_ADMIN_KEY: adminKey,
    WEBHOOK_ALLOWED_PRIVATE_TARGETS: '127.0.0.1',
    WORKER_METRICS_PORT: String(metricsPort),
    WORKER_TEMPORAL_METRICS_PORT: String(temporalMetricsPort),
    // Export within a fraction of a second instead of the default 5 s batching delay.
    OTEL_BSP_SCHEDULE_DELAY: '200',
    ...extraEnv,
  };
  const spawnService = (name: string, entry: string): ManagedProcess => {
    const service = startManagedProcess(process.execPath, ['--import', PRELOAD, entry], {
      cwd: REPO_ROOT,
      env: { ...env, OTEL_SERVICE_NAME: name },
      logger: log.child({ component: name }),
    });
    t.after(() => service.stop('SIGTERM', 15_000));
    return service;
  };
  const api = spawnService('eventflow-api', 'src/api/main.ts');
  const worker = spawnService('eventflow-worker', 'src/worker/main.ts');
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const workerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const died = (service: ManagedProcess) => () => (hasExited(service) ? `exited:\n${service.recentOutput()}` : undefined);
  await waitUntil(async () => ((await fetch(`${apiUrl}/health`)).ok ? true : undefined), { what: 'API', timeoutMs: 60_000, gaveUp: died(api) });
  await waitUntil(async () => ((await fetch(workerMetricsUrl)).ok ? true : undefined), { what: 'worker', timeoutMs: 60_000, gaveUp: died(worker) });
  return { apiUrl, adminKey, workerMetricsUrl, api, worker, died: () => died(api)() ?? died(worker)() };
}

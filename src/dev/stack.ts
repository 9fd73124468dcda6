// The dev launcher (`./scripts/dev.sh`): starts every backing service the environment does not
// provide, migrates, then runs the API and the worker until Ctrl-C. State lives in .data/, so a second
// run resumes where the first stopped.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDatabase, migrateToLatest } from '../db/connection.ts';
import { createLogger } from '../logging.ts';
import { ensureDashboardBuilt, HOT_RELOAD_PORT, startDashboardHotReload } from './dashboard.ts';
import { readDevEnv, REPO_ROOT } from './dev-env.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.ts';
import { startJaeger } from './jaeger.ts';
import { settleAll, startManagedProcess, waitUntil, type ManagedProcess } from './process.ts';
import { startSmtpCatcher } from './smtp-catcher.ts';
import { parseStackFlags, STACK_USAGE } from './stack-flags.ts';
import { claimStackLock, type StackLock } from './stack-lock.ts';
import { startTemporalDevServer } from '../../temporal/dev-server.ts';
import { startTemporalOnPostgres } from '../../temporal/production-server.ts';

const DATA_DIR = join(REPO_ROOT, '.data');
// Postgres on 54329, not 5432: a system Postgres may already hold that.
const DEV_PORTS = { postgres: 54329, temporal: 7233, temporalUi: 8233, smtp: 1025, inbox: 1080 };
// --temporal=postgres: Temporal's own databases on EventFlow's Postgres server, beside `eventflow`.
const TEMPORAL_DATABASES = { temporal: 'temporal', visibility: 'temporal_visibility' };
const TELEMETRY_PRELOAD = './src/telemetry/instrumentation.ts';
const DEV_WEBHOOK_TARGETS = '127.0.0.0/8,::1,localhost';
// The API and worker get this long to finish in-flight work before they are killed.
const SERVICE_STOP_GRACE_MS = 15_000;

interface Running {
  stop(): Promise<unknown>;
  exited?: Promise<unknown>;
}

// Stopped in this order: the API and worker before what they depend on, Postgres last.
const STOP_ORDER = [['dashboard', 'api', 'worker'], ['temporal'], ['jaeger'], ['smtp'], ['postgres']] as const;
type ServiceName = (typeof STOP_ORDER)[number][number];

const { provided, config } = readDevEnv();
const parsed = parseStackFlags(process.argv.slice(2));
if ('error' in parsed) {
  process.stderr.write(`${parsed.error}\n${STACK_USAGE}`);
  process.exit(2);
}
const { flags } = parsed;
const log = createLogger('dev-stack', config.logLevel);
const running = new Map<ServiceName, Running>();
let stopping: Promise<never> | undefined;
let lock: StackLock | undefined;

function shutdown(exitCode: number, reason: string): Promise<never> {
  stopping ??= (async () => {
    log.info({ reason }, 'stopping the stack');
    for (const group of STOP_ORDER) {
      await Promise.all(
        group.map(async (name) => {
          const service = running.get(name);
          if (!service) return;
          try {
            await service.stop();
            log.info({ component: name }, 'stopped');
          } catch (error) {
            log.error({ err: error, component: name }, 'failed to stop cleanly');
          }
        }),
      );
    }
    await lock?.release();
    process.exit(exitCode);
  })();
  return stopping;
}

/** Tracks a started service; one that finishes starting after shutdown began is stopped at once. */
async function register(name: ServiceName, service: Running): Promise<void> {
  if (stopping) {
    await service.stop();
    return;
  }
  running.set(name, service);
  void service.exited?.then(() => {
    if (!stopping) {
      log.error({ component: name }, 'exited unexpectedly');
      void shutdown(1, `${name} exited`);
    }
  });
}

async function launch<T extends Running | undefined>(name: ServiceName, start: () => Promise<T>): Promise<T> {
  const startedAt = performance.now();
  const service = await start();
  if (service) {
    log.info({ component: name, ms: Math.round(performance.now() - startedAt) }, 'started');
    await register(name, service);
  }
  return service;
}

/** Starts, side by side, each backing service the environment does not provide. */
async function startInfrastructure() {
  const postgresStarting = provided.databaseUrl
    ? undefined
    : launch('postgres', () =>
        startEmbeddedPostgres({ dataDir: join(DATA_DIR, 'postgres'), port: DEV_PORTS.postgres, logger: log.child({ component: 'postgres' }) }),
      );
  const [postgres, temporal, jaeger, smtp] = await settleAll([
    postgresStarting,
    provided.temporalAddress ? undefined : launch('temporal', () => startTemporal(postgresStarting)),
    provided.otlpEndpoint ? undefined : launch('jaeger', () => startJaeger({ logger: log.child({ component: 'jaeger' }) })),
    provided.smtpUrl
      ? undefined
      : launch('smtp', () => startSmtpCatcher({ smtpPort: DEV_PORTS.smtp, httpPort: DEV_PORTS.inbox })),
  ] as const);
  return { postgres, temporal, jaeger, smtp };
}

/**
 * The dev server (one process on SQLite), or with --temporal=postgres the production server on
 * EventFlow's Postgres server (which it waits for) with its own databases and the Web UI server.
 */
async function startTemporal(postgres: Promise<EmbeddedPostgres | undefined> | undefined) {
  const common = {
    namespace: config.temporal.namespace,
    // Runs carry references; the UI asks the API's codec endpoint for their events.
    codecEndpoint: `http://127.0.0.1:${config.api.port}/codec`,
    logger: log.child({ component: 'temporal' }),
  };
  if (flags.temporal === 'postgres') {
    const serverUrl = provided.databaseUrl ?? (await postgres)!.url;
    return startTemporalOnPostgres({ ...common, databases: { serverUrl, ...TEMPORAL_DATABASES }, uiPort: DEV_PORTS.temporalUi });
  }
  return startTemporalDevServer({ ...common, dbFile: join(DATA_DIR, 'temporal.db'), port: DEV_PORTS.temporal, uiPort: DEV_PORTS.temporalUi });
}

/** Which Temporal runs, for the banner. */
function temporalDescription(address: string): string {
  if (provided.temporalAddress) return `external, at ${address}`;
  return flags.temporal === 'postgres'
    ? `production server on Postgres (databases ${TEMPORAL_DATABASES.temporal}, ${TEMPORAL_DATABASES.visibility}), gRPC ${address}`
    : `dev server (SQLite, .data/temporal.db), gRPC ${address}`;
}

/** EVENTFLOW_ADMIN_KEY, or one generated on the first run and kept so restarts keep it. */
async function adminKey(): Promise<string> {
  if (provided.adminKey) return provided.adminKey;
  const file = join(DATA_DIR, 'admin-key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = `efk_admin_${randomBytes(32).toString('base64url')}`;
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

async function migrate(databaseUrl: string): Promise<void> {
  const db = createDatabase(databaseUrl, 1);
  try {
    const applied = await migrateToLatest(db);
    log.info({ applied }, applied.length ? 'migrations applied' : 'database schema up to date');
  } finally {
    await db.destroy();
  }
}

function startService(name: 'api' | 'worker', entry: string, env: Record<string, string>): ManagedProcess {
  // The telemetry preload must load before the application's http, koa and pg modules to patch them.
  const service = startManagedProcess(process.execPath, ['--import', TELEMETRY_PRELOAD, entry], {
    cwd: REPO_ROOT,
    env: { ...env, OTEL_SERVICE_NAME: `eventflow-${name}` },
    logger: log.child({ component: name }),
    // They log structured JSON already.
    inheritOutput: true,
  });
  void register(name, { stop: () => service.stop('SIGTERM', SERVICE_STOP_GRACE_MS), exited: service.exited });
  return service;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) log.warn('already stopping; waiting for services to exit');
    void shutdown(0, signal);
  });
}

try {
  const startedAt = performance.now();
  if (provided.temporalAddress && flags.temporal !== 'dev') log.warn({ temporalAddress: provided.temporalAddress }, `TEMPORAL_ADDRESS is set: --temporal=${flags.temporal} is ignored`);
  await mkdir(DATA_DIR, { recursive: true });
  lock = await claimStackLock(join(DATA_DIR, 'stack.json'), log);
  const [infra] = await Promise.all([startInfrastructure(), ensureDashboardBuilt(log.child({ component: 'dashboard' }))]);
  await lock.update();
  log.info({ ms: Math.round(performance.now() - startedAt) }, 'infrastructure ready');

  const databaseUrl = provided.databaseUrl ?? infra.postgres!.url;
  await migrate(databaseUrl);
  const key = await adminKey();
  const temporalAddress = provided.temporalAddress ?? infra.temporal!.address;
  const smtpUrl = provided.smtpUrl ?? infra.smtp!.smtpUrl;
  const otlpEndpoint = provided.otlpEndpoint ?? infra.jaeger?.otlpHttpEndpoint;

  const serviceEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    EVENTFLOW_ADMIN_KEY: key,
    PORT: String(config.api.port),
    SMTP_URL: smtpUrl,
    ...(otlpEndpoint ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint } : {}),
    // The dashboard's trace waterfall reads Jaeger through the API; its run links open the Temporal UI.
    ...(infra.jaeger && !process.env.JAEGER_QUERY_URL ? { JAEGER_QUERY_URL: infra.jaeger.queryUrl } : {}),
    ...(infra.temporal?.uiUrl && !process.env.TEMPORAL_UI_URL ? { TEMPORAL_UI_URL: infra.temporal.uiUrl } : {}),
    // A dev stack's webhook receivers run on this machine, so loopback is allowed here (and only here:
    // the API's own default refuses it). Private, link-local and metadata addresses stay refused.
    WEBHOOK_ALLOWED_PRIVATE_TARGETS: process.env.WEBHOOK_ALLOWED_PRIVATE_TARGETS ?? DEV_WEBHOOK_TARGETS,
    // The Web UI runs in a browser on this machine: its codec calls come from loopback.
    CODEC_ALLOW_LOOPBACK: process.env.CODEC_ALLOW_LOOPBACK ?? 'true',
    // A dev stack is for trying things: anyone may register, GraphiQL is served, and the refresh cookie
    // works over plain http://127.0.0.1.
    AUTH_SIGNUP: process.env.AUTH_SIGNUP ?? 'open',
    AUTH_SECURE_COOKIES: process.env.AUTH_SECURE_COOKIES ?? 'false',
    GRAPHQL_GRAPHIQL: process.env.GRAPHQL_GRAPHIQL ?? 'true',
  };
  startService('worker', 'src/worker/main.ts', serviceEnv);
  startService('api', 'src/api/main.ts', serviceEnv);
  await lock.update();

  const apiUrl = `http://127.0.0.1:${config.api.port}`;
  await waitUntil(
    async () => ((await fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(2_000) })).status === 200 ? true : undefined),
    { what: `API health on ${apiUrl}`, timeoutMs: 60_000, intervalMs: 250, gaveUp: () => (stopping ? 'the stack is stopping' : undefined) },
  );
  const login = await devLogin(apiUrl, databaseUrl);
  if (flags.dashboardHot) {
    const hot = startDashboardHotReload(apiUrl, log.child({ component: 'dashboard' }));
    await register('dashboard', { stop: () => hot.stop('SIGTERM', 5_000), exited: hot.exited });
  }
  log.info({ ms: Math.round(performance.now() - startedAt) }, 'stack ready');

  process.stdout.write(
    banner({
      apiUrl,
      dashboard: `${apiUrl}/dashboard/` + (flags.dashboardHot ? `   (hot reload: http://127.0.0.1:${HOT_RELOAD_PORT}/dashboard/)` : ''),
      temporal: temporalDescription(temporalAddress),
      temporalUi: infra.temporal?.uiUrl ?? (provided.temporalAddress ? `(external Temporal at ${temporalAddress})` : '(none: temporal-ui-server was not built)'),
      jaeger: infra.jaeger
        ? `OTLP ${infra.jaeger.otlpHttpEndpoint}, query API ${infra.jaeger.queryUrl}/api/traces?service=eventflow-api` +
          "\n                  (a source-built Jaeger has no UI: an event's trace waterfall is in the dashboard)"
        : otlpEndpoint
          ? `(external OTLP endpoint ${otlpEndpoint})`
          : 'off (no jaeger binary on PATH)',
      inbox: infra.smtp?.inboxUrl ?? `(external SMTP at ${smtpUrl})`,
      databaseUrl,
      key,
      login,
    }),
  );
} catch (error) {
  if (!stopping) {
    log.error({ err: error }, 'the stack failed to start');
    await shutdown(1, 'start-up failed');
  }
}

/**
 * A ready-to-use login, kept in .data/dev-login: invited as owner of the admin key's project (only an
 * owner may make owners, so the launcher writes the invitation in Postgres), then registered through the
 * API like anyone else, so what the admin key sends is what the user sees.
 */
async function devLogin(apiUrl: string, databaseUrl: string): Promise<{ email: string; password: string }> {
  const file = join(DATA_DIR, 'dev-login');
  let login: { email: string; password: string };
  try {
    login = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    login = { email: 'dev@eventflow.local', password: randomBytes(12).toString('base64url') };
    await writeFile(file, `${JSON.stringify(login)}\n`, { mode: 0o600, flag: 'wx' });
  }
  const db = createDatabase(databaseUrl, 1);
  try {
    // An owner's invitation to the admin key's project first: registering then joins that project
    // (instead of making one of its own), as an invited teammate would.
    await db.raw(
      `INSERT INTO invitations (id, project_id, email, role)
       SELECT gen_random_uuid(), k.project_id, ?, 'owner' FROM api_keys k
        WHERE k.is_root AND k.revoked_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(?))
          AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.project_id = k.project_id AND lower(i.email) = lower(?) AND i.accepted_at IS NULL)`,
      [login.email, login.email, login.email],
    );
    const registered = await fetch(`${apiUrl}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...login, name: 'Developer' }),
    });
    if (registered.status !== 201 && registered.status !== 409) {
      throw new Error(`registering the dev login failed: ${registered.status} ${await registered.text()}`);
    }
    // A login kept from an earlier run of an older stack may predate the invitation: make sure.
    await db.raw(
      `INSERT INTO memberships (project_id, user_id, role)
       SELECT k.project_id, u.id, 'owner' FROM api_keys k, users u
        WHERE k.is_root AND k.revoked_at IS NULL AND lower(u.email) = lower(?)
       ON CONFLICT (project_id, user_id) DO UPDATE SET role = 'owner'`,
      [login.email],
    );
  } finally {
    await db.destroy();
  }
  return login;
}

function banner(urls: { apiUrl: string; dashboard: string; temporal: string; temporalUi: string; jaeger: string; inbox: string; databaseUrl: string; key: string; login: { email: string; password: string } }): string {
  return `
  EventFlow dev stack is up (Ctrl-C stops everything; state is kept in .data/)

    Dashboard       ${urls.dashboard}
    Login           ${urls.login.email} / ${urls.login.password}
    API             ${urls.apiUrl}
    Temporal        ${urls.temporal}
    Temporal UI     ${urls.temporalUi}
    Jaeger          ${urls.jaeger}
    Mail inbox      ${urls.inbox}
    Postgres        ${urls.databaseUrl}
    Admin key       ${urls.key}
    GraphQL         ${urls.apiUrl}/graphql (GraphiQL in a browser; log in, then send the access token)

  Send an event:
    curl -sS -X POST ${urls.apiUrl}/v1/events -H "Authorization: Bearer ${urls.key}" -H 'content-type: application/json' -d '{"batch":[{"type":"signup","user_id":"u1"}]}'

`;
}

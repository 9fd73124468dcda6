// The test harness (`./scripts/test.sh [files…]`): starts throw-away backing services on free ports,
// migrates once, runs `node --test` over the test files with the services' addresses in the
// environment, and tears everything down again. DATABASE_URL / TEMPORAL_ADDRESS in the environment
// are used instead of starting Postgres / Temporal.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, migrateToLatest } from '../src/db/connection.ts';
import { readDevEnv, REPO_ROOT } from '../src/dev/dev-env.ts';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.ts';
import { startJaeger } from '../src/dev/jaeger.ts';
import { findExecutable, getFreePort, settleAll } from '../src/dev/process.ts';
import { startSmtpCatcher } from '../src/dev/smtp-catcher.ts';
import { startTemporalDevServer } from '../temporal/dev-server.ts';
import { createLogger } from '../src/logging.ts';

const DEFAULT_TEST_FILES = ['test/**/*.test.ts'];

const { provided, config } = readDevEnv();
const log = createLogger('test-harness', process.env.LOG_LEVEL || 'info');
const teardown: Array<() => Promise<unknown>> = [];
let exitCode = 1;
let interrupted = false;

// Ctrl-C reaches the test process too (same process group); the harness only has to outlive it long
// enough to tear the servers down.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupted = true;
  });
}

try {
  const startedAt = performance.now();
  const scratchDir = await mkdtemp(join(tmpdir(), 'eventflow-test-'));
  teardown.push(() => rm(scratchDir, { recursive: true, force: true }));
  const temporalCli = await findExecutable('temporal');

  const [postgres, temporal, smtp, jaeger] = await settleAll([
    provided.databaseUrl
      ? undefined
      : tracked(getFreePort().then((port) =>
          startEmbeddedPostgres({ dataDir: join(scratchDir, 'postgres'), port, ephemeral: true, logger: log.child({ component: 'postgres' }) }),
        )),
    provided.temporalAddress
      ? undefined
      : tracked(getFreePort().then((port) =>
          startTemporalDevServer({
            port,
            headless: true,
            namespace: config.temporal.namespace,
            // Its warnings are about workflows the tests break on purpose; a failed start still reports
            // the server's last output in the thrown error.
            logger: log.child({ component: 'temporal' }, { level: 'silent' }),
          }),
        )),
    tracked(startSmtpCatcher({ smtpPort: 0, httpPort: 0 })),
    tracked(Promise.all([getFreePort(), getFreePort(), getFreePort(), getFreePort()]).then(([otlpGrpcPort, otlpHttpPort, queryPort, queryGrpcPort]) =>
      startJaeger({ otlpGrpcPort, otlpHttpPort, queryPort, queryGrpcPort, logger: log.child({ component: 'jaeger' }) }),
    )),
  ] as const);

  const databaseUrl = provided.databaseUrl ?? postgres!.url;
  const db = createDatabase(databaseUrl, 1);
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  log.info({ ms: Math.round(performance.now() - startedAt), jaeger: Boolean(jaeger) }, 'test services ready');

  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: provided.temporalAddress ?? temporal!.address,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    SMTP_URL: smtp.smtpUrl,
    EVENTFLOW_TEST_SMTP_INBOX: smtp.inboxUrl,
    ...(temporalCli ? { TEMPORAL_CLI_PATH: temporalCli } : {}),
    ...(jaeger ? { JAEGER_QUERY_URL: jaeger.queryUrl, OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint } : {}),
  };
  const files = process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_TEST_FILES;
  if (!interrupted) {
    const tests = spawn(
      process.execPath,
      ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
      { cwd: REPO_ROOT, env, stdio: 'inherit' },
    );
    exitCode = await new Promise<number>((resolve) => {
      tests.once('error', (error) => {
        log.error({ err: error }, 'could not run the tests');
        resolve(1);
      });
      tests.once('exit', (code) => resolve(code ?? 1));
    });
  }
} catch (error) {
  log.error({ err: error }, 'test harness failed');
  exitCode = 1;
} finally {
  // Last started, first stopped; a failing stop must not keep the others running.
  for (const stop of teardown.reverse()) {
    await stop().catch((error: unknown) => log.error({ err: error }, 'teardown step failed'));
  }
}
function tracked<T extends { stop(): Promise<unknown> } | undefined>(starting: Promise<T>): Promise<T> {
  return starting.then((service) => {
    if (service) teardown.push(() => service.stop());
    return service;
  });
}

process.exit(interrupted && exitCode === 0 ? 130 : exitCode);

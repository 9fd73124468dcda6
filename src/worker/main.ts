import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { loadConfig } from '../config.ts';
import { createDatabase } from '../db/connection.ts';
import { createLogger } from '../logging.ts';
import { trackDeadLetters } from '../telemetry/metrics.ts';
import { temporalLogger } from '../telemetry/temporal-logger.ts';
import { startWorkerMetricsServer } from '../telemetry/worker-metrics-server.ts';
import { createEventFlowWorker } from './create-worker.ts';
import { shutdownTelemetry } from '../telemetry/sdk.ts';

const config = loadConfig();
const log = createLogger('eventflow-worker', config.logLevel);
const { metricsPort, temporalMetricsPort } = config.worker;
const temporalMetricsAddress = temporalMetricsPort > 0 ? `127.0.0.1:${temporalMetricsPort}` : undefined;

// Once per process, before any connection: SDK logs become our JSON lines (with workflowId,
// activityType, … as fields), and the SDK's own metrics are exposed for /metrics to pass on.
Runtime.install({
  logger: temporalLogger(log),
  telemetryOptions: {
    logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
    ...(temporalMetricsAddress ? { metrics: { prometheus: { bindAddress: temporalMetricsAddress } } } : {}),
  },
});

const db = createDatabase(config.databaseUrl, config.databasePoolSize);
trackDeadLetters(db);
const metricsServer =
  metricsPort > 0
    ? await startWorkerMetricsServer({
        port: metricsPort,
        temporalMetricsUrl: temporalMetricsAddress && `http://${temporalMetricsAddress}/metrics`,
      })
    : undefined;
const connection = await NativeConnection.connect({ address: config.temporal.address });
const { worker, release } = await createEventFlowWorker({ config, db, connection });

// Worker.run() handles SIGINT/SIGTERM itself: it stops polling, lets running tasks finish, then resolves.
log.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace, metricsPort }, 'worker started');
try {
  await worker.run();
} finally {
  metricsServer?.closeAllConnections();
  metricsServer?.close();
  // The SMTP pool and webhook keep-alive sockets would otherwise hold the process open.
  await release();
  await connection.close();
  await db.destroy();
  await shutdownTelemetry();
  log.info('worker stopped');
  // The SDK's native runtime (and its metrics listener) keeps the event loop alive after the worker has
  // drained; everything durable is done by now, so leave instead of waiting to be killed.
  process.exit(0);
}

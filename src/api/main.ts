import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from '@temporalio/client';
import { ConfigError, loadConfig, type EventFlowConfig } from '../config.ts';
import { createDatabase } from '../db/connection.ts';
import { createLogger } from '../logging.ts';
import { connectTemporalClient } from '../temporal/connection.ts';
import { ensureSearchAttributes } from '../temporal/search-attributes.ts';
import { ensureRootKey } from '../keys/root-key.ts';
import { startApiServer } from './server.ts';
import type { TemporalClientRef } from './temporal-access.ts';
import { shutdownTelemetry } from '../telemetry/sdk.ts';

const TEMPORAL_RETRY_DELAY_MS = 5_000;
// Time in-flight requests get to finish after SIGTERM before their connections are cut.
const DRAIN_TIMEOUT_MS = 10_000;

function loadApiConfig(): EventFlowConfig & { api: { adminKey: string } } {
  try {
    const config = loadConfig();
    const adminKey = config.api.adminKey;
    if (!adminKey) {
      throw new ConfigError('EVENTFLOW_ADMIN_KEY is required for the API: it becomes the root admin key (only its hash is stored)');
    }
    return { ...config, api: { ...config.api, adminKey } };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`eventflow-api: ${error.message}`);
    process.exit(1);
  }
}

const config = loadApiConfig();

const log = createLogger('eventflow-api', config.logLevel);
const db = createDatabase(config.databaseUrl, config.databasePoolSize);

const root = await ensureRootKey(db, config.api.adminKey, { revokeOtherRootKeys: true });
log.info({ projectId: root.projectId, revokedPreviousRootKeys: root.revokedOthers }, 'root admin key ready');

// One client for the process. If Temporal is down at boot the API still starts (/ready reports it,
// ingestion still accepts into Postgres, calls that need Temporal answer 503) and keeps connecting in
// the background; once connected, gRPC reconnects itself.
const temporal: TemporalClientRef = { current: undefined };
const stopConnecting = new AbortController();
const connecting = (async () => {
  for (let attempt = 1; !stopConnecting.signal.aborted; attempt++) {
    try {
      const client = await connectTemporalClient(config);
      if (stopConnecting.signal.aborted) {
        await client.connection.close();
        return;
      }
      temporal.current = client;
      log.info({ address: config.temporal.address, namespace: config.temporal.namespace }, 'connected to Temporal');
      // Batch starts set these attributes; a server without them would refuse every start.
      await ensureSearchAttributes(client.connection as Connection, config.temporal.namespace).catch((error: unknown) =>
        log.warn({ err: error }, 'could not register search attributes; the worker or an operator must'),
      );
      return;
    } catch (error) {
      log.warn({ err: error, attempt, address: config.temporal.address }, 'Temporal unreachable; retrying');
      await sleep(TEMPORAL_RETRY_DELAY_MS, undefined, { signal: stopConnecting.signal }).catch(() => undefined);
    }
  }
})();

const api = await startApiServer({ config, db, log, temporal, host: config.api.host, port: config.api.port, backlogProbe: true });
log.info({ host: config.api.host, port: config.api.port }, 'API listening');

let shuttingDown = false;
async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info({ signal }, 'shutting down: draining requests');
  stopConnecting.abort();
  await api.stop(DRAIN_TIMEOUT_MS);
  await connecting;
  await temporal.current?.connection.close();
  await db.destroy();
  // Spans that ended during the drain are still buffered; process.exit would drop them.
  await shutdownTelemetry();
  log.info('API stopped');
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

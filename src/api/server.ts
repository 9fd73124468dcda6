import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import type { EventFlowConfig } from '../config.ts';
import { startLiveFeed } from '../live/feed.ts';
import { startRunStarter } from '../ingest/run-starter.ts';
import type { Logger } from '../logging.ts';
import { createApp } from './app.ts';
import { createAdmission } from './events/admission.ts';
import { startBacklogProbe } from './events/backlog-probe.ts';
import { settleTemporalCalls, type TemporalClientRef } from './temporal-access.ts';

export interface ApiServerOptions {
  config: EventFlowConfig;
  db: Knex;
  log: Logger;
  temporal: TemporalClientRef;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Feed load shedding from the task queue's backlog (needs INGEST_MAX_BACKLOG_SECONDS > 0). */
  backlogProbe: boolean;
  keyCacheTtlMs?: number;
}

export interface ApiServer {
  baseUrl: string;
  /**
   * Stops accepting, lets in-flight requests finish for up to `drainMs` before cutting their connections,
   * then stops the run starter (what was accepted but not claimed stays in Postgres for the next claim)
   * and waits for Temporal calls the API gave up on. The database and Temporal client stay the caller's.
   */
  stop(drainMs: number): Promise<void>;
}

/** The API's HTTP server with everything beside it that ingestion needs: admission, backlog probe, run starter. */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { config, db, log, temporal } = options;
  const ingest = config.api.ingest;
  const admission = createAdmission({ maxInFlightEvents: ingest.maxInFlightEvents, maxProcessingLagMs: ingest.maxBacklogSeconds * 1000 });
  const stopBacklogProbe =
    options.backlogProbe && ingest.maxBacklogSeconds > 0
      ? startBacklogProbe({ db, temporal, taskQueue: config.temporal.taskQueue, admission, intervalMs: ingest.backlogProbeIntervalMs, log })
      : () => undefined;
  const runStarter = startRunStarter({
    db,
    temporal,
    taskQueue: config.temporal.taskQueue,
    batchIdsMaxBytes: ingest.batchIdsMaxBytes,
    log,
    limits: { windowMs: ingest.runWindowMs, maxEvents: ingest.runMaxEvents, maxRequests: ingest.runMaxRequests },
  });
  const liveFeed = startLiveFeed(db, log);
  const app = createApp({ config, db, log, temporal, admission, runStarter, liveFeed, keyCacheTtlMs: options.keyCacheTtlMs });
  const server = createServer(app.callback());
  // Bounds on slow clients: a request (headers and body) must arrive within these limits.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://${options.host}:${port}`,
    async stop(drainMs) {
      stopBacklogProbe();
      const closed = new Promise((resolve) => server.close(resolve));
      // Open notification streams end now (clients reconnect to another process with Last-Event-ID).
      await liveFeed.stop();
      server.closeIdleConnections();
      const drainTimer = setTimeout(() => server.closeAllConnections(), drainMs);
      await closed;
      clearTimeout(drainTimer);
      await runStarter.stop();
      await settleTemporalCalls(temporal);
    },
  };
}

import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Connection } from '@temporalio/client';
import { ensureDatabase } from '../src/dev/embedded-postgres.ts';
import { findExecutable, startManagedProcess, waitUntil, type LineLevel } from '../src/dev/process.ts';
import { createLogger, type Logger } from '../src/logging.ts';
import { ensureSearchAttributes } from '../src/temporal/search-attributes.ts';
import { whenFrontendReady } from './frontend.ts';
import { NAMESPACE } from './namespace.ts';
import { startTemporalUi, type TemporalUi } from './web-ui.ts';

// Temporal's production shape, natively: the Temporal server (go.temporal.io/server v1.29.1, the version
// the CLI's dev server embeds; pinned in go.mod) on Postgres, as one node or as a cluster of nodes sharing
// the databases, with the Web UI server beside it. Its configuration is this folder's: server-config/ and
// ui-config/ (templates the binaries render from the environment set here; docker-compose sets the same
// variables) and dynamicconfig/, which the dev server gets as flags.

const TEMPORAL_DIR = fileURLToPath(new URL('.', import.meta.url));
const DYNAMIC_CONFIG_FILE = fileURLToPath(new URL('./dynamicconfig/development.yaml', import.meta.url));
const HOST = '127.0.0.1';
// A node answers 2–5 s after it starts here, the namespace registration included, and up to ~20 s on a
// busy machine of this kind; a node joining a cluster first waits for membership.
const START_TIMEOUT_MS = 120_000;
// The server drains its services on SIGTERM (about a second here); SIGKILL only if that hangs.
const STOP_GRACE_MS = 20_000;

/** Temporal's two databases, on the Postgres server of `serverUrl`. */
export interface TemporalDatabases {
  /** Any database URL on that server (EventFlow's DATABASE_URL): its host, port and credentials are used. */
  serverUrl: string;
  temporal: string;
  visibility: string;
}

/** The pre-embedded schemas of the pinned schema tool, the same version as the server. */
const SCHEMAS = { temporal: 'postgresql/v12/temporal', visibility: 'postgresql/v12/visibility' } as const;

interface PostgresEndpoint {
  host: string;
  port: string;
  user: string;
  password: string;
}

function endpointOf(serverUrl: string): PostgresEndpoint {
  const url = new URL(serverUrl);
  return {
    host: url.hostname,
    port: url.port || '5432',
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

const execFileAsync = promisify(execFile);

/**
 * Creates Temporal's databases when missing and brings their schemas to the schema tool's version, like
 * migrations: `setup-schema -v 0.0` only creates the version tables (and skips when a version is
 * recorded), `update-schema` applies what is newer than the recorded version and does nothing when
 * current. Safe to repeat; run it once before the nodes start, not from each node.
 */
export async function ensureTemporalSchema(
  databases: TemporalDatabases,
  options: { executable?: string; logger?: Logger } = {},
): Promise<void> {
  const log = options.logger ?? createLogger('temporal-schema', 'info');
  const executable = options.executable ?? 'temporal-sql-tool';
  const { host, port, user, password } = endpointOf(databases.serverUrl);
  const maintenanceUrl = new URL(databases.serverUrl);
  maintenanceUrl.pathname = '/postgres';
  await Promise.all(
    (['temporal', 'visibility'] as const).map(async (kind) => {
      const database = databases[kind];
      await ensureDatabase(maintenanceUrl.toString(), database, log);
      const connect = ['--plugin', 'postgres12', '--ep', host, '-p', port, '-u', user, '--db', database];
      for (const step of [['setup-schema', '-v', '0.0'], ['update-schema', '--schema-name', SCHEMAS[kind]]]) {
        try {
          // The password goes through the environment, not the command line other users can read.
          await execFileAsync(executable, [...connect, ...step], { env: { PATH: process.env.PATH, SQL_PASSWORD: password } });
        } catch (error) {
          const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
          throw new Error(`${executable} ${step[0]} on ${database} failed: ${(error as Error).message}\n${stdout}${stderr}`.trim());
        }
      }
      log.debug({ database, schema: SCHEMAS[kind] }, 'Temporal schema up to date');
    }),
  );
}

/** The ports of one node: each of its four services has a gRPC and a membership (ringpop) port. */
export interface TemporalNodePorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/** Temporal's own defaults (its development configs and docker image use them). */
export const DEFAULT_NODE_PORTS: TemporalNodePorts = {
  frontend: 7233,
  frontendHttp: 7243,
  frontendMembership: 6933,
  history: 7234,
  historyMembership: 6934,
  matching: 7235,
  matchingMembership: 6935,
  worker: 7239,
  workerMembership: 6939,
};

/**
 * Free loopback ports for one more node, for clusters in tests. Not the OS's choice (getFreePort): a node
 * records its membership port in cluster_membership.rpc_port, a SMALLINT, and fails at start ("value out
 * of range for type smallint") with one above 32767, where Linux hands out free ports. So random ports
 * below that, each checked free.
 */
export async function freeNodePorts(): Promise<TemporalNodePorts> {
  const names = Object.keys(DEFAULT_NODE_PORTS) as Array<keyof TemporalNodePorts>;
  const ports = new Set<number>();
  while (ports.size < names.length) {
    const candidate = LOW_PORTS.from + Math.floor(Math.random() * (LOW_PORTS.to - LOW_PORTS.from));
    if (!ports.has(candidate) && (await isPortFree(candidate))) ports.add(candidate);
  }
  const chosen = [...ports];
  return Object.fromEntries(names.map((name, index) => [name, chosen[index]])) as unknown as TemporalNodePorts;
}

// Above the well-known service ports, below the SMALLINT limit and the ephemeral range.
const LOW_PORTS = { from: 10_000, to: 32_767 };

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, HOST, () => probe.close(() => resolve(true)));
  });
}

export interface TemporalServerNodeOptions {
  databases: TemporalDatabases;
  ports: TemporalNodePorts;
  /**
   * The cluster's address, recorded in the databases by every node (it must be the same on all of them):
   * the first node's frontend. Defaults to this node's frontend.
   */
  clusterAddress?: string;
  /** Registered (with EventFlow's retention and search attributes) once the node is up. */
  namespace: string;
  /** Serve the node's Prometheus metrics on this loopback port (at /metrics); omitted: none. */
  metricsPort?: number;
  /** Defaults to `temporal-server` on PATH. */
  executable?: string;
  logger?: Logger;
}

export interface TemporalServerNode {
  /** host:port of its frontend, for `TEMPORAL_ADDRESS`. */
  address: string;
  /** Its Prometheus endpoint, when `metricsPort` was given. */
  metricsUrl: string | undefined;
  /** Settles if the node exits, expectedly or not. */
  exited: Promise<unknown>;
  stop(): Promise<void>;
  /** SIGKILL, as a crash would (fault tests). */
  kill(): Promise<void>;
}

/**
 * Starts one node (frontend, history, matching and worker services in one process). Nodes started on the
 * same databases with different ports form one cluster: they find each other through the databases'
 * membership table and share the history shards and task queues between them.
 */
export async function startTemporalServerNode(options: TemporalServerNodeOptions): Promise<TemporalServerNode> {
  const log = options.logger ?? createLogger('temporal-server', 'info');
  const { ports, databases } = options;
  const address = `${HOST}:${ports.frontend}`;
  const { host, port, user, password } = endpointOf(databases.serverUrl);
  // The names of Temporal's docker config template, which server-config/production.yaml follows. Nothing
  // else of our environment: the server must not pick up EventFlow's LOG_LEVEL or TEMPORAL_* settings.
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    LOG_LEVEL: 'warn',
    POSTGRES_SEEDS: host,
    DB_PORT: port,
    POSTGRES_USER: user,
    POSTGRES_PWD: password,
    DBNAME: databases.temporal,
    VISIBILITY_DBNAME: databases.visibility,
    BIND_ON_IP: HOST,
    TEMPORAL_BROADCAST_ADDRESS: HOST,
    TEMPORAL_CLUSTER_ADDRESS: options.clusterAddress ?? address,
    DYNAMIC_CONFIG_FILE_PATH: DYNAMIC_CONFIG_FILE,
    PROMETHEUS_ENDPOINT: options.metricsPort === undefined ? undefined : `${HOST}:${options.metricsPort}`,
    FRONTEND_GRPC_PORT: String(ports.frontend),
    FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
    HISTORY_GRPC_PORT: String(ports.history),
    HISTORY_MEMBERSHIP_PORT: String(ports.historyMembership),
    MATCHING_GRPC_PORT: String(ports.matching),
    MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
    WORKER_GRPC_PORT: String(ports.worker),
    WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
  };
  const server = startManagedProcess(
    options.executable ?? 'temporal-server',
    ['--root', TEMPORAL_DIR, '--config', 'server-config', '--env', 'production', '--allow-no-auth', 'start'],
    { logger: log, classify: classifyServerLine, env },
  );

  const ready = await whenFrontendReady(server, address, {
    what: 'Temporal server node',
    timeoutMs: START_TIMEOUT_MS,
    stopGraceMs: STOP_GRACE_MS,
    prepare: async (connection) => {
      await ensureNamespace(connection, options.namespace);
      await ensureSearchAttributes(connection, options.namespace);
    },
  });
  return { address, metricsUrl: options.metricsPort === undefined ? undefined : `http://${HOST}:${options.metricsPort}/metrics`, ...ready };
}

// gRPC status codes the namespace calls answer with.
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

/**
 * Registers the namespace with EventFlow's retention unless it exists. The dev server creates its
 * namespaces itself; a production server starts with none but its system namespace.
 */
export async function ensureNamespace(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return;
  } catch (error) {
    if ((error as { code?: number }).code !== NOT_FOUND) throw error;
  }
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      // int64 seconds are typed as Long but numbers are accepted.
      workflowExecutionRetentionPeriod: { seconds: (NAMESPACE.retentionDays * 24 * 3600) as never },
    });
  } catch (error) {
    // Another node or process registered it between our look and our registration.
    if ((error as { code?: number }).code !== ALREADY_EXISTS) throw error;
  }
  // Registration writes the database; the frontends serve namespaces from a cache refreshed every 10 s
  // (system.namespaceCacheRefreshInterval), and until then answer "Namespace … is not found".
  await waitUntil(() => connection.operatorService.listSearchAttributes({ namespace }).then(() => true), {
    what: `namespace ${namespace} served`,
    timeoutMs: 30_000,
    intervalMs: 500,
  });
}

/**
 * The server logs JSON lines (at `warn` and above, see LOG_LEVEL above); the Go runtime and its config
 * loader write plain lines to stderr. A node that starts or joins logs errors that settle on their own
 * ("shard status unknown", "Not enough hosts to serve the request" while membership forms), so errors
 * are warnings here, as everything the dev server writes to stderr is; only fatal ones are errors.
 */
function classifyServerLine(line: string): LineLevel {
  const level = /"level":"(\w+)"/.exec(line)?.[1];
  if (level === undefined) return /^panic|fatal error/i.test(line) ? 'error' : 'debug';
  if (level === 'debug' || level === 'info') return 'debug';
  return /^(fatal|panic|dpanic)$/.test(level) ? 'error' : 'warn';
}

export interface TemporalOnPostgresOptions {
  databases: TemporalDatabases;
  ports?: TemporalNodePorts;
  /** Omitted: no Web UI. */
  uiPort?: number;
  namespace: string;
  codecEndpoint?: string;
  logger?: Logger;
}

export interface TemporalOnPostgres {
  address: string;
  uiUrl: string | undefined;
  exited: Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * The dev stack's `--temporal=postgres`: the schema steps, one production node and its Web UI, shaped like
 * the dev server (startTemporalDevServer) so the launcher treats both alike.
 */
export async function startTemporalOnPostgres(options: TemporalOnPostgresOptions): Promise<TemporalOnPostgres> {
  const log = options.logger ?? createLogger('temporal', 'info');
  for (const binary of ['temporal-server', 'temporal-sql-tool']) {
    if (!(await findExecutable(binary))) {
      throw new Error(`${binary} is not on PATH: scripts/bootstrap.sh builds it from temporal/go.mod (run ./scripts/dev.sh, not node directly)`);
    }
  }
  // The UI is a convenience: without its binary (bootstrap says why) the server runs without one.
  const withUi = options.uiPort !== undefined && (await findExecutable('temporal-ui-server')) !== undefined;
  if (options.uiPort !== undefined && !withUi) log.warn('temporal-ui-server is not on PATH: no Web UI for the Temporal server');
  await ensureTemporalSchema(options.databases, { logger: log });
  const node = await startTemporalServerNode({
    databases: options.databases,
    ports: options.ports ?? DEFAULT_NODE_PORTS,
    namespace: options.namespace,
    logger: log,
  });
  let ui: TemporalUi | undefined;
  if (withUi) {
    try {
      ui = await startTemporalUi({ frontendAddress: node.address, port: options.uiPort!, namespace: options.namespace, codecEndpoint: options.codecEndpoint, logger: log.child({ component: 'temporal-ui' }) });
    } catch (error) {
      await node.stop();
      throw error;
    }
  }
  let stopping: Promise<void> | undefined;
  return {
    address: node.address,
    uiUrl: ui?.url,
    // Either one going away is the Temporal service going away.
    exited: Promise.race([node.exited, ...(ui ? [ui.exited] : [])]),
    stop() {
      stopping ??= Promise.all([ui?.stop(), node.stop()]).then(() => undefined);
      return stopping;
    },
  };
}

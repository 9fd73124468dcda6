import { Connection } from '@temporalio/client';
import { createLogger, type Logger } from '../logging.ts';
import { SEARCH_ATTRIBUTES, ensureSearchAttributes } from '../temporal/search-attributes.ts';
import { startManagedProcess, waitUntil, hasExited } from './process.ts';

// The Temporal CLI's dev server (server + SQLite + Web UI in one binary) for the dev stack and the
// tests. Without `dbFile` everything lives in memory and is gone when it stops.

export interface TemporalDevServerOptions {
  /** SQLite file to persist to; omitted means in memory. */
  dbFile?: string;
  port: number;
  /** Defaults to `port + 1000`, as the CLI does. */
  uiPort?: number;
  headless?: boolean;
  namespace: string;
  /** The Web UI's codec endpoint (`--ui-codec-endpoint`), which decodes payloads for display. */
  codecEndpoint?: string;
  /** Defaults to `temporal` on PATH. */
  executable?: string;
  logger?: Logger;
}

export interface TemporalDevServer {
  /** host:port for `TEMPORAL_ADDRESS`. */
  address: string;
  uiUrl: string | undefined;
  /** Settles if the server exits, expectedly or not. */
  exited: Promise<unknown>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
// A cold start with a new SQLite file (schema creation, namespace setup) takes a few seconds on two
// cores; far longer means it is stuck.
const START_TIMEOUT_MS = 60_000;

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const log = options.logger ?? createLogger('temporal-dev-server', 'info');
  const address = `${HOST}:${options.port}`;
  const uiPort = options.uiPort ?? options.port + 1000;
  const args = [
    'server', 'start-dev',
    '--ip', HOST,
    '--port', String(options.port),
    '--log-level', 'warn',
    ...(options.headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ...(options.codecEndpoint && !options.headless ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
    // A run lists its requests in the BatchIds search attribute: up to ~770 ids need more than the
    // default 2 KB per value (TEMPORAL_BATCH_IDS_MAX_BYTES in src/config.ts stays below this).
    '--dynamic-config-value', 'frontend.searchAttributesSizeOfValueLimit=32768',
    // `default` always exists; naming it again is redundant.
    ...(options.namespace === 'default' ? [] : ['--namespace', options.namespace]),
    ...SEARCH_ATTRIBUTES.flatMap(({ name, type }) => ['--search-attribute', `${name}=${type}`]),
    ...(options.dbFile
      ? [
          '--db-filename', options.dbFile,
          // WAL lets the Web UI's visibility reads run while history writes commit. With WAL,
          // synchronous=NORMAL syncs at checkpoints rather than every commit: a power cut may lose the
          // last moments, but the file never corrupts (unlike the SDK CI's synchronous=OFF), which is
          // the right trade for a dev database meant to survive restarts.
          '--sqlite-pragma', 'journal_mode=WAL',
          '--sqlite-pragma', 'synchronous=NORMAL',
        ]
      : []),
  ];

  const server = startManagedProcess(options.executable ?? 'temporal', args, {
    logger: log,
    // At --log-level warn anything on stderr deserves attention; stdout is the start-up banner.
    classify: (_line, stream) => (stream === 'stderr' ? 'warn' : 'debug'),
  });

  let connection: Connection | undefined;
  try {
    connection = await waitUntil(
      async () => {
        const candidate = await Connection.connect({ address, connectTimeout: '1s' });
        try {
          await candidate.workflowService.getSystemInfo({});
          return candidate;
        } catch (error) {
          await candidate.close();
          throw error;
        }
      },
      {
        what: `Temporal dev server on ${address}`,
        timeoutMs: START_TIMEOUT_MS,
        intervalMs: 250,
        gaveUp: () => (hasExited(server) ? `exited during start-up:\n${server.recentOutput()}` : undefined),
      },
    );
    // The flag above only applies to namespaces the server creates, not to an existing db file.
    await ensureSearchAttributes(connection, options.namespace);
  } catch (error) {
    await server.stop('SIGTERM', 10_000);
    throw error;
  } finally {
    await connection?.close();
  }

  let stopping: Promise<void> | undefined;
  return {
    address,
    uiUrl: options.headless ? undefined : `http://${HOST}:${uiPort}`,
    exited: server.exited,
    stop() {
      stopping ??= server.stop('SIGTERM', 10_000).then(() => undefined);
      return stopping;
    },
  };
}

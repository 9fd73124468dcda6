import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { createLogger, type Logger } from '../src/logging.ts';
import { ensureSearchAttributes } from '../src/temporal/search-attributes.ts';
import { startManagedProcess } from '../src/dev/process.ts';
import { whenFrontendReady } from './frontend.ts';
import { CLI_TYPE_NAMES, SEARCH_ATTRIBUTES, type SearchAttributeName } from './namespace.ts';

// The Temporal CLI's dev server (server + SQLite + Web UI in one binary) for the dev stack and the
// tests. Without `dbFile` everything lives in memory and is gone when it stops. Its namespace and limits
// come from this folder: namespace.ts and dynamicconfig/development.yaml.

const DYNAMIC_CONFIG = new URL('./dynamicconfig/development.yaml', import.meta.url);

/**
 * The dynamic-config file as `--dynamic-config-value KEY=JSON` flags: the dev server takes values, not a
 * file. Only unconstrained values (`- value: X`) can be passed that way; a constrained one is refused.
 */
export function dynamicConfigFlags(yamlText: string = readFileSync(DYNAMIC_CONFIG, 'utf8')): string[] {
  const document = (parseYaml(yamlText) ?? {}) as Record<string, Array<{ value: unknown; constraints?: unknown }>>;
  return Object.entries(document).flatMap(([key, entries]) => {
    if (!Array.isArray(entries) || entries.length !== 1 || entries[0].constraints !== undefined || !('value' in entries[0])) {
      throw new Error(`dynamic config ${key}: the dev server takes one unconstrained value per key`);
    }
    return ['--dynamic-config-value', `${key}=${JSON.stringify(entries[0].value)}`];
  });
}

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
  /** SIGKILL, as a crash would (fault tests). */
  kill(): Promise<void>;
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
    // `default` always exists; naming it again is redundant.
    ...(options.namespace === 'default' ? [] : ['--namespace', options.namespace]),
    ...(Object.keys(SEARCH_ATTRIBUTES) as SearchAttributeName[]).flatMap((name) => ['--search-attribute', `${name}=${CLI_TYPE_NAMES[SEARCH_ATTRIBUTES[name]]}`]),
    ...dynamicConfigFlags(),
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

  const ready = await whenFrontendReady(server, address, {
    what: 'Temporal dev server',
    timeoutMs: START_TIMEOUT_MS,
    stopGraceMs: 10_000,
    // The flag above only applies to namespaces the server creates, not to an existing db file.
    prepare: (connection) => ensureSearchAttributes(connection, options.namespace),
  });
  return { address, uiUrl: options.headless ? undefined : `http://${HOST}:${uiPort}`, ...ready };
}

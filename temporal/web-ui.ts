import { fileURLToPath } from 'node:url';
import { hasExited, startManagedProcess, waitUntil } from '../src/dev/process.ts';
import { createLogger, type Logger } from '../src/logging.ts';

// The Temporal Web UI for the production server (temporal/production-server.ts), which has no UI of its
// own: the UI server (github.com/temporalio/ui-server/v2 v2.42.1, pinned in go.mod, its assets built in) —
// the same UI the CLI's dev server embeds. Its settings are ui-config/production.yaml, rendered by the UI
// server from the environment set here.

const TEMPORAL_DIR = fileURLToPath(new URL('.', import.meta.url));
const HOST = '127.0.0.1';

export interface TemporalUiOptions {
  /** The frontend the UI talks to (one node's; each node serves the whole cluster). */
  frontendAddress: string;
  port: number;
  namespace: string;
  /** The Web UI's codec endpoint, which decodes payloads for display. */
  codecEndpoint?: string;
  /** Defaults to `temporal-ui-server` on PATH. */
  executable?: string;
  logger?: Logger;
}

export interface TemporalUi {
  url: string;
  exited: Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts the UI server against one frontend and waits until it serves the UI. */
export async function startTemporalUi(options: TemporalUiOptions): Promise<TemporalUi> {
  const log = options.logger ?? createLogger('temporal-ui', 'info');
  const url = `http://${HOST}:${options.port}`;
  const ui = startManagedProcess(options.executable ?? 'temporal-ui-server', ['--root', TEMPORAL_DIR, '--config', 'ui-config', '--env', 'production', 'start'], {
    logger: log,
    // It logs only its config loading (hideLogs); anything on stderr past that deserves a look.
    classify: (line) => (/Loading config/.test(line) ? 'debug' : 'warn'),
    env: {
      PATH: process.env.PATH,
      TEMPORAL_ADDRESS: options.frontendAddress,
      TEMPORAL_UI_IP: HOST,
      TEMPORAL_UI_PORT: String(options.port),
      TEMPORAL_DEFAULT_NAMESPACE: options.namespace,
      TEMPORAL_CODEC_ENDPOINT: options.codecEndpoint ?? '',
    },
  });
  try {
    await waitUntil(async () => ((await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok ? true : undefined), {
      what: `Temporal Web UI on ${url}`,
      timeoutMs: 30_000,
      intervalMs: 250,
      gaveUp: () => (hasExited(ui) ? `exited during start-up:\n${ui.recentOutput()}` : undefined),
    });
  } catch (error) {
    await ui.stop('SIGTERM', 5_000);
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    url,
    exited: ui.exited,
    stop() {
      stopping ??= ui.stop('SIGTERM', 5_000).then(() => undefined);
      return stopping;
    },
  };
}

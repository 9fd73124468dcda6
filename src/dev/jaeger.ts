import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../logging.ts';
import { findExecutable, hasExited, startManagedProcess, waitUntil, type LineLevel } from './process.ts';

// Jaeger v2 (an OpenTelemetry Collector distribution) as a local trace sink with in-memory storage.
// Optional: without the `jaeger` binary the stack runs with tracing export off.
//
// Given no --config, the binary runs its built-in all-in-one config, which has fixed ports (4317,
// 4318, 16686, 16685, plus 5778, 5779, 6831, 6832, 9411, 13133, 14250, 14268, 27777, 27778 and 8888
// for its own metrics). Tests need free ports and parallel runs must not clash, so we write a minimal
// config instead: OTLP in, memory store, query API out, nothing else listening.

export interface JaegerOptions {
  otlpGrpcPort?: number;
  otlpHttpPort?: number;
  /** HTTP query API (and UI, when the binary has its assets). */
  queryPort?: number;
  queryGrpcPort?: number;
  /** Defaults to `jaeger` on PATH. */
  executable?: string;
  logger?: Logger;
}

export interface Jaeger {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (OTLP over HTTP). */
  otlpHttpEndpoint: string;
  otlpGrpcEndpoint: string;
  /** Base URL of the query API, e.g. `${queryUrl}/api/traces?service=eventflow-api`. */
  queryUrl: string;
  exited: Promise<unknown>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
// Enough traces for a long dev session; the memory store evicts the oldest beyond this.
const MAX_TRACES = 100_000;

export async function startJaeger(options: JaegerOptions = {}): Promise<Jaeger | undefined> {
  const log = options.logger ?? createLogger('jaeger', 'info');
  const executable = options.executable ?? (await findExecutable('jaeger'));
  if (!executable) {
    log.info('jaeger binary not found on PATH: tracing export is off');
    return undefined;
  }
  const ports = {
    otlpGrpc: options.otlpGrpcPort ?? 4317,
    otlpHttp: options.otlpHttpPort ?? 4318,
    query: options.queryPort ?? 16686,
    queryGrpc: options.queryGrpcPort ?? 16685,
  };
  const configDir = await mkdtemp(join(tmpdir(), 'eventflow-jaeger-'));
  const configFile = join(configDir, 'config.yaml');
  await writeFile(configFile, renderConfig(ports));

  const server = startManagedProcess(executable, [`--config=file:${configFile}`], {
    logger: log,
    classify: classifyCollectorLine,
  });
  const queryUrl = `http://${HOST}:${ports.query}`;
  try {
    await waitUntil(
      async () => ((await fetch(`${queryUrl}/api/services`, { signal: AbortSignal.timeout(1_000) })).ok ? true : undefined),
      {
        what: `Jaeger query API on ${queryUrl}`,
        timeoutMs: 30_000,
        gaveUp: () => (hasExited(server) ? `exited during start-up:\n${server.recentOutput()}` : undefined),
      },
    );
  } catch (error) {
    await server.stop('SIGTERM', 5_000);
    await rm(configDir, { recursive: true, force: true });
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    otlpHttpEndpoint: `http://${HOST}:${ports.otlpHttp}`,
    otlpGrpcEndpoint: `http://${HOST}:${ports.otlpGrpc}`,
    queryUrl,
    exited: server.exited,
    stop() {
      stopping ??= (async () => {
        await server.stop('SIGTERM', 10_000);
        await rm(configDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/** Collector logs are zap console lines: `<time>\t<level>\t<caller>\t<message>\t{fields}`. */
function classifyCollectorLine(line: string): LineLevel {
  // A `go install`ed binary has no UI assets; the launcher's banner says so, once.
  if (line.includes('ui assets not embedded')) return 'debug';
  const level = /^\S+\t(\w+)\t/.exec(line)?.[1];
  if (level === 'warn') return 'warn';
  if (level === 'error' || level === 'dpanic' || level === 'panic' || level === 'fatal') return 'error';
  return 'debug';
}

function renderConfig(ports: { otlpGrpc: number; otlpHttp: number; query: number; queryGrpc: number }): string {
  return `# Written by src/dev/jaeger.ts: the all-in-one pipeline, reduced to the ports EventFlow uses.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    # The default would serve Prometheus metrics on a fixed port 8888.
    metrics:
      level: none
    logs:
      level: warn

extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: ${MAX_TRACES}
  jaeger_query:
    storage:
      traces: memstore
    # Otherwise Jaeger traces its own queries, and "jaeger" shows up among our services.
    enable_tracing: false
    http:
      endpoint: ${HOST}:${ports.query}
    grpc:
      endpoint: ${HOST}:${ports.queryGrpc}

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${HOST}:${ports.otlpGrpc}
      http:
        endpoint: ${HOST}:${ports.otlpHttp}

processors:
  batch:

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

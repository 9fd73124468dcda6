// Every setting EventFlow reads from the environment, parsed once at boot into one typed object.
// Nothing else in the code base reads process.env, so this file is the full list of knobs.
import { fileURLToPath } from 'node:url';

export interface EventFlowConfig {
  /** Postgres connection string; when absent the dev launcher starts an embedded server and sets it. */
  databaseUrl: string;
  databasePoolSize: number;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
  };
  api: {
    host: string;
    port: number;
    /** Fixed instance-admin key (automation); otherwise the launcher generates and keeps one. */
    adminKey: string | undefined;
    /** Trust X-Forwarded-For for the client IP; only safe behind a proxy that sets it. */
    trustProxy: boolean;
    /** The Temporal Web UI's codec endpoint (src/api/routes/codec.ts). */
    codec: {
      /** Let requests from loopback read every project's runs (the dev stack); otherwise an admin key is needed. */
      allowLoopback: boolean;
      /** Origins of the Web UI allowed to call it from a browser. */
      corsOrigins: string[];
    };
    /** Load shedding for POST /v1/events (429 + Retry-After); see src/api/events/admission.ts. */
    ingest: {
      maxInFlightEvents: number;
      /** Processing lag (expected wait of a batch accepted now, src/temporal/backlog.ts) above which ingestion is refused; 0 = never. */
      maxBacklogSeconds: number;
      /** How often the lag is read from Temporal. */
      backlogProbeIntervalMs: number;
      /** Concurrent group commits of accepted requests (src/ingest/group-commit.ts). */
      commitWriters: number;
      /** How accepted requests are grouped into runs (src/ingest/run-starter.ts). */
      runWindowMs: number;
      runMaxEvents: number;
      runMaxRequests: number;
      /** Bytes of batch ids in a run's BatchIds search attribute (the server's per-value limit). */
      batchIdsMaxBytes: number;
    };
  };
  worker: {
    /** Serves /metrics (ours and the Temporal SDK's); 0 disables it. */
    metricsPort: number;
    /** Where the Temporal SDK's own Prometheus exporter listens (127.0.0.1), proxied by /metrics. */
    temporalMetricsPort: number;
    maxConcurrentActivities: number;
    maxConcurrentWorkflowTasks: number;
  };
  webhooks: {
    /** Delay before each retry, in seconds; the attempt count is this list's length plus one. */
    retryScheduleSeconds: number[];
    attemptTimeoutMs: number;
    /** Hosts or CIDRs that may be targeted although they are private (SSRF guard). */
    allowedPrivateTargets: string[];
    deadLetterRetentionSeconds: number;
    disableAfterFailingSeconds: number;
    secretRotationGraceSeconds: number;
    deliveryConcurrency: number;
  };
  smtp: {
    url: string | undefined;
    from: string;
  };
  /** People's logins (src/accounts, src/api/routes/auth.ts). */
  auth: {
    /** HMAC secret of access tokens; unset: derived from EVENTFLOW_ADMIN_KEY, which every API process shares. */
    jwtSecret: string | undefined;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    /** `open`: anyone may register (and gets a project of their own); `closed`: only invited emails. */
    signup: 'open' | 'closed';
    /** Send the refresh cookie with `Secure` (browsers then send it over HTTPS only). */
    secureCookies: boolean;
    /** Failed logins allowed per account and per client address within the window, then 429. */
    maxFailuresPerAccount: number;
    maxFailuresPerAddress: number;
    failureWindowSeconds: number;
  };
  graphql: {
    /** Serve GraphiQL at GET /graphql (the dev stack turns it on). */
    graphiql: boolean;
    /** Answer introspection queries (schema discovery for tools). */
    introspection: boolean;
    /** Deepest selection nesting and highest estimated cost a query may have before it is refused. */
    maxDepth: number;
    maxCost: number;
  };
  /** The web dashboard the API serves under /dashboard/ (src/api/routes/dashboard.ts). */
  dashboard: {
    /** The built assets (`npm run build:dashboard`); when missing, /dashboard/ says how to build them. */
    dir: string;
    /** The Temporal Web UI's base URL, for deep links to runs; unset: no links. */
    temporalUiUrl: string | undefined;
  };
  logLevel: string;
  /** OTLP/HTTP base URL traces are exported to (ours and, through POST /v1/traces, the dashboard's). */
  otlpEndpoint: string | undefined;
  /** Jaeger's HTTP query API, read for an event's trace waterfall; unset: no waterfall. */
  jaegerQueryUrl: string | undefined;
}

/** What the preloaded telemetry module needs; read apart from `loadConfig` so it never throws at preload. */
export interface TelemetryConfig {
  /** Unset means tracing is off: no SDK is started and nothing is exported. */
  otlpEndpoint: string | undefined;
  /** The standard OTEL_SDK_DISABLED switch, honoured even when an endpoint is set. */
  sdkDisabled: boolean;
  serviceName: string | undefined;
}

export function loadTelemetryConfig(env: Env = process.env): TelemetryConfig {
  return {
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
    sdkDisabled: env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true',
    serviceName: env.OTEL_SERVICE_NAME || undefined,
  };
}

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

function oneOf<const T extends readonly string[]>(env: Env, name: string, values: T): T[number] {
  const raw = env[name];
  if (raw === undefined || raw === '') return values[0];
  if (!values.includes(raw)) throw new ConfigError(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
  return raw as T[number];
}

function secret(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 32) throw new ConfigError(`${name} must be at least 32 characters`);
  return raw;
}

function integer(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw.split(',').map((item) => item.trim()).filter(Boolean);
}

function secondsList(env: Env, name: string, fallback: number[]): number[] {
  const values = list(env, name, fallback.map(String)).map(Number);
  if (values.some((value) => !Number.isFinite(value) || value < 0)) {
    throw new ConfigError(`${name} must be a comma-separated list of non-negative seconds`);
  }
  return values;
}

// Modelled on the Standard Webhooks schedule: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
export const DEFAULT_RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18000, 36000, 36000];

export function loadConfig(env: Env = process.env): EventFlowConfig {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new ConfigError('DATABASE_URL is required');
  const workerMetricsPort = integer(env, 'WORKER_METRICS_PORT', 9464);
  return {
    databaseUrl,
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1),
    temporal: {
      address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
      namespace: env.TEMPORAL_NAMESPACE || 'default',
      taskQueue: env.TEMPORAL_TASK_QUEUE || 'eventflow',
    },
    api: {
      host: env.HOST || '0.0.0.0',
      port: integer(env, 'PORT', 3000),
      adminKey: env.EVENTFLOW_ADMIN_KEY || undefined,
      trustProxy: env.TRUST_PROXY === 'true' || env.TRUST_PROXY === '1',
      codec: {
        allowLoopback: env.CODEC_ALLOW_LOOPBACK === 'true' || env.CODEC_ALLOW_LOOPBACK === '1',
        corsOrigins: (env.CODEC_CORS_ORIGINS ?? 'http://127.0.0.1:8233,http://localhost:8233').split(',').map((origin) => origin.trim()).filter(Boolean),
      },
      ingest: {
        maxInFlightEvents: integer(env, 'INGEST_MAX_IN_FLIGHT_EVENTS', 100_000, 1),
        maxBacklogSeconds: integer(env, 'INGEST_MAX_BACKLOG_SECONDS', 30, 0),
        backlogProbeIntervalMs: integer(env, 'INGEST_BACKLOG_PROBE_MS', 1_000, 100),
        commitWriters: integer(env, 'INGEST_COMMIT_WRITERS', 2, 1),
        runWindowMs: Math.min(integer(env, 'INGEST_RUN_WINDOW_MS', 50, 0), 1_000),
        // One bulk insert per run; 2,000 events take well under a second to store.
        runMaxEvents: integer(env, 'INGEST_RUN_MAX_EVENTS', 2_000, 1),
        // The run's batch ids ride in its input and its BatchIds search attribute: 500 ids are ~20 KB,
        // within the value size temporal/dynamicconfig allows (the server's default allows ~50).
        runMaxRequests: integer(env, 'INGEST_RUN_MAX_REQUESTS', 500, 1),
        // Temporal's default frontend.searchAttributesSizeOfValueLimit is 2 KB; temporal/dynamicconfig
        // raises it to 32 KiB for the stacks this repository starts. Set 2000 against a default server.
        batchIdsMaxBytes: integer(env, 'TEMPORAL_BATCH_IDS_MAX_BYTES', 30_000, 64),
      },
    },
    worker: {
      metricsPort: workerMetricsPort,
      temporalMetricsPort: integer(env, 'WORKER_TEMPORAL_METRICS_PORT', workerMetricsPort === 0 ? 0 : workerMetricsPort + 1),
      maxConcurrentActivities: integer(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES', 100, 1),
      maxConcurrentWorkflowTasks: integer(env, 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 40, 2),
    },
    webhooks: {
      retryScheduleSeconds: secondsList(env, 'WEBHOOK_RETRY_SCHEDULE', DEFAULT_RETRY_SCHEDULE_SECONDS),
      attemptTimeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 15_000, 1),
      allowedPrivateTargets: list(env, 'WEBHOOK_ALLOWED_PRIVATE_TARGETS', []),
      deadLetterRetentionSeconds: integer(env, 'DEAD_LETTER_RETENTION_SECONDS', 7 * 24 * 3600, 1),
      disableAfterFailingSeconds: integer(env, 'WEBHOOK_DISABLE_AFTER_SECONDS', 5 * 24 * 3600, 1),
      secretRotationGraceSeconds: integer(env, 'WEBHOOK_SECRET_GRACE_SECONDS', 24 * 3600, 0),
      deliveryConcurrency: integer(env, 'WEBHOOK_DELIVERY_CONCURRENCY', 64, 1),
    },
    smtp: {
      url: env.SMTP_URL || undefined,
      from: env.SMTP_FROM || 'EventFlow <eventflow@localhost>',
    },
    auth: {
      jwtSecret: secret(env, 'AUTH_JWT_SECRET'),
      accessTokenTtlSeconds: integer(env, 'AUTH_ACCESS_TOKEN_TTL_SECONDS', 900, 30),
      refreshTokenTtlSeconds: integer(env, 'AUTH_REFRESH_TOKEN_TTL_SECONDS', 30 * 24 * 3600, 60),
      signup: oneOf(env, 'AUTH_SIGNUP', ['closed', 'open'] as const),
      secureCookies: env.AUTH_SECURE_COOKIES !== 'false' && env.AUTH_SECURE_COOKIES !== '0',
      maxFailuresPerAccount: integer(env, 'AUTH_MAX_FAILURES_PER_ACCOUNT', 5, 1),
      maxFailuresPerAddress: integer(env, 'AUTH_MAX_FAILURES_PER_ADDRESS', 20, 1),
      failureWindowSeconds: integer(env, 'AUTH_FAILURE_WINDOW_SECONDS', 900, 1),
    },
    graphql: {
      graphiql: env.GRAPHQL_GRAPHIQL === 'true' || env.GRAPHQL_GRAPHIQL === '1',
      introspection: env.GRAPHQL_INTROSPECTION !== 'false' && env.GRAPHQL_INTROSPECTION !== '0',
      maxDepth: integer(env, 'GRAPHQL_MAX_DEPTH', 8, 2),
      maxCost: integer(env, 'GRAPHQL_MAX_COST', 5_000, 10),
    },
    dashboard: {
      dir: env.DASHBOARD_DIR || fileURLToPath(new URL('./dashboard/dist', import.meta.url)),
      temporalUiUrl: env.TEMPORAL_UI_URL?.replace(/\/+$/, '') || undefined,
    },
    logLevel: env.LOG_LEVEL || 'info',
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
    jaegerQueryUrl: env.JAEGER_QUERY_URL?.replace(/\/+$/, '') || undefined,
  };
}

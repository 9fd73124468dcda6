import { fileURLToPath } from 'node:url';
import { loadConfig, type EventFlowConfig } from '../config.ts';

// What the dev launcher and the test harness take from the environment: which backing services the
// caller already runs (those are used as they are; the rest is started locally), plus the ordinary
// EventFlow config the services will see.

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ProvidedServices {
  databaseUrl?: string;
  temporalAddress?: string;
  otlpEndpoint?: string;
  smtpUrl?: string;
  adminKey?: string;
}

export interface DevEnv {
  provided: ProvidedServices;
  /** Parsed with the same rules the API and worker apply, so a bad value fails here, once. */
  config: EventFlowConfig;
}

type Env = Record<string, string | undefined>;

export function readDevEnv(env: Env = process.env): DevEnv {
  const provided: ProvidedServices = {
    databaseUrl: env.DATABASE_URL || undefined,
    temporalAddress: env.TEMPORAL_ADDRESS || undefined,
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
    smtpUrl: env.SMTP_URL || undefined,
    adminKey: env.EVENTFLOW_ADMIN_KEY || undefined,
  };
  // loadConfig insists on DATABASE_URL, which the launcher may be about to provide itself; the
  // stand-in only lets the other settings be parsed and is never connected to.
  const config = loadConfig({ ...env, DATABASE_URL: provided.databaseUrl ?? 'postgres://embedded.invalid/' });
  return { provided, config };
}

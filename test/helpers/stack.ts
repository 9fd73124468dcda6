import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import { ensureRootKey } from '../../src/keys/root-key.ts';
import { generateKey } from '../../src/keys/secrets.ts';
import { startApiServer } from '../../src/api/server.ts';
import type { TemporalClientRef } from '../../src/api/temporal-access.ts';
import type { EventFlowConfig } from '../../src/config.ts';
import { createDatabase } from '../../src/db/connection.ts';
import { createLogger } from '../../src/logging.ts';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes.ts';
import { waitFor } from './projects.ts';
import { startTestWorker, testConfig } from './worker.ts';

export { waitFor };

export interface RequestOptions {
  /** Sent as `Authorization: Bearer <key>`. */
  key?: string;
  /** A string is sent verbatim; anything else as JSON. JSON Content-Type unless `headers` says otherwise. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON (undefined when empty). */
  body: T;
  ms: number;
}

export interface TestProject {
  id: string;
  name: string;
  adminKey: string;
}

export interface Stack {
  baseUrl: string;
  /** A root admin key made for this stack. */
  adminKey: string;
  config: EventFlowConfig;
  db: Knex;
  /** A client of the harness's Temporal server (undefined for an API-only stack). */
  client: Client | undefined;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** A project of its own (via POST /v1/projects), so test files never see each other's data. */
  createProject(name?: string): Promise<TestProject>;
  waitFor: typeof waitFor;
  stop(): Promise<void>;
}

export interface StackOptions {
  /**
   * Point the API's Temporal client at this address instead of the harness's server, without a worker.
   * The connection is lazy, so an unreachable address makes a running API whose Temporal is down.
   */
  temporalAddress?: string;
  /** Run the API without any Temporal client, as while the boot-time connection is still retried. */
  withoutTemporal?: boolean;
  keyCacheTtlMs?: number;
  /** Extra environment for the stack's config, e.g. `{ TRUST_PROXY: 'true' }`. */
  env?: Record<string, string>;
  /** Run the task-queue backlog probe that feeds load shedding, as the API's main does. */
  backlogProbe?: boolean;
}

/**
 * The API in-process on a free port with a fresh root key, plus (by default) a real worker on a task
 * queue of its own, against the harness's Postgres and Temporal.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const apiOnly = options.temporalAddress !== undefined || options.withoutTemporal === true;
  const config = testConfig({ ...options.env, ...(options.temporalAddress ? { TEMPORAL_ADDRESS: options.temporalAddress } : {}) });
  const stops: Array<() => Promise<unknown>> = [];

  let db: Knex;
  let client: Client | undefined;
  if (apiOnly) {
    db = createDatabase(config.databaseUrl, 5);
    stops.push(() => db.destroy());
    if (options.temporalAddress) {
      client = new Client({ connection: Connection.lazy({ address: options.temporalAddress }), namespace: config.temporal.namespace });
      const lazyClient = client;
      stops.push(() => lazyClient.connection.close());
    }
  } else {
    const worker = await startTestWorker(config);
    stops.push(() => worker.stop());
    db = worker.db;
    client = worker.client;
    await ensureSearchAttributes(client.connection as Connection, config.temporal.namespace);
  }

  const adminKey = generateKey();
  // Test files share one database: each adds its own root key and leaves the others' alone.
  await ensureRootKey(db, adminKey, { revokeOtherRootKeys: false });

  const temporal: TemporalClientRef = { current: client };
  const log = createLogger('eventflow-api-test', config.logLevel);
  const api = await startApiServer({
    config,
    db,
    log,
    temporal,
    host: '127.0.0.1',
    port: 0,
    backlogProbe: options.backlogProbe === true,
    keyCacheTtlMs: options.keyCacheTtlMs,
  });
  stops.unshift(() => api.stop(0));
  const baseUrl = api.baseUrl;

  async function request<T = any>(method: string, path: string, { key, body, headers = {} }: RequestOptions = {}): Promise<ApiResponse<T>> {
    const sent: Record<string, string> = {};
    if (key !== undefined) sent.authorization = `Bearer ${key}`;
    if (body !== undefined) sent['content-type'] = 'application/json';
    Object.assign(sent, headers);
    const started = performance.now();
    const response = await fetch(baseUrl + path, {
      method,
      headers: sent,
      body: body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text === '' ? undefined : text;
    if ((response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: parsed as T, ms: performance.now() - started };
  }

  return {
    baseUrl,
    adminKey,
    config,
    db,
    client,
    request,
    async createProject(name = 'test') {
      const response = await request('POST', '/v1/projects', { key: adminKey, body: { name } });
      if (response.status !== 201) throw new Error(`creating a project failed: ${response.status} ${JSON.stringify(response.body)}`);
      return { id: response.body.id, name: response.body.name, adminKey: response.body.admin_key.key };
    },
    waitFor,
    async stop() {
      for (const stop of stops) await stop();
    },
  };
}

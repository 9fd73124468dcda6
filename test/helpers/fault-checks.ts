import assert from 'node:assert/strict';
import { after } from 'node:test';
import type { Knex } from 'knex';
import { createDatabase } from '../../src/db/connection.ts';
import { delay, waitUntil, type WaitOptions } from '../../src/dev/process.ts';
import type { ReceivedRequest } from './receiver.ts';
import { storedCounts, waitUntilDelivered, waitUntilStored, type DeliveryTally, type LoadReport } from './steady-load.ts';

// What the fault tests (test/faults/) share: their cleanup, the API calls that set a project up, /ready
// probing, and the checks every fault ends with: what was acknowledged is stored exactly once and
// delivered (or dead-lettered) under one webhook-id.

/**
 * Cleanups for a whole test file, run in reverse order after its last test; a failing one is logged and
 * the rest still run. Usable as the `t` of startServices (its `after`).
 */
export class Cleanups {
  readonly #stops: Array<() => Promise<unknown>> = [];

  constructor() {
    after(async () => {
      for (const stop of this.#stops.reverse()) await stop().catch((error: unknown) => console.error('cleanup failed:', error));
    });
  }

  readonly push = (stop: () => Promise<unknown>): void => {
    this.#stops.push(stop);
  };

  readonly after = this.push;
}

/** A connection pool to the harness's Postgres (DATABASE_URL), destroyed at the end. */
export function harnessDatabase(cleanups: Cleanups, poolSize = 2): Knex {
  const databaseUrl = process.env.DATABASE_URL;
  assert.ok(databaseUrl, 'the harness sets DATABASE_URL');
  const db = createDatabase(databaseUrl, poolSize);
  cleanups.push(() => db.destroy());
  return db;
}

/** An API request with a JSON body; asserts a 2xx answer and returns its status and parsed body. */
export async function apiRequest(apiUrl: string, method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.status < 300, `${method} ${path} answered ${response.status}: ${text}`);
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
}

/** apiRequest's parsed body only. */
export async function apiCall(apiUrl: string, method: string, path: string, key: string, body?: unknown): Promise<Record<string, unknown>> {
  return (await apiRequest(apiUrl, method, path, key, body)).body;
}

/** A new project (created with `rootKey`) with a webhook for every event type to `receiverUrl`. */
export async function createProjectWithWebhook(apiUrl: string, rootKey: string, name: string, receiverUrl: string): Promise<{ projectId: string; key: string }> {
  const project = await apiCall(apiUrl, 'POST', '/v1/projects', rootKey, { name });
  const projectId = project.id as string;
  const key = (project.admin_key as { key: string }).key;
  await apiCall(apiUrl, 'POST', '/v1/webhooks', key, { url: receiverUrl, event_types: ['*'] });
  return { projectId, key };
}

export interface ReadyAnswer {
  status: number;
  body: string;
}

/** One GET /ready; a failed request answers status 0 with the error as body. */
export async function readiness(apiUrl: string): Promise<ReadyAnswer> {
  try {
    const response = await fetch(`${apiUrl}/ready`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: String(error) };
  }
}

/** Polls /ready until it answers 200. */
export async function waitUntilReady(apiUrl: string, options: WaitOptions): Promise<void> {
  await waitUntil(async () => ((await readiness(apiUrl)).status === 200 ? true : undefined), options);
}

/** Probes each API's /ready (side by side) every `intervalMs` until `until`; returns every answer per API. */
export async function probeReadiness(apiUrls: string[], until: number, intervalMs: number): Promise<ReadyAnswer[][]> {
  const answers = apiUrls.map(() => [] as ReadyAnswer[]);
  while (Date.now() < until) {
    const round = await Promise.all(apiUrls.map((apiUrl) => readiness(apiUrl)));
    round.forEach((answer, index) => answers[index]!.push(answer));
    await delay(Math.min(intervalMs, Math.max(0, until - Date.now())));
  }
  return answers;
}

/** The API answered nothing but 202s and documented refusals: no 5xx other than a 503 with Retry-After. */
export function assertNoServerErrors(report: LoadReport): void {
  assert.deepEqual(report.fiveHundreds, [], 'no 5xx other than 503 with Retry-After');
  assert.deepEqual(report.anomalies, []);
}

/** Refusals counted by `${status} ${code}`. */
export function refusalsByCode(report: LoadReport): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status, code } of report.refused) counts[`${status} ${code}`] = (counts[`${status} ${code}`] ?? 0) + 1;
  return counts;
}

/**
 * Waits until every accepted id is stored, then checks each is stored exactly once, each uncertain id
 * at most once, and nothing else is stored in the project. Returns the wait (ms), when it ended, and the
 * uncertain ids that were stored.
 */
export async function checkStoredExactlyOnce(
  db: Knex,
  projectId: string,
  report: LoadReport,
  timeoutMs: number,
): Promise<{ catchUpMs: number; storedAt: number; uncertainStored: string[] }> {
  const catchUpMs = await waitUntilStored({ db, projectId }, report.accepted, timeoutMs);
  const storedAt = Date.now();
  const counts = await storedCounts(db, projectId, [...report.accepted, ...report.uncertain]);
  assert.deepEqual(
    report.accepted.filter((id) => counts.get(id) !== 1),
    [],
    'every accepted id stored exactly once',
  );
  assert.deepEqual(
    report.uncertain.filter((id) => (counts.get(id) ?? 0) > 1),
    [],
    'uncertain ids stored at most once',
  );
  const uncertainStored = report.uncertain.filter((id) => counts.has(id));
  const [{ total }] = (await db('events').where('project_id', projectId).count({ total: '*' })) as Array<{ total: string }>;
  assert.equal(Number(total), report.accepted.length + uncertainStored.length, 'no event stored that was not accepted');
  return { catchUpMs, storedAt, uncertainStored };
}

export interface DeliveryCheck {
  /** 'allowed' (default): each id delivered or dead-lettered; 'none': each id delivered, no dead letters. */
  deadLetters?: 'allowed' | 'none';
  /** When given, nothing may be delivered but `ids` and these (the uncertain ids). */
  alsoExpected?: readonly string[];
}

/**
 * Waits until every one of `ids` is delivered (deduplicated by webhook-id) or dead-lettered and checks
 * that, and that no event was delivered under two webhook-ids. Returns the tally.
 */
export async function checkDelivered(
  received: readonly ReceivedRequest[],
  source: { db: Knex; projectId: string },
  ids: string[],
  timeoutMs: number,
  check: DeliveryCheck = {},
): Promise<DeliveryTally & { ms: number }> {
  const deliveries = await waitUntilDelivered(received, source, ids, timeoutMs);
  if (check.deadLetters === 'none') {
    assert.equal(deliveries.delivered, ids.length, 'every accepted event delivered');
    assert.equal(deliveries.deadLettered, 0, 'no dead letters');
  } else {
    assert.equal(deliveries.delivered + deliveries.deadLettered, ids.length, 'every accepted event delivered or dead-lettered');
  }
  assert.deepEqual(deliveries.duplicated, [], 'no event delivered under two webhook-ids');
  if (check.alsoExpected) {
    const alsoExpected = new Set(check.alsoExpected);
    assert.deepEqual(
      deliveries.unexpected.filter((id) => !alsoExpected.has(id)),
      [],
      'nothing delivered that was not accepted (or uncertain)',
    );
  }
  return deliveries;
}

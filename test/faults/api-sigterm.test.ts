import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { before, test } from 'node:test';
import type { Knex } from 'knex';
import { delay } from '../../src/dev/process.ts';
import { assertNoServerErrors, checkDelivered, checkStoredExactlyOnce, Cleanups, createProjectWithWebhook, harnessDatabase } from '../helpers/fault-checks.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { startServices, type Services } from '../helpers/services.ts';
import { startSteadyLoad, type RequestOutcome } from '../helpers/steady-load.ts';

// Fault: one of two API processes gets SIGTERM under steady load spread over both. Both APIs (and a
// worker each) run on one task queue against the harness's Postgres and Temporal, with one root key
// (an API's boot revokes every other root key, so two different keys would lock the first out).

const LOAD = { ratePerSecond: 100, eventsPerRequest: 5 };
const BEFORE_SIGTERM_MS = 6_000;
const AFTER_EXIT_MS = 6_000;
/** The API's drain allows 10 s (DRAIN_TIMEOUT_MS in src/api/main.ts); exit must come well within that. */
const EXIT_BOUND_MS = 12_000;
const CATCH_UP_BOUND_MS = 60_000;

const cleanups = new Cleanups();
let db: Knex;
let first: Services;
let second: Services;
let receiver: Receiver;
let rootKey: string;

before(async () => {
  db = harnessDatabase(cleanups);
  receiver = await startReceiver();
  cleanups.push(() => receiver.close());
  rootKey = `ef_test_${randomBytes(16).toString('hex')}`;
  const shared = { TEMPORAL_TASK_QUEUE: `sigterm-${randomUUID()}`, EVENTFLOW_ADMIN_KEY: rootKey };
  [first, second] = await Promise.all([startServices(cleanups, shared), startServices(cleanups, shared)]);
});

const count = (outcomes: RequestOutcome[], kind: RequestOutcome['kind']) => outcomes.filter((outcome) => outcome.kind === kind).length;

test('an API SIGTERMed under load answers what it holds, accepts nothing by halves, and the other API keeps serving', { timeout: 180_000 }, async () => {
  // startServices reports the key it generated, not the one extraEnv replaced it with: use ours.
  const { projectId, key } = await createProjectWithWebhook(second.apiUrl, rootKey, 'api-sigterm', receiver.url);

  const load = startSteadyLoad({ urls: [first.apiUrl, second.apiUrl], key, ...LOAD, eventType: 'fault.api_sigterm', idPrefix: `sig-${projectId.slice(0, 8)}` });
  let report;
  let sigtermAt = 0;
  let exitMs = 0;
  let exitCode: unknown;
  try {
    await delay(BEFORE_SIGTERM_MS);
    sigtermAt = Date.now();
    first.api.child.kill('SIGTERM');
    exitCode = await first.api.exited;
    exitMs = Date.now() - sigtermAt;
    await delay(AFTER_EXIT_MS);
    report = await load.stop();
  } finally {
    report ??= await load.stop();
  }

  const ofFirst = report.outcomes.filter((outcome) => outcome.url === first.apiUrl);
  const ofSecond = report.outcomes.filter((outcome) => outcome.url === second.apiUrl);
  const firstAfterSigterm = ofFirst.filter((outcome) => outcome.at >= sigtermAt);

  assertNoServerErrors(report);
  assert.ok(exitMs <= EXIT_BOUND_MS, `the API exited ${exitMs} ms after SIGTERM`);
  // The second API answered every one of its requests with 202, before, during and after the first's exit.
  assert.deepEqual(
    ofSecond.filter((outcome) => outcome.kind !== 'accepted'),
    [],
    'every request to the second API was accepted',
  );
  assert.ok(ofSecond.some((outcome) => outcome.sentAt > sigtermAt + exitMs), 'the second API served after the first exited');
  // The first API: nothing but 202, documented 503s, or a refused/cut connection once it stops.
  for (const refusal of report.refused) {
    assert.equal(refusal.url, first.apiUrl, `refusal from the second API: ${refusal.status} ${refusal.code}`);
    assert.equal(refusal.status, 503, `refusal ${refusal.status} ${refusal.code}`);
    assert.ok(refusal.retryAfter, '503 with Retry-After');
  }
  assert.ok(count(ofFirst, 'connection_failed') > 0, 'new requests to the stopped API are refused');
  // Requests the first API had already taken when SIGTERM came were answered: drained with their 202
  // (their ids are checked below), not refused, cut short only at the connection level if at all.
  const inFlightAtSigterm = ofFirst.filter((outcome) => outcome.sentAt < sigtermAt && outcome.at >= sigtermAt);
  assert.deepEqual(
    ofFirst.filter((outcome) => outcome.sentAt < sigtermAt && (outcome.kind === 'refused' || outcome.kind === 'server_error')),
    [],
    'requests sent before SIGTERM were not refused',
  );

  // Every acknowledged id stored exactly once; uncertain ones at most once; nothing else stored.
  const { catchUpMs, uncertainStored } = await checkStoredExactlyOnce(db, projectId, report, CATCH_UP_BOUND_MS);
  const deliveries = await checkDelivered(receiver.requests, { db, projectId }, report.accepted, CATCH_UP_BOUND_MS);

  console.log(
    `api-sigterm: ${JSON.stringify({
      exitCode,
      exitAfterSigtermMs: exitMs,
      storedCatchUpAfterLoadStopMs: catchUpMs,
      deliveredCatchUpAfterStoredMs: deliveries.ms,
      requestsSent: report.sent,
      acceptedRequestsByApi: { first: report.byUrl[first.apiUrl], second: report.byUrl[second.apiUrl] },
      inFlightAtSigterm: { total: inFlightAtSigterm.length, accepted: count(inFlightAtSigterm, 'accepted'), uncertain: count(inFlightAtSigterm, 'uncertain') },
      firstAfterSigterm: {
        accepted: count(firstAfterSigterm, 'accepted'),
        refused503: count(firstAfterSigterm, 'refused'),
        connectionRefused: count(firstAfterSigterm, 'connection_failed'),
        uncertain: count(firstAfterSigterm, 'uncertain'),
      },
      acceptedEvents: report.accepted.length,
      uncertainEvents: report.uncertain.length,
      uncertainStored: uncertainStored.length,
      skippedTicks: report.skipped,
      delivered: deliveries.delivered,
      deadLettered: deliveries.deadLettered,
      redeliveredRequests: deliveries.redelivered,
    })}`,
  );
});

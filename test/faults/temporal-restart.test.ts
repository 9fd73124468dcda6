import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { Knex } from 'knex';
import { delay, getFreePort, hasExited, waitUntil } from '../../src/dev/process.ts';
import { createLogger } from '../../src/logging.ts';
import { startTemporalDevServer, type TemporalDevServer } from '../../temporal/dev-server.ts';
import {
  assertNoServerErrors,
  checkDelivered,
  checkStoredExactlyOnce,
  Cleanups,
  createProjectWithWebhook,
  harnessDatabase,
  probeReadiness,
  readiness,
  refusalsByCode,
  waitUntilReady,
  type ReadyAnswer,
} from '../helpers/fault-checks.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { startServices, type Services } from '../helpers/services.ts';
import { startSteadyLoad, storedCounts, waitUntilStored } from '../helpers/steady-load.ts';

// Fault: the Temporal dev server is SIGKILLed under steady ingestion and started again on the same SQLite
// file and port. The API and worker run against a dev server of this file's own (the harness's is shared
// by every other test file), with the harness's Postgres. A 202 means "committed to Postgres" (README,
// acceptance contract), so ingestion is expected to keep accepting while Temporal is down and the runs to
// start once it is back.

const LOAD = { ratePerSecond: 50, eventsPerRequest: 5 };
const BEFORE_KILL_MS = 6_000;
/** How long Temporal stays dead before the restart begins. */
const DOWN_MS = 10_000;
/** Load kept up after /ready recovered. */
const AFTER_RESTART_MS = 5_000;
/** Bounds for the measured recoveries (generous: other fault tests share the two cores). */
const RESTART_BOUND_MS = 30_000;
const READY_AFTER_RESTART_BOUND_MS = 15_000;
const FIRST_DELIVERY_AFTER_RESTART_BOUND_MS = 30_000;
const CATCH_UP_BOUND_MS = 45_000;

const cleanups = new Cleanups();
const log = createLogger('temporal-restart', process.env.LOG_LEVEL || 'warn');
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
let scratchDir: string;
let port: number;
let temporal: TemporalDevServer;
let db: Knex;
let services: Services;
let receiver: Receiver;

// Silent: after the kill its warnings are about the crash we caused; a failed start still throws with
// the server's last output.
const startTemporal = () =>
  startTemporalDevServer({
    dbFile: join(scratchDir, 'temporal.sqlite'),
    port,
    headless: true,
    namespace,
    logger: log.child({ component: 'temporal' }, { level: 'silent' }),
  });

before(async () => {
  scratchDir = await mkdtemp(join(tmpdir(), 'eventflow-temporal-restart-'));
  cleanups.push(() => rm(scratchDir, { recursive: true, force: true }));
  port = await getFreePort();
  temporal = await startTemporal();
  // `temporal` is replaced on restart: stop whichever runs at the end.
  cleanups.push(() => temporal.stop());
  db = harnessDatabase(cleanups);
  receiver = await startReceiver();
  cleanups.push(() => receiver.close());
  services = await startServices(cleanups, { TEMPORAL_ADDRESS: temporal.address });
});

test('Temporal SIGKILLed under load and restarted on its file: nothing acknowledged is lost or doubled, /ready names it, everything catches up', { timeout: 170_000 }, async () => {
  const { projectId, key } = await createProjectWithWebhook(services.apiUrl, services.adminKey, 'temporal-restart', receiver.url);

  const load = startSteadyLoad({ urls: [services.apiUrl], key, ...LOAD, eventType: 'fault.temporal_restart', idPrefix: `tr-${projectId.slice(0, 8)}` });
  let report;
  let heldOverStored: Promise<number> | undefined;
  let killedAt = 0;
  let restartAt = 0;
  let restartedAt = 0;
  const timings: Record<string, number> = {};
  let readyAnswers: ReadyAnswer[] = [];
  try {
    await delay(BEFORE_KILL_MS);
    assert.equal((await readiness(services.apiUrl)).status, 200, 'ready before the kill');
    // Deliveries before the kill prove the pipeline ran end to end; the ones after the restart are then
    // the worker's recovery, not its first start.
    assert.ok(receiver.requests.length > 0, 'deliveries arrived before the kill');

    // Acknowledged but not yet stored when Temporal dies: work the restarted server must carry on from
    // its file (a run started before the kill exists only there).
    const acknowledgedBeforeKill = load.snapshot().accepted;
    timings.unstoredAtKill = acknowledgedBeforeKill.length - (await storedCounts(db, projectId, acknowledgedBeforeKill)).size;
    killedAt = Date.now();
    await temporal.kill();
    timings.killMs = Date.now() - killedAt;
    // Each answer takes up to the check's 2 s deadline while Temporal is unreachable.
    readyAnswers = (await probeReadiness([services.apiUrl], killedAt + DOWN_MS, 250))[0]!;

    restartAt = Date.now();
    temporal = await startTemporal();
    restartedAt = Date.now();
    timings.restartMs = restartedAt - restartAt;
    // Acknowledged before the restart, i.e. held in Postgres while no run could start.
    const acknowledgedBeforeRestart = load.snapshot().accepted;
    heldOverStored = waitUntilStored({ db, projectId }, acknowledgedBeforeRestart, CATCH_UP_BOUND_MS);
    // Awaited after the load stops; until then a timeout must not surface as an unhandled rejection.
    heldOverStored.catch(() => undefined);
    await waitUntilReady(services.apiUrl, {
      what: '/ready after the restart',
      timeoutMs: 60_000,
      intervalMs: 100,
      gaveUp: services.died,
    });
    timings.readyAfterRestartMs = Date.now() - restartedAt;
    const accepted = await waitUntil(
      async () => load.snapshot().outcomes.find((outcome) => outcome.kind === 'accepted' && outcome.sentAt >= restartedAt),
      { what: 'a 202 after the restart', timeoutMs: 30_000, intervalMs: 50, gaveUp: services.died },
    );
    timings.firstAcceptedAfterRestartMs = accepted.at - restartedAt;
    // The worker's polls failed for the whole outage: a delivery now means it reconnected by itself.
    const firstDelivery = await waitUntil(async () => receiver.requests.find((request) => request.at >= restartedAt), {
      what: 'a delivery after the restart',
      timeoutMs: FIRST_DELIVERY_AFTER_RESTART_BOUND_MS,
      intervalMs: 100,
      gaveUp: services.died,
    });
    timings.firstDeliveryAfterRestartMs = firstDelivery.at - restartedAt;
    // Load past the API's own reconnect too, so runs started on the recovered connection are checked.
    const remaining = restartedAt + timings.readyAfterRestartMs + AFTER_RESTART_MS - Date.now();
    if (remaining > 0) await delay(remaining);
    report = await load.stop();
  } finally {
    report ??= await load.stop();
  }
  const loadStoppedAt = Date.now();

  // /ready while Temporal was dead: every answer a 503 naming Temporal, and only Temporal.
  assert.ok(readyAnswers.length >= 3, `readiness was probed through the outage (${readyAnswers.length} answers)`);
  for (const answer of readyAnswers) {
    assert.equal(answer.status, 503, `/ready while Temporal was down: ${answer.body}`);
    const body = JSON.parse(answer.body) as { error: { code: string; message: string; details: Array<{ component: string }> } };
    assert.equal(body.error.code, 'not_ready');
    assert.equal(body.error.message, 'not ready: temporal is down');
    assert.deepEqual(body.error.details.map((detail) => detail.component), ['temporal']);
  }

  // Acceptance does not call Temporal, so its death must not show on POST /v1/events: no 5xx at all, not
  // even 503s. The only documented refusal that applies is the 429 for processing lag.
  assertNoServerErrors(report);
  const refusedByCode = refusalsByCode(report);
  const serviceUnavailable = report.refused.filter((refusal) => refusal.status === 503);
  assert.deepEqual(serviceUnavailable, [], 'no 503 from ingestion while Temporal was down');
  for (const refusal of report.refused) {
    assert.ok(refusal.status === 429 && refusal.code === 'overloaded', `refusal ${refusal.status} ${refusal.code}`);
    assert.ok(refusal.retryAfter, 'refusals carry Retry-After');
  }
  assert.equal(report.failedConnections, 0, 'the API stayed up');
  const acceptedWhileDown = report.outcomes.filter((outcome) => outcome.kind === 'accepted' && outcome.sentAt >= killedAt + timings.killMs! && outcome.at < restartAt);
  assert.ok(acceptedWhileDown.length > 0, 'ingestion kept accepting while Temporal was down');

  // Every acknowledged id stored exactly once; nothing stored that was not acknowledged (or uncertain).
  assert.ok(heldOverStored);
  const heldOverStoredAfterRestartMs = await heldOverStored;
  const stored = await checkStoredExactlyOnce(db, projectId, report, CATCH_UP_BOUND_MS);
  const storedAfterRestartMs = stored.storedAt - restartedAt;

  // The receiver always answers 200, so nothing may end as a dead letter: every event delivered once.
  const deliveries = await checkDelivered(receiver.requests, { db, projectId }, report.accepted, CATCH_UP_BOUND_MS, {
    deadLetters: 'none',
    alsoExpected: report.uncertain,
  });
  const deliveredAt = Date.now();
  assert.ok(!hasExited(services.worker), `the worker is still running:\n${services.worker.recentOutput()}`);
  assert.ok(!hasExited(services.api), `the API is still running:\n${services.api.recentOutput()}`);

  const summary = {
    downMs: restartAt - killedAt,
    killMs: timings.killMs,
    unstoredAtKill: timings.unstoredAtKill,
    restartMs: timings.restartMs,
    killToRestartReadyMs: restartedAt - killedAt,
    readyAfterRestartMs: timings.readyAfterRestartMs,
    firstAcceptedAfterRestartMs: timings.firstAcceptedAfterRestartMs,
    firstDeliveryAfterRestartMs: timings.firstDeliveryAfterRestartMs,
    acknowledgedBeforeRestartStoredAfterRestartMs: heldOverStoredAfterRestartMs,
    storedCatchUpAfterRestartMs: storedAfterRestartMs,
    storedCatchUpAfterLoadStopMs: stored.catchUpMs,
    deliveredCatchUpAfterRestartMs: deliveredAt - restartedAt,
    deliveredCatchUpAfterLoadStopMs: deliveredAt - loadStoppedAt,
    readyProbesWhileDown: readyAnswers.length,
    requestsSent: report.sent,
    acceptedEvents: report.accepted.length,
    acceptedRequestsWhileDown: acceptedWhileDown.length,
    refused: refusedByCode,
    serviceUnavailable503: serviceUnavailable.length,
    failedConnections: report.failedConnections,
    uncertainEvents: report.uncertain.length,
    uncertainStored: stored.uncertainStored.length,
    skippedTicks: report.skipped,
    delivered: deliveries.delivered,
    deadLettered: deliveries.deadLettered,
    duplicates: deliveries.duplicated.length,
    redeliveredRequests: deliveries.redelivered,
  };
  console.log(`temporal-restart: ${JSON.stringify(summary)}`);
  assert.ok(timings.restartMs! <= RESTART_BOUND_MS, `the dev server was ready ${timings.restartMs} ms after its restart began`);
  assert.ok(timings.readyAfterRestartMs! <= READY_AFTER_RESTART_BOUND_MS, `ready ${timings.readyAfterRestartMs} ms after the restart`);
});

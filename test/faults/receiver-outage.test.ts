import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Knex } from 'knex';
import { BULK_REPLAY_LIMIT } from '../../src/api/operations/dead-letters.ts';
import { delay } from '../../src/dev/process.ts';
import {
  apiCall,
  apiRequest,
  assertNoServerErrors,
  checkStoredExactlyOnce,
  Cleanups,
  createProjectWithWebhook,
  harnessDatabase,
  refusalsByCode,
} from '../helpers/fault-checks.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { startServices, type Services } from '../helpers/services.ts';
import { startSteadyLoad, waitUntilDelivered } from '../helpers/steady-load.ts';

// Fault: the webhook receiver goes away (its listening socket closed, so connections are refused) under
// steady ingestion and stays away until every delivery that could not reach it has run through the
// whole retry schedule and been parked as a dead letter; then it comes back on the same port and one
// bulk replay has to deliver every parked event, each exactly once as receivers count it (by webhook-id).

/** Seconds; short so the schedule runs out within the test. Attempts: the inline one plus one per entry. */
const RETRY_SCHEDULE = [1, 2, 3];
const SCHEDULE_MS = RETRY_SCHEDULE.reduce((sum, seconds) => sum + seconds, 0) * 1_000;
// Small on purpose: parking and replaying cost a few workflow tasks per event, and on two shared cores
// ~550 dead letters once took 46 s to park and 29 s to replay, another time past the test's timeout.
const LOAD = { ratePerSecond: 5, eventsPerRequest: 3 };
const WARM_UP_MS = 4_000;
/** Load keeps arriving while the receiver is down for longer than the whole schedule takes. */
const LOAD_DURING_OUTAGE_MS = SCHEDULE_MS + 2_000;
// One bulk replay takes at most BULK_REPLAY_LIMIT dead letters, and on a loaded machine dispatch can lag
// so far behind ingestion that every event sent is parked: the whole load (~180 events) stays below it.
const STORED_BOUND_MS = 30_000;
const PARKED_BOUND_MS = 60_000;
const DELIVERED_BOUND_MS = 40_000;

const cleanups = new Cleanups();
let db: Knex;
let services: Services;
let receiver: Receiver;

before(async () => {
  db = harnessDatabase(cleanups);
  receiver = await startReceiver();
  // Closing an already closed receiver (a test that failed mid-outage) only reports an error to close's callback.
  cleanups.push(() => receiver.close());
  services = await startServices(cleanups, { WEBHOOK_RETRY_SCHEDULE: RETRY_SCHEDULE.join(',') });
});

const request = (method: string, path: string, key: string, body?: unknown) => apiRequest(services.apiUrl, method, path, key, body);
const call = (method: string, path: string, key: string, body?: unknown) => apiCall(services.apiUrl, method, path, key, body);

/** Webhook-ids the receiver got each event under; the first receipt of each event. */
function received(): { hooksByEvent: Map<string, Set<string>>; firstAt: Map<string, number> } {
  const hooksByEvent = new Map<string, Set<string>>();
  const firstAt = new Map<string, number>();
  for (const { headers, body, at } of receiver.requests) {
    const eventId = (JSON.parse(body) as { data?: { id?: string } }).data?.id ?? '';
    let hooks = hooksByEvent.get(eventId);
    if (!hooks) hooksByEvent.set(eventId, (hooks = new Set()));
    hooks.add(String(headers['webhook-id'] ?? ''));
    if (!firstAt.has(eventId)) firstAt.set(eventId, at);
  }
  return { hooksByEvent, firstAt };
}

interface DeliveryRow {
  delivery_id: string;
  event_id: string;
  status: string;
  last_error: string | null;
  parked_at: Date | null;
}

/** Polls `probe` until it answers `done`; on timeout the last answer goes into the error. */
async function pollUntil<T>(what: string, timeoutMs: number, probe: () => Promise<{ done: boolean; state: T }>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { done, state } = await probe();
    if (done) return state;
    assert.equal(services.died(), undefined, `${what}: a service died`);
    assert.ok(Date.now() < deadline, `${what} not reached within ${timeoutMs} ms: ${JSON.stringify(state, null, 1).slice(0, 2_000)}`);
    await delay(250);
  }
}

test(
  'receiver down for longer than the retry schedule: every undelivered event is parked, one bulk replay delivers each exactly once',
  { timeout: 200_000 },
  async () => {
    const { projectId, key } = await createProjectWithWebhook(services.apiUrl, services.adminKey, 'receiver-outage', receiver.url);

    const idPrefix = `rcv-${projectId.slice(0, 8)}`;
    const load = startSteadyLoad({ urls: [services.apiUrl], key, ...LOAD, eventType: 'fault.receiver_outage', idPrefix });
    let report;
    let downAt = 0;
    let sentBeforeDown = 0;
    let receivedWhenDown = 0;
    let loadStoppedAt = 0;
    try {
      await delay(WARM_UP_MS);
      downAt = Date.now();
      await receiver.close();
      receivedWhenDown = receiver.requests.length;
      // Ids are numbered in send order: any id from this request count on was sent after the receiver closed.
      sentBeforeDown = load.snapshot().sent;
      await delay(LOAD_DURING_OUTAGE_MS);
      report = await load.stop();
      loadStoppedAt = Date.now();
    } finally {
      report ??= await load.stop();
    }

    // The API never depended on the receiver: only 202s and documented refusals.
    assertNoServerErrors(report);
    for (const refusal of report.refused) {
      assert.ok(refusal.status === 503 || refusal.status === 429, `refusal ${refusal.status} ${refusal.code}`);
      assert.ok(refusal.retryAfter, 'refusals carry Retry-After');
    }
    const sentDuringOutage = report.accepted.filter((id) => Number(id.slice(idPrefix.length + 1)) >= sentBeforeDown * LOAD.eventsPerRequest);
    assert.ok(report.accepted.length - sentDuringOutage.length > 0, 'events were accepted before the outage');
    assert.ok(sentDuringOutage.length > 0, 'events were accepted during the outage');

    // Every acknowledged id stored exactly once; nothing stored that was not acknowledged (or uncertain).
    const { uncertainStored } = await checkStoredExactlyOnce(db, projectId, report, STORED_BOUND_MS);
    // Stored events get deliveries whether or not their 202 arrived.
    const expected = [...report.accepted, ...uncertainStored];

    // Receiver still down: wait until each stored event either reached it before it closed or has been
    // parked, with no delivery still working through its schedule.
    const parked = await pollUntil('every undelivered event parked', PARKED_BOUND_MS, async () => {
      const rows = (await db('deliveries')
        .where('project_id', projectId)
        .select('delivery_id', 'event_id', 'status', 'last_error', 'parked_at')) as DeliveryRow[];
      const { hooksByEvent } = received();
      const deadLettered = new Set(rows.filter((row) => row.status === 'dead_lettered').map((row) => row.event_id));
      const unaccounted = expected.filter((id) => !hooksByEvent.has(id) && !deadLettered.has(id));
      const notParked = rows.filter((row) => row.status !== 'dead_lettered');
      return {
        done: unaccounted.length === 0 && notParked.length === 0,
        state: { rows, deadLettered, unaccounted: unaccounted.length, notParked: notParked.map(({ event_id, status }) => ({ event_id, status })) },
      };
    });
    const allParkedSeenAt = Date.now();
    assert.equal(receiver.requests.length, receivedWhenDown, 'the receiver got nothing while it was down');
    assert.ok(parked.rows.length > 0, 'deliveries were parked');
    assert.deepEqual(
      sentDuringOutage.filter((id) => !parked.deadLettered.has(id)),
      [],
      'every event sent while the receiver was down is a dead letter',
    );
    // The last attempt of each ran with nothing listening: parked for the outage, not for anything else.
    assert.deepEqual(
      parked.rows.filter((row) => !/ECONNREFUSED/.test(row.last_error ?? '')).map(({ event_id, last_error }) => ({ event_id, last_error })),
      [],
      'every dead letter was parked by a refused connection',
    );
    // parked_at is Postgres's clock on this machine: the moment the last one parked, not when polling saw it.
    const lastParkedAt = Math.max(...parked.rows.map((row) => new Date(row.parked_at ?? 0).getTime()));
    const deadLetters = parked.rows.length;

    // The operator's view agrees with the parked runs: the list holds exactly them.
    const listed = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await call('GET', `/v1/dead-letters?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, key);
      for (const item of page.data as Array<{ event_id: string; status: string }>) {
        assert.equal(item.status, 'dead_lettered');
        listed.add(item.event_id);
      }
      cursor = (page.next_cursor as string | null) ?? undefined;
    } while (cursor);
    assert.deepEqual([...listed].sort(), [...parked.deadLettered].sort(), 'GET /v1/dead-letters lists exactly the parked deliveries');

    await receiver.reopen();
    const reopenedAt = Date.now();

    const dryRun = await request('POST', '/v1/dead-letters/replay', key, { dry_run: true });
    assert.equal(dryRun.status, 200);
    assert.deepEqual(dryRun.body, { dry_run: true, matched: deadLetters }, 'the dry run counts every dead letter');
    // A precondition of replaying ONCE (sized by LOAD): more would need a second call.
    assert.ok(deadLetters <= BULK_REPLAY_LIMIT, `${deadLetters} dead letters exceed one bulk replay (${BULK_REPLAY_LIMIT})`);

    const replayAt = Date.now();
    const replay = await request('POST', '/v1/dead-letters/replay', key, {});
    const replayAnsweredMs = Date.now() - replayAt;
    assert.equal(replay.status, 202);
    assert.deepEqual(replay.body, { dry_run: false, matched: deadLetters, replayed: deadLetters, remaining: 0 }, 'one bulk replay takes them all');

    const deliveries = await waitUntilDelivered(receiver.requests, { db, projectId }, expected, DELIVERED_BOUND_MS);
    assert.equal(deliveries.delivered, expected.length, `every stored event delivered (${deliveries.deadLettered} parked again)`);
    assert.deepEqual(deliveries.duplicated, [], 'no event delivered under two webhook-ids');
    assert.deepEqual(deliveries.unexpected, [], 'nothing delivered that was not stored');
    const { firstAt } = received();
    // A request cut as the receiver closed can have reached it and still be parked (the sender saw a
    // reset): its replay is a redelivery under the same webhook-id. Every other dead letter reached the
    // receiver only after it came back.
    const parkedButReceived = [...parked.deadLettered].filter((id) => (firstAt.get(id) ?? Infinity) < reopenedAt);
    const replayedEvents = [...parked.deadLettered].filter((id) => (firstAt.get(id) ?? 0) >= reopenedAt);
    assert.equal(replayedEvents.length + parkedButReceived.length, deadLetters, 'every dead letter reached the receiver after it came back');
    const lastReplayedAt = Math.max(...replayedEvents.map((id) => firstAt.get(id)!));

    // The workflows record their outcome after the receiver answered: wait for the mirror to settle.
    const settled = await pollUntil('every delivery recorded delivered', DELIVERED_BOUND_MS, async () => {
      const rows = (await db('deliveries').where('project_id', projectId).select('event_id', 'status')) as DeliveryRow[];
      const other = rows.filter((row) => row.status !== 'delivered');
      return { done: other.length === 0, state: { rows: rows.length, other } };
    });
    assert.equal(settled.rows, deadLetters, 'each replayed delivery kept its row: no new delivery was created');
    assert.deepEqual((await call('GET', '/v1/dead-letters', key)).data, [], 'no dead letters left');
    assert.deepEqual(await call('POST', '/v1/dead-letters/replay', key, { dry_run: true }), { dry_run: true, matched: 0 });

    const refused = refusalsByCode(report);
    console.log(
      `receiver-outage: ${JSON.stringify({
        retryScheduleSeconds: RETRY_SCHEDULE,
        outageMs: reopenedAt - downAt,
        loadDuringOutageMs: loadStoppedAt - downAt,
        deadLettersParked: deadLetters,
        outageStartToAllParkedMs: lastParkedAt - downAt,
        outageStartToAllParkedSeenMs: allParkedSeenAt - downAt,
        bulkReplayDryRunMatched: (dryRun.body as { matched: number }).matched,
        bulkReplayAnsweredMs: replayAnsweredMs,
        replayRequestToAllDeliveredMs: lastReplayedAt - replayAt,
        replayedEventsReceived: replayedEvents.length,
        parkedButReceivedBeforeOutage: parkedButReceived.length,
        requestsSent: report.sent,
        acceptedEvents: report.accepted.length,
        acceptedSentDuringOutage: sentDuringOutage.length,
        refused,
        uncertainEvents: report.uncertain.length,
        uncertainStored: uncertainStored.length,
        skippedTicks: report.skipped,
        totalDelivered: deliveries.delivered,
        duplicates: deliveries.duplicated.length,
        redeliveredRequests: deliveries.redelivered,
      })}`,
    );
  },
);

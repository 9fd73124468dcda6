import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import type { Knex } from 'knex';
import { createDatabase } from '../../src/db/connection.ts';
import { delay, hasExited, waitUntil } from '../../src/dev/process.ts';
import { createLogger } from '../../src/logging.ts';
import { ensureTemporalSchema, type TemporalDatabases, type TemporalServerNode } from '../../temporal/production-server.ts';
import {
  assertNoServerErrors,
  checkDelivered,
  checkStoredExactlyOnce,
  Cleanups,
  createProjectWithWebhook,
  probeReadiness,
  waitUntilReady,
  type ReadyAnswer,
} from '../helpers/fault-checks.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { startServices, type Services } from '../helpers/services.ts';
import { startSteadyLoad, storedCounts, type LoadReport, type SteadyLoad } from '../helpers/steady-load.ts';
import {
  assertClusterBinaries,
  assertOneRing,
  clusterDatabases,
  dropDatabases,
  metricSum,
  startCluster,
  startClusterNode,
  type ClusterNodeSpec,
} from '../helpers/temporal-cluster.ts';

// Faults of the production Temporal cluster: two nodes on one pair of Postgres databases (this file's
// own, dropped at the end), API 1 and worker 1 talking to node 1, API 2 and worker 2 to node 2, one task
// queue and one root key. Under steady ingestion over both APIs with webhook deliveries to a local
// receiver: (1) node 1 is SIGKILLed and restarted on its own ports; (2) then the whole cluster is stopped
// and started again on the same databases. The tests run in order on the shared cluster.
//
// A 202 means "committed to Postgres" and acceptance never calls Temporal (README, acceptance contract),
// so both APIs are expected to keep answering 202 while their node is gone; the runs start once a
// frontend answers again. Refusals allowed: 429 overloaded (processing lag) and the documented 503s,
// always with Retry-After.

const LOAD = { ratePerSecond: 40, eventsPerRequest: 5 };
const BEFORE_FAULT_MS = 6_000;
/**
 * How long the killed node (or the stopped cluster) stays down before it is started again: long enough
 * that the workers' polls and the run starters' starts fail repeatedly, not once, and the surviving node
 * works without its peer for a while.
 */
const DOWN_MS = 10_000;
/** Load kept up once everything reconnected, so runs started on the recovered connections are checked. */
const AFTER_RECOVERY_MS = 5_000;
// Generous bounds: two Temporal servers, four Node processes and other fault tests share two cores.
/** A node answers 2–5 s after it starts, ~20 s on a busy machine (temporal/production-server.ts). */
const NODE_START_BOUND_MS = 45_000;
/** From the restart's end: APIs ready and workers polling again. */
const RECONNECT_BOUND_MS = 45_000;
/** From the restart's end to everything acknowledged stored and delivered. */
const CATCH_UP_BOUND_MS = 75_000;
/** From the load's start to the first delivery, before any fault. */
const PIPELINE_START_BOUND_MS = 30_000;
const DOCUMENTED_503_CODES = new Set(['temporal_unavailable', 'database_unavailable']);

const DATABASE_URL = process.env.DATABASE_URL;
const cleanups = new Cleanups();
const log = createLogger('cluster-faults', process.env.LOG_LEVEL || 'warn');
let databases: TemporalDatabases;
const specs: ClusterNodeSpec[] = [];
/** Replaced on restart: the cleanup stops whichever nodes run at the end. */
const nodes: TemporalServerNode[] = [];
let pairs: Services[];
let db: Knex;
let rootKey: string;

before(
  async () => {
    assert.ok(DATABASE_URL, 'the harness sets DATABASE_URL');
    await assertClusterBinaries();
    databases = clusterDatabases(DATABASE_URL);
    // Pushed first, so it runs last: after every process using the databases has stopped.
    cleanups.push(() => dropDatabases(databases));
    await ensureTemporalSchema(databases, { logger: log });
    cleanups.push(() => Promise.all(nodes.map((node) => node.stop())));
    await startCluster(databases, 2, log, (node, spec) => {
      nodes.push(node);
      specs.push(spec);
    });
    await assertOneRing(databases, 2);
    db = createDatabase(DATABASE_URL, 2);
    cleanups.push(() => db.destroy());
    rootKey = `ef_test_${randomBytes(16).toString('hex')}`;
    // One task queue and one root key for both pairs (an API's boot revokes every other root key).
    const shared = { TEMPORAL_TASK_QUEUE: `cluster-faults-${databases.temporal}`, EVENTFLOW_ADMIN_KEY: rootKey };
    pairs = await Promise.all(nodes.map((node) => startServices(cleanups, { ...shared, TEMPORAL_ADDRESS: node.address })));
  },
  { timeout: 150_000 },
);

function diedProcess(): string | undefined {
  for (const [index, pair] of pairs.entries()) {
    const gone = pair.died();
    if (gone) return `a process of pair ${index + 1} ${gone}`;
  }
  return undefined;
}

/** What each node's frontend served of one operation (a restarted node's counters start from zero). */
function frontendServed(node: TemporalServerNode, operation: string): Promise<number> {
  return metricSum(node.metricsUrl!, 'service_requests', ['service_name="frontend"', `operation="${operation}"`]).catch(() => 0);
}

interface Phase {
  name: string;
  projectId: string;
  receiver: Receiver;
  load: SteadyLoad;
  startedAt: number;
}

/** A project of its own per fault (so "nothing else stored" is exact), a webhook to a fresh receiver, and the load. */
async function startPhase(name: string): Promise<Phase> {
  const receiver = await startReceiver();
  cleanups.push(() => receiver.close());
  const { projectId, key } = await createProjectWithWebhook(pairs[1]!.apiUrl, rootKey, name, receiver.url);
  const startedAt = Date.now();
  const load = startSteadyLoad({
    urls: pairs.map((pair) => pair.apiUrl),
    key,
    ...LOAD,
    eventType: `fault.${name.replaceAll('-', '_')}`,
    idPrefix: `${name}-${projectId.slice(0, 8)}`,
  });
  return { name, projectId, receiver, load, startedAt };
}

/**
 * After the restart: each API ready again (its client reached its node) and each node's frontend serving
 * workflow-task polls, which only its own worker sends it: so that worker reconnected by itself.
 */
async function waitForReconnects(restartedAt: number, which: number[]): Promise<Record<string, number>> {
  const timings: Record<string, number> = {};
  await Promise.all(
    which.flatMap((index) => [
      waitUntilReady(pairs[index]!.apiUrl, {
        what: `API ${index + 1} ready after the restart`,
        timeoutMs: RECONNECT_BOUND_MS,
        intervalMs: 200,
        gaveUp: diedProcess,
      }).then(() => (timings[`api${index + 1}ReadyAfterRestartMs`] = Date.now() - restartedAt)),
      waitUntil(async () => ((await frontendServed(nodes[index]!, 'PollWorkflowTaskQueue')) > 0 ? true : undefined), {
        what: `worker ${index + 1} polling node ${index + 1} after the restart`,
        timeoutMs: RECONNECT_BOUND_MS,
        intervalMs: 200,
        gaveUp: diedProcess,
      }).then(() => (timings[`worker${index + 1}PollingAfterRestartMs`] = Date.now() - restartedAt)),
    ]),
  );
  return timings;
}

/** Keeps the load up past the reconnects, stops it, and checks the request-side contract. */
async function finishLoad(phase: Phase, downFrom: number, downUntil: number): Promise<{ report: LoadReport; summary: Record<string, unknown> }> {
  await delay(AFTER_RECOVERY_MS);
  const report = await phase.load.stop();
  assertNoServerErrors(report);
  for (const refusal of report.refused) {
    const documented = (refusal.status === 429 && refusal.code === 'overloaded') || (refusal.status === 503 && DOCUMENTED_503_CODES.has(refusal.code ?? ''));
    assert.ok(documented, `undocumented refusal ${refusal.status} ${refusal.code} from ${refusal.url}`);
    assert.ok(refusal.retryAfter, `refusal ${refusal.status} ${refusal.code} without Retry-After`);
  }
  // The APIs themselves never went away: a refused connection would be an API process gone.
  assert.equal(report.failedConnections, 0, 'every request reached an API');
  const perApi = pairs.map((pair) => report.outcomes.filter((outcome) => outcome.url === pair.apiUrl));
  // Acceptance commits to Postgres only, so losing a node must not stop either API from accepting.
  for (const [index, outcomes] of perApi.entries()) {
    const whileDown = outcomes.filter((outcome) => outcome.kind === 'accepted' && outcome.sentAt >= downFrom && outcome.at < downUntil);
    assert.ok(whileDown.length > 0, `API ${index + 1} accepted requests while Temporal was down`);
  }
  return {
    report,
    summary: {
      requestsSent: report.sent,
      acceptedEvents: report.accepted.length,
      acceptedRequestsByApi: pairs.map((pair) => report.byUrl[pair.apiUrl]),
      acceptedRequestsWhileDownByApi: perApi.map((outcomes) => outcomes.filter((o) => o.kind === 'accepted' && o.sentAt >= downFrom && o.at < downUntil).length),
      refused503ByApi: pairs.map((pair) => report.refused.filter((refusal) => refusal.url === pair.apiUrl && refusal.status === 503).length),
      refused429: report.refused.filter((refusal) => refusal.status === 429).length,
      uncertainEvents: report.uncertain.length,
      skippedTicks: report.skipped,
    },
  };
}

/** Stored exactly once and delivered once (or dead-lettered), with the catch-up times from the restart. */
async function checkCatchUp(phase: Phase, report: LoadReport, restartedAt: number): Promise<Record<string, unknown>> {
  const loadStoppedAt = Date.now();
  const { projectId } = phase;
  const remaining = () => Math.max(1_000, restartedAt + CATCH_UP_BOUND_MS - Date.now());
  const { storedAt, uncertainStored } = await checkStoredExactlyOnce(db, projectId, report, remaining());

  // Activities whose node died mid-report are retried: the receiver may see a request twice under one
  // webhook-id (deduplicated), never one event under two.
  const deliveries = await checkDelivered(phase.receiver.requests, { db, projectId }, report.accepted, remaining(), { alsoExpected: report.uncertain });
  const deliveredAt = Date.now();
  assert.ok(deliveredAt - restartedAt <= CATCH_UP_BOUND_MS, `caught up ${deliveredAt - restartedAt} ms after the restart`);
  // A process that exited on the way (and was not noticed by a wait) would be a product bug.
  for (const [index, pair] of pairs.entries()) {
    assert.ok(!hasExited(pair.api), `API ${index + 1} is still running:\n${pair.api.recentOutput()}`);
    assert.ok(!hasExited(pair.worker), `worker ${index + 1} is still running:\n${pair.worker.recentOutput()}`);
  }
  return {
    storedCatchUpAfterRestartMs: storedAt - restartedAt,
    storedCatchUpAfterLoadStopMs: storedAt - loadStoppedAt,
    deliveredCatchUpAfterRestartMs: deliveredAt - restartedAt,
    uncertainStored: uncertainStored.length,
    delivered: deliveries.delivered,
    deadLettered: deliveries.deadLettered,
    duplicates: deliveries.duplicated.length,
    redeliveredRequests: deliveries.redelivered,
  };
}

/** Probes both APIs' /ready until `until`; returns every answer per API. */
const probeBothReadiness = (until: number) =>
  probeReadiness(
    pairs.map((pair) => pair.apiUrl),
    until,
    500,
  );

/**
 * Load for BEFORE_FAULT_MS at least, and until a delivery arrived: the fault then hits a working pipeline.
 * Returns when the first delivery arrived, in ms from the load's start.
 */
async function pipelineRunning(phase: Phase): Promise<number> {
  const startedAt = Date.now();
  await delay(BEFORE_FAULT_MS);
  const first = await waitUntil(async () => phase.receiver.requests[0], {
    what: 'a delivery before the fault',
    timeoutMs: PIPELINE_START_BOUND_MS,
    intervalMs: 100,
    gaveUp: diedProcess,
  }).catch(async (error: unknown) => {
    const accepted = phase.load.snapshot().accepted;
    const stored = (await storedCounts(db, phase.projectId, accepted)).size;
    throw new Error(`${(error as Error).message}: ${accepted.length} accepted, ${stored} stored after ${Date.now() - startedAt} ms`);
  });
  return first.at - phase.startedAt;
}

const namesTemporalDown = (answer: ReadyAnswer) => answer.status === 503 && answer.body.includes('temporal is down');

test('node 1 SIGKILLed under load and restarted on its ports: nothing acknowledged lost or doubled, both APIs keep accepting, its API and worker reconnect', { timeout: 170_000 }, async () => {
  const phase = await startPhase('node-kill');
  let killedAt = 0;
  let killDoneAt = 0;
  let restartAt = 0;
  let restartedAt = 0;
  let answersWhileDown: ReadyAnswer[][] = [];
  let reconnects: Record<string, number> = {};
  let firstApi1AcceptAfterRestartMs: number | undefined;
  let firstDeliveryMs = 0;
  try {
    // Deliveries before the kill prove the pipeline ran end to end on the cluster.
    firstDeliveryMs = await pipelineRunning(phase);
    killedAt = Date.now();
    await nodes[0]!.kill();
    killDoneAt = Date.now();
    answersWhileDown = await probeBothReadiness(killedAt + DOWN_MS);

    restartAt = Date.now();
    nodes[0] = await startClusterNode(databases, specs[0]!, log);
    restartedAt = Date.now();
    reconnects = await waitForReconnects(restartedAt, [0]);
    const accepted = await waitUntil(
      async () => phase.load.snapshot().outcomes.find((outcome) => outcome.url === pairs[0]!.apiUrl && outcome.kind === 'accepted' && outcome.sentAt >= restartedAt),
      { what: 'a 202 from API 1 after the restart', timeoutMs: 30_000, intervalMs: 50, gaveUp: diedProcess },
    );
    firstApi1AcceptAfterRestartMs = accepted.at - restartedAt;
  } catch (error) {
    await phase.load.stop();
    throw error;
  }
  const { report, summary: load } = await finishLoad(phase, killDoneAt, restartAt);

  // The kill really cut API 1 off its frontend (else this tested nothing), and API 2 kept its own.
  assert.ok(answersWhileDown[0]!.some(namesTemporalDown), `API 1 /ready named Temporal down while node 1 was dead: ${JSON.stringify(answersWhileDown[0]!.at(-1))}`);
  assert.ok(
    answersWhileDown[1]!.some((answer) => answer.status === 200),
    `API 2 /ready answered 200 while node 1 was dead: ${JSON.stringify(answersWhileDown[1])}`,
  );
  assert.ok(restartedAt - restartAt <= NODE_START_BOUND_MS, `node 1 ready ${restartedAt - restartAt} ms after its restart began`);
  const catchUp = await checkCatchUp(phase, report, restartedAt);
  // The restarted node rejoined the one ring with all four services, beside node 2.
  await assertOneRing(databases, 1, restartAt);
  await assertOneRing(databases, 2);

  console.log(
    `cluster-faults node-kill: ${JSON.stringify({
      firstDeliveryAfterLoadStartMs: firstDeliveryMs,
      killMs: killDoneAt - killedAt,
      downMs: restartAt - killedAt,
      restartMs: restartedAt - restartAt,
      killToNodeReadyMs: restartedAt - killedAt,
      ...reconnects,
      firstApi1AcceptedAfterRestartMs: firstApi1AcceptAfterRestartMs,
      readyWhileDownByApi: answersWhileDown.map((answers) => `${answers.filter(namesTemporalDown).length}/${answers.length} temporal down`),
      ...load,
      ...catchUp,
    })}`,
  );
});

test('the whole cluster stopped under load and started again on its databases: nothing acknowledged lost or doubled, everything reconnects and catches up', { timeout: 170_000 }, async () => {
  const phase = await startPhase('cluster-restart');
  let stoppingAt = 0;
  let stoppedAt = 0;
  let restartAt = 0;
  let restartedAt = 0;
  let answersWhileDown: ReadyAnswer[][] = [];
  let reconnects: Record<string, number> = {};
  const nodeReadyMs: number[] = [];
  let firstDeliveryMs = 0;
  try {
    firstDeliveryMs = await pipelineRunning(phase);
    stoppingAt = Date.now();
    await Promise.all(nodes.map((node) => node.stop()));
    stoppedAt = Date.now();
    answersWhileDown = await probeBothReadiness(stoppedAt + DOWN_MS);

    // Both at once, as a cluster restart would go; each on its own ports with the cluster address as before.
    restartAt = Date.now();
    await Promise.all(
      specs.map(async (spec, index) => {
        nodes[index] = await startClusterNode(databases, spec, log);
        nodeReadyMs[index] = Date.now() - restartAt;
      }),
    );
    restartedAt = Date.now();
    reconnects = await waitForReconnects(restartedAt, [0, 1]);
  } catch (error) {
    await phase.load.stop();
    throw error;
  }
  const { report, summary: load } = await finishLoad(phase, stoppedAt, restartAt);

  for (const [index, answers] of answersWhileDown.entries()) {
    assert.ok(answers.some(namesTemporalDown), `API ${index + 1} /ready named Temporal down while the cluster was stopped: ${JSON.stringify(answers.at(-1))}`);
  }
  assert.ok(restartedAt - restartAt <= NODE_START_BOUND_MS, `both nodes ready ${restartedAt - restartAt} ms after the restart began`);
  const catchUp = await checkCatchUp(phase, report, restartedAt);
  // Both nodes formed one ring again (not two clusters, not a node left out).
  await assertOneRing(databases, 2, restartAt);

  console.log(
    `cluster-faults cluster-restart: ${JSON.stringify({
      firstDeliveryAfterLoadStartMs: firstDeliveryMs,
      stopMs: stoppedAt - stoppingAt,
      downMs: restartAt - stoppingAt,
      nodeReadyAfterRestartBeganMs: nodeReadyMs,
      bothNodesReadyMs: restartedAt - restartAt,
      stopToBothReadyMs: restartedAt - stoppingAt,
      ...reconnects,
      readyWhileDownByApi: answersWhileDown.map((answers) => `${answers.filter(namesTemporalDown).length}/${answers.length} temporal down`),
      ...load,
      ...catchUp,
    })}`,
  );
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { createLogger } from '../../src/logging.ts';
import { ensureTemporalSchema, type TemporalServerNode } from '../../temporal/production-server.ts';
import { waitFor } from '../helpers/projects.ts';
import { startServices, type Services } from '../helpers/services.ts';
import { assertClusterBinaries, assertOneRing, clusterDatabases, dropDatabases, metricSum, startCluster } from '../helpers/temporal-cluster.ts';

// CLUSTER PROFILE — the production shape, two of everything: a two-node Temporal cluster (two server
// processes on one pair of Postgres databases, membership over loopback ports), two API processes and two
// workers, each pair talking to its own node. A bounded load alternates between the APIs; every accepted
// event must be stored once, and every process and node must have done part of the work. Temporal's
// databases are this test's own (random names on the harness's Postgres server), dropped at the end.

const EVENTS_PER_REQUEST = 20;
const REQUESTS = 300; // 6,000 events
const CONCURRENCY = 8;
// Paced rather than as fast as possible: a burst is only a handful of runs (a run takes up to 500
// requests), which says little about how they spread; this rate makes a run of every few requests.
const LOAD_SECONDS = 12;
// A stored event's run touches Postgres a few times; on two shared cores everything here takes a while.
const DRAIN_TIMEOUT_MS = 90_000;

const DATABASE_URL = process.env.DATABASE_URL!;

test('a two-node Temporal cluster with two APIs and two workers stores every accepted event once, spread over all of them', { timeout: 240_000 }, async (t) => {
  await assertClusterBinaries();
  const databases = clusterDatabases(DATABASE_URL);
  const log = createLogger('cluster-test', process.env.LOG_LEVEL || 'warn');
  const nodes: TemporalServerNode[] = [];
  const pairs: Services[] = [];
  try {
    const startedAt = performance.now();
    await ensureTemporalSchema(databases, { logger: log });
    const schemaMs = performance.now() - startedAt;
    await startCluster(databases, 2, log, (node) => nodes.push(node));
    const clusterMs = performance.now() - startedAt;
    await assertOneRing(databases, nodes.length);

    // Both pairs on one task queue and one root key (an API's boot revokes other root keys).
    const shared = { TEMPORAL_TASK_QUEUE: `cluster-${databases.temporal}`, EVENTFLOW_ADMIN_KEY: `ef_test_${randomBytes(16).toString('hex')}` };
    pairs.push(...(await Promise.all(nodes.map((node) => startServices(t, { ...shared, TEMPORAL_ADDRESS: node.address })))));
    t.diagnostic(`schema ${Math.round(schemaMs)} ms, two nodes up after ${Math.round(clusterMs)} ms, everything after ${Math.round(performance.now() - startedAt)} ms`);

    const project = await createProject(pairs[0]!.apiUrl, shared.EVENTFLOW_ADMIN_KEY);
    const loadStartedAt = performance.now();
    const accepted = await sendLoad(pairs.map((pair) => pair.apiUrl), project.key, () => pairs.map((pair) => pair.died()).find(Boolean));
    const loadMs = performance.now() - loadStartedAt;
    assert.equal(accepted.ids.length, REQUESTS * EVENTS_PER_REQUEST, 'every request was accepted');

    const db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    try {
      await waitFor(async () => {
        const gone = pairs.map((pair) => pair.died()).find(Boolean);
        if (gone) throw new Error(`a service died: ${gone}`);
        const { rows } = await db.query<{ count: string }>('SELECT count(*) FROM events WHERE project_id = $1', [project.id]);
        return Number(rows[0]!.count) >= accepted.ids.length;
      }, DRAIN_TIMEOUT_MS);
      const drainedMs = performance.now() - loadStartedAt;
      const { rows } = await db.query<{ stored: string; distinct_ids: string; accepted_stored: string }>(
        `SELECT count(*) AS stored, count(DISTINCT id) AS distinct_ids, count(*) FILTER (WHERE id = ANY($2)) AS accepted_stored
           FROM events WHERE project_id = $1`,
        [project.id, accepted.ids],
      );
      assert.deepEqual(
        { stored: Number(rows[0]!.stored), distinct: Number(rows[0]!.distinct_ids), acceptedStored: Number(rows[0]!.accepted_stored) },
        { stored: accepted.ids.length, distinct: accepted.ids.length, acceptedStored: accepted.ids.length },
        'every accepted id is stored exactly once, and nothing else',
      );

      // Spread: each API accepted requests and started runs through its node; each worker ran activities.
      const apiAccepted = await Promise.all(pairs.map((pair) => metricSum(`${pair.apiUrl}/metrics`, 'eventflow_events_accepted_total')));
      const workerRuns = await Promise.all(pairs.map((pair) => metricSum(pair.workerMetricsUrl, 'eventflow_workflow_outcomes_total', ['outcome="completed"'])));
      const workerActivities = await Promise.all(pairs.map((pair) => metricSum(pair.workerMetricsUrl, 'eventflow_activity_outcomes_total', ['outcome="completed"'])));
      // What each node's frontend answered: its API's workflow starts and its worker's polls.
      const frontend = (operation: string) => ['service_name="frontend"', `operation="${operation}"`];
      const nodeStarts = await Promise.all(nodes.map((node) => metricSum(node.metricsUrl!, 'service_requests', frontend('StartWorkflowExecution'))));
      const nodePolls = await Promise.all(nodes.map((node) => metricSum(node.metricsUrl!, 'service_requests', frontend('PollWorkflowTaskQueue'))));
      t.diagnostic(
        `${accepted.ids.length} events in ${REQUESTS} requests sent in ${Math.round(loadMs)} ms ` +
          `(${Math.round(accepted.ids.length / (loadMs / 1000))} events/s accepted), all stored after ${Math.round(drainedMs)} ms; ` +
          `requests per API ${JSON.stringify(accepted.perApi)}, events accepted per API ${JSON.stringify(apiAccepted)}, ` +
          `runs per worker ${JSON.stringify(workerRuns)}, activities completed per worker ${JSON.stringify(workerActivities)}, workflow starts per node ${JSON.stringify(nodeStarts)}, ` +
          `workflow task polls per node ${JSON.stringify(nodePolls)}`,
      );
      assert.deepEqual(apiAccepted, accepted.perApi.map((requests) => requests * EVENTS_PER_REQUEST), 'each API counted what it accepted');
      for (const [index, count] of workerActivities.entries()) assert.ok(count > 0, `worker ${index + 1} ran activities`);
      for (const [index, count] of nodeStarts.entries()) assert.ok(count > 0, `node ${index + 1} started workflows (its API's run starter)`);
      for (const [index, count] of nodePolls.entries()) assert.ok(count > 0, `node ${index + 1} served its worker's polls`);
    } finally {
      await db.end();
    }
  } finally {
    // API and workers before the nodes they use, the nodes before their databases go.
    await Promise.all(pairs.flatMap((pair) => [pair.api.stop('SIGTERM', 15_000), pair.worker.stop('SIGTERM', 15_000)]));
    await Promise.all(nodes.map((node) => node.stop()));
    await dropDatabases(databases);
  }
});

async function createProject(apiUrl: string, rootKey: string): Promise<{ id: string; key: string }> {
  const response = await fetch(`${apiUrl}/v1/projects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${rootKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'cluster' }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  const body = (await response.json()) as { id: string; admin_key: { key: string } };
  return { id: body.id, key: body.admin_key.key };
}

/** REQUESTS requests of EVENTS_PER_REQUEST events, CONCURRENCY at a time, alternating between the APIs. */
async function sendLoad(apiUrls: string[], key: string, died: () => string | undefined): Promise<{ ids: string[]; perApi: number[] }> {
  const ids: string[] = [];
  const perApi = apiUrls.map(() => 0);
  let next = 0;
  const startedAt = Date.now();
  const sender = async () => {
    for (let request = next++; request < REQUESTS; request = next++) {
      const due = startedAt + (request * LOAD_SECONDS * 1000) / REQUESTS;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const api = request % apiUrls.length;
      const batch = Array.from({ length: EVENTS_PER_REQUEST }, (_, index) => ({ type: 'cluster.load', user_id: `u${index}`, properties: { request, index } }));
      // A 429 (load shedding) or 503 accepted nothing and is safe to retry, as a client would.
      for (;;) {
        const gone = died();
        if (gone) throw new Error(`a service died: ${gone}`);
        const response = await fetch(`${apiUrls[api]}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        if (response.status === 202) {
          ids.push(...((await response.json()) as { ids: string[] }).ids);
          perApi[api]!++;
          break;
        }
        assert.ok([429, 503].includes(response.status), `unexpected ${response.status}: ${await response.text()}`);
        await new Promise((resolve) => setTimeout(resolve, 1_000 * Number(response.headers.get('retry-after') ?? 1)));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, sender));
  return { ids, perApi };
}

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createDatabase } from '../../src/db/connection.ts';
import { createGroupCommitter } from '../../src/ingest/group-commit.ts';
import { claimRuns, insertRequests, pendingRequest } from '../../src/ingest/queries.ts';
import { batchIdsWithin, startBatchRun } from '../../src/temporal/start-batch.ts';
import { BATCH_IDS } from '../../workflows/search-attributes.ts';
import { startStack, type Stack, type TestProject } from '../helpers/stack.ts';
import { closedPort } from '../helpers/ports.ts';

const JSON_PLAIN = Buffer.from('json/plain').toString('base64');
const asPayload = (value: unknown) => ({ metadata: { encoding: JSON_PLAIN }, data: Buffer.from(JSON.stringify(value)).toString('base64') });
const fromPayload = (payload: { data: string }) => JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8'));

describe('acceptance into Postgres, runs by reference', () => {
  let stack: Stack;
  let project: TestProject;
  before(async () => {
    stack = await startStack({ env: { INGEST_RUN_WINDOW_MS: '200' } });
    project = await stack.createProject('acceptance');
  });
  after(() => stack?.stop());

  async function completed(batchId: string) {
    return stack.waitFor(async () => {
      const response = await stack.request('GET', `/v1/batches/${batchId}`, { key: project.adminKey });
      return response.body.status === 'completed' ? response.body : undefined;
    });
  }

  test('concurrent single-event requests share runs; each batch keeps its own id, ids and summary', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, n) => stack.request('POST', '/v1/events', { key: project.adminKey, body: { type: 'page_view', properties: { n } } })),
    );
    assert.ok(answers.every((answer) => answer.status === 202));
    const batches = await Promise.all(answers.map((answer) => completed(answer.body.batch_id)));
    const runs = new Set(batches.map((batch) => batch.workflow_id));
    assert.ok(runs.size < answers.length, `20 requests ran in ${runs.size} runs`);
    for (const [index, batch] of batches.entries()) {
      assert.equal(batch.batch_id, answers[index].body.batch_id);
      assert.deepEqual(batch.summary, { received: 1, invalid: 0, duplicates: 0, stored: 1, rejected: [] });
    }
    const stored = await stack.db('events').where('project_id', project.id).whereIn('id', answers.map((answer) => answer.body.ids[0]));
    assert.equal(stored.length, 20);
    // Processed payload rows are gone: nothing accumulates in the ingest tables.
    const left = await stack.db('ingest_requests').whereIn('batch_id', answers.map((answer) => answer.body.batch_id));
    assert.equal(left.length, 0);
  });

  test('a run claimed but never started (its API died) is started by the sweep and processed once', async () => {
    const request = pendingRequest({
      batchId: `orphan-${Date.now()}`,
      projectId: project.id,
      taskQueue: stack.config.temporal.taskQueue,
      receivedAt: new Date().toISOString(),
      client: {},
      events: [{ id: `orphan-event-${Date.now()}`, type: 'orphaned' }],
    });
    // Claimed by a "starter" that then died: the run row exists, started_at stays null. The stack's own
    // starter may claim the request first, which is as good: either way it must end up stored once.
    await insertRequests(stack.db, [request]);
    const [claimed] = await claimRuns(stack.db, stack.config.temporal.taskQueue, { maxEvents: 100, maxRequests: 10 });
    const ref = claimed?.ref;
    if (ref) await stack.db('ingest_runs').where('id', ref.runId).update({ created_at: stack.db.raw(`now() - interval '1 minute'`) });
    const batch = await stack.waitFor(async () => {
      const response = await stack.request('GET', `/v1/batches/${request.batchId}`, { key: project.adminKey });
      return response.body.status === 'completed' ? response.body : undefined;
    }, 30_000);
    assert.equal(batch.summary.stored, 1);
  });

  test('the codec endpoint refuses a caller without a key, and shows a key only its own project’s runs', async () => {
    const other = await stack.createProject('acceptance-other');
    const ref = { runId: 'r1', projectId: project.id, batchIds: ['b1'], eventCount: 1, digest: 'ab' };
    const othersRef = { ...ref, projectId: other.id };

    const anonymous = await stack.request('POST', '/codec/decode', { body: { payloads: [asPayload(ref)] } });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.code, 'unauthorized');
    assert.equal(anonymous.body.payloads, undefined);

    const response = await stack.request('POST', '/codec/decode', { key: other.adminKey, body: { payloads: [asPayload(ref), asPayload(othersRef)] } });
    assert.equal(response.status, 200);
    assert.deepEqual(fromPayload(response.body.payloads[0]), ref, 'another project’s reference is left as it was');
    assert.deepEqual(fromPayload(response.body.payloads[1]).requests, [], 'its own (already processed) run resolves');

    const garbage = await stack.request('POST', '/codec/decode', { key: other.adminKey, body: { payloads: 'nope' } });
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body.error.code, 'invalid_body');
    const notJson = await stack.request('POST', '/codec/decode', { key: other.adminKey, body: 'x', headers: { 'content-type': 'text/plain' } });
    assert.equal(notJson.status, 415);
  });

  test('a run of 700 requests lists them all in BatchIds (the dev server allows the attribute size)', async () => {
    const batchIds = Array.from({ length: 700 }, () => randomUUID());
    const ref = { runId: batchIds[0], projectId: project.id, batchIds, eventCount: 700, digest: '00' };
    await startBatchRun(stack.client!, `unserved-${randomUUID()}`, ref, stack.config.api.ingest.batchIdsMaxBytes);
    const handle = stack.client!.workflow.getHandle(`batch:${ref.runId}`);
    try {
      const description = await handle.describe();
      assert.equal(description.typedSearchAttributes.get(BATCH_IDS)?.length, 700);
    } finally {
      await handle.terminate('test cleanup');
    }
  });

  test('the codec answers the Web UI’s preflight for its origin only', async () => {
    const preflight = await stack.request('OPTIONS', '/codec/decode', { headers: { Origin: 'http://127.0.0.1:8233', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8233');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
    const stranger = await stack.request('OPTIONS', '/codec/decode', { headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(stranger.headers.get('access-control-allow-origin'), null);
  });
});

describe('the codec resolves a waiting run’s reference into its events', () => {
  let stack: Stack;
  let project: TestProject;
  // The harness's Temporal without a worker: runs start and wait, their payload rows stay.
  before(async () => {
    stack = await startStack({ temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', env: { CODEC_ALLOW_LOOPBACK: 'true' } });
    project = await stack.createProject('codec');
  });
  after(() => stack?.stop());

  test('from loopback (dev stack setting) the run input decodes to the accepted requests with their events', async () => {
    const accepted = await stack.request('POST', '/v1/events', { key: project.adminKey, body: [{ type: 'visible', properties: { plan: 'pro' } }, { type: 'also' }] });
    assert.equal(accepted.status, 202);
    const workflowId = await stack.waitFor(async () => {
      const status = await stack.request('GET', `/v1/batches/${accepted.body.batch_id}`, { key: project.adminKey });
      return status.body.status === 'running' ? status.body.workflow_id : undefined;
    });
    const handle = stack.client!.workflow.getHandle(workflowId);
    try {
      const history = await handle.fetchHistory();
      const input = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
      const wire = { metadata: Object.fromEntries(Object.entries(input.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(input.data!).toString('base64') };
      const response = await stack.request('POST', '/codec/decode', { body: { payloads: [wire] } });
      assert.equal(response.status, 200);
      const decoded = fromPayload(response.body.payloads[0]);
      assert.equal(decoded.runId, accepted.body.batch_id);
      assert.deepEqual(decoded.requests[0].events.map((event: { id: string }) => event.id), accepted.body.ids);
      assert.deepEqual(decoded.requests[0].events[0].properties, { plan: 'pro' });
    } finally {
      await handle.terminate('test cleanup');
    }
  });
});

describe('acceptance parts on their own', () => {
  test('a failed group commit rejects every request of the group (the route answers 503, nothing accepted)', async () => {
    const port = await closedPort();
    const db = createDatabase(`postgres://nobody@127.0.0.1:${port}/none`, 1);
    try {
      const committer = createGroupCommitter(db, { writers: 1, maxEvents: 10 });
      const request = (batchId: string) =>
        pendingRequest({ batchId, projectId: '00000000-0000-0000-0000-000000000000', taskQueue: 'q', receivedAt: new Date().toISOString(), client: {}, events: [{ id: batchId, type: 't' }] });
      const results = await Promise.allSettled([committer.append(request('a')), committer.append(request('b'))]);
      assert.deepEqual(results.map((result) => result.status), ['rejected', 'rejected']);
    } finally {
      await db.destroy();
    }
  });

  test('the BatchIds attribute keeps the leading ids that fit the server’s value limit', () => {
    const ids = Array.from({ length: 100 }, (_, n) => `01a2${String(n).padStart(32, '0')}`);
    const kept = batchIdsWithin(ids, 2_000);
    assert.ok(kept.length > 0 && kept.length < ids.length);
    assert.ok(JSON.stringify(kept).length <= 2_000);
    assert.deepEqual(kept, ids.slice(0, kept.length));
    assert.deepEqual(batchIdsWithin(ids.slice(0, 3), 2_000), ids.slice(0, 3));
  });
});

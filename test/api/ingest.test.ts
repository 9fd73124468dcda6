import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
// @temporalio/proto is CommonJS whose exports Node cannot name statically: import the default.
import proto from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { batchWorkflowId } from '../../src/temporal/names.ts';
import { startStack, type Stack, type TestProject } from '../helpers/stack.ts';

const CHROME_ON_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

describe('POST /v1/events → workflow → Postgres', () => {
  let stack: Stack;
  let project: TestProject;

  before(async () => {
    stack = await startStack();
    project = await stack.createProject('ingest');
  });
  after(() => stack?.stop());

  async function ingest(body: unknown, headers: Record<string, string> = {}) {
    const response = await stack.request('POST', '/v1/events', { key: project.adminKey, body, headers });
    assert.equal(response.status, 202, JSON.stringify(response.body));
    return response.body as { batch_id: string; accepted: number; ids: string[] };
  }

  async function completedBatch(batchId: string, key = project.adminKey) {
    return stack.waitFor(async () => {
      const response = await stack.request('GET', `/v1/batches/${batchId}`, { key });
      return response.status === 200 && response.body.status === 'completed' ? response.body : undefined;
    });
  }

  test('accepts a batch, and its events end up in Postgres enriched (UA, clock skew, UTM)', async () => {
    const explicitId = `evt-${randomUUID()}`;
    const accepted = await ingest(
      {
        batch: [
          {
            id: explicitId,
            type: 'page_view',
            user_id: 'user-1',
            timestamp: '2026-03-01T10:00:00.000Z',
            properties: { url: 'https://shop.example/spring?utm_source=newsletter&utm_medium=email&utm_campaign=spring' },
            context: { locale: 'en-GB' },
          },
          { type: 'signup', anonymous_id: 'anon-7' },
        ],
        // The client's clock says it sent the batch 30 s after the first event happened.
        sent_at: '2026-03-01T10:00:30.000Z',
      },
      // Not trusted unless TRUST_PROXY is set: anyone can send this header.
      { 'User-Agent': CHROME_ON_WINDOWS, 'X-Forwarded-For': '203.0.113.7' },
    );
    assert.equal(accepted.accepted, 2);
    assert.equal(accepted.ids[0], explicitId);
    assert.match(accepted.ids[1], /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'generated ids are UUIDv7');
    assert.match(accepted.batch_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/);

    const batch = await completedBatch(accepted.batch_id);
    assert.deepEqual(batch.summary, { received: 2, invalid: 0, duplicates: 0, stored: 2, rejected: [] });
    assert.equal(batch.workflow_id, batchWorkflowId(accepted.batch_id));

    const row = await stack.db('events').where({ project_id: project.id, id: explicitId }).first();
    assert.ok(row, 'the event is stored');
    assert.equal(row.batch_id, accepted.batch_id);
    assert.equal(row.original_timestamp.toISOString(), '2026-03-01T10:00:00.000Z');
    assert.equal(row.sent_at.toISOString(), '2026-03-01T10:00:30.000Z');
    // Skew-corrected: the event happened 30 s before the server received the batch.
    assert.equal(row.timestamp.getTime(), row.received_at.getTime() - 30_000);
    assert.equal(row.enrichment.ip, '127.0.0.1', 'the socket address, not X-Forwarded-For');
    assert.match(row.enrichment.browser, /^Chrome 126/);
    assert.match(row.enrichment.os, /^Windows/);
    assert.equal(row.enrichment.user_agent, CHROME_ON_WINDOWS);
    assert.deepEqual(row.enrichment.urls.url.utm, { source: 'newsletter', medium: 'email', campaign: 'spring' });
    assert.deepEqual(row.context, { locale: 'en-GB' });

    // Without its own timestamp an event happened when the server received it.
    const generated = await stack.db('events').where({ project_id: project.id, id: accepted.ids[1] }).first();
    assert.equal(generated.timestamp.getTime(), generated.received_at.getTime());
    assert.equal(generated.anonymous_id, 'anon-7');

    const viaApi = await stack.request('GET', `/v1/events/${explicitId}`, { key: project.adminKey });
    assert.equal(viaApi.status, 200);
    assert.equal(viaApi.body.enrichment.urls.url.utm.source, 'newsletter');
    assert.equal(viaApi.body.timestamp, row.timestamp.toISOString());
  });

  test('the batch runs as a workflow with validateRun, enrichRun and persistRun in its history, and no event body', async () => {
    const accepted = await ingest({ type: 'history_check', properties: { secret_marker: 'body-must-not-be-in-history' } });
    const completed = await completedBatch(accepted.batch_id);
    // The batches row commits inside persistRun; the run's markers land when its workflow task completes.
    const handle = stack.client!.workflow.getHandle(completed.workflow_id);
    await handle.result();
    const history = await handle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = JSON.parse(Buffer.from(started?.input?.payloads?.[0]?.data ?? []).toString('utf8'));
    assert.ok(input.batchIds.includes(accepted.batch_id), 'the run input names the request');
    assert.equal(typeof input.digest, 'string');
    assert.equal(input.events, undefined);
    const encoded = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
    assert.ok(encoded.includes(accepted.batch_id), 'the search works: the batch id is in the input');
    assert.ok(!encoded.includes('body-must-not-be-in-history'), 'no event body anywhere in history');
    const steps = new Set<string>();
    for (const event of history.events ?? []) {
      const activity = event.activityTaskScheduledEventAttributes?.activityType?.name;
      if (activity) steps.add(activity);
      // Local activities leave a marker whose data names the activity type.
      for (const payloads of Object.values(event.markerRecordedEventAttributes?.details ?? {})) {
        for (const payload of payloads.payloads ?? []) {
          const text = Buffer.from(payload.data ?? []).toString('utf8');
          for (const name of ['validateRun', 'enrichRun', 'persistRun']) if (text.includes(`"${name}"`)) steps.add(name);
        }
      }
    }
    for (const step of ['validateRun', 'enrichRun', 'persistRun']) assert.ok(steps.has(step), `${step} in history (saw ${[...steps]})`);
  });

  test('a single event object and a bare array are accepted too', async () => {
    const single = await ingest({ type: 'single' });
    assert.equal(single.accepted, 1);
    const array = await ingest([{ type: 'one' }, { type: 'two' }]);
    assert.equal(array.accepted, 2);
    const batch = await completedBatch(array.batch_id);
    assert.equal(batch.summary.stored, 2);
  });

  test('an id is stored once, whether repeated inside one batch or across batches', async () => {
    const id = `dup-${randomUUID()}`;
    const first = await ingest([
      { id, type: 'purchase', properties: { n: 1 } },
      { id, type: 'purchase', properties: { n: 2 } },
    ]);
    assert.equal((await completedBatch(first.batch_id)).summary.duplicates, 1);
    const second = await ingest({ id, type: 'purchase', properties: { n: 3 } });
    const summary = (await completedBatch(second.batch_id)).summary;
    assert.equal(summary.stored, 0);
    assert.equal(summary.duplicates, 1);

    const rows = await stack.db('events').where({ project_id: project.id, id });
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0].properties, { n: 1 }, 'the first occurrence wins');
  });

  test('a schema-invalid event is rejected with its reasons; the rest of the batch is stored', async () => {
    const type = `checkout-${randomUUID().slice(0, 8)}`;
    const schema = { type: 'object', required: ['amount'], properties: { amount: { type: 'number', minimum: 0 } } };
    const put = await stack.request('PUT', `/v1/schemas/${type}`, { key: project.adminKey, body: { schema } });
    assert.equal(put.status, 201);

    const goodId = `good-${randomUUID()}`;
    const badId = `bad-${randomUUID()}`;
    const accepted = await ingest([
      { id: goodId, type, properties: { amount: 12.5 } },
      { id: badId, type, properties: { amount: 'lots' } },
    ]);
    const batch = await completedBatch(accepted.batch_id);
    assert.equal(batch.summary.received, 2);
    assert.equal(batch.summary.stored, 1);
    assert.equal(batch.summary.invalid, 1);
    assert.equal(batch.summary.rejected.length, 1);
    assert.equal(batch.summary.rejected[0].id, badId);
    assert.equal(batch.summary.rejected[0].reasons[0].field, 'properties.amount');

    const rejected = await stack.request('GET', `/v1/events/rejected?type=${type}`, { key: project.adminKey });
    assert.equal(rejected.status, 200);
    assert.equal(rejected.body.data.length, 1);
    const [entry] = rejected.body.data;
    assert.equal(entry.id, badId);
    assert.equal(entry.type, type);
    assert.equal(entry.batch_id, accepted.batch_id);
    assert.equal(entry.reasons[0].field, 'properties.amount');
    assert.match(entry.reasons[0].message, /number/);
    assert.deepEqual(entry.payload.properties, { amount: 'lots' });
    assert.ok(!Number.isNaN(Date.parse(entry.rejected_at)));

    assert.equal((await stack.request('GET', `/v1/events/${goodId}`, { key: project.adminKey })).status, 200);
    assert.equal((await stack.request('GET', `/v1/events/${badId}`, { key: project.adminKey })).status, 404);
  });

  test('a retried request with the same Idempotency-Key maps to the same batch and ids, processed once', async () => {
    const key = `retry-${randomUUID()}`;
    const body = [{ type: 'order_placed' }, { type: 'order_paid' }];
    const first = await ingest(body, { 'Idempotency-Key': key });
    const again = await ingest(body, { 'Idempotency-Key': key });
    assert.deepEqual(again, first);
    assert.equal((await completedBatch(first.batch_id)).summary.stored, 2);

    const retriedLate = await ingest(body, { 'Idempotency-Key': key });
    assert.deepEqual(retriedLate, first, 'also after the batch completed');
    const stored = await stack.db('events').where({ project_id: project.id, batch_id: first.batch_id });
    assert.equal(stored.length, 2);

    const other = await stack.createProject('idempotency-other');
    const elsewhere = await stack.request('POST', '/v1/events', { key: other.adminKey, body, headers: { 'Idempotency-Key': key } });
    assert.equal(elsewhere.status, 202);
    assert.notEqual(elsewhere.body.batch_id, first.batch_id, 'keys are scoped by project');
  });

  test('write keys may ingest', async () => {
    const created = await stack.request('POST', `/v1/projects/${project.id}/keys`, { key: project.adminKey, body: { kind: 'write' } });
    assert.equal(created.status, 201);
    const response = await stack.request('POST', '/v1/events', {
      headers: { 'X-API-Key': created.body.key },
      body: { type: 'from_write_key' },
    });
    assert.equal(response.status, 202);
    await completedBatch(response.body.batch_id);
  });

  test('a batch is invisible to other projects', async () => {
    const accepted = await ingest({ type: 'private' });
    await completedBatch(accepted.batch_id);
    const other = await stack.createProject('ingest-other');
    const response = await stack.request('GET', `/v1/batches/${accepted.batch_id}`, { key: other.adminKey });
    assert.equal(response.status, 404);
    assert.equal(response.body.error.code, 'not_found');
    assert.equal((await stack.request('GET', `/v1/batches/${randomUUID()}`, { key: project.adminKey })).status, 404);
  });
});

describe('GET /v1/batches/:id before the batch completed', () => {
  let stack: Stack;

  // The harness's Temporal, but no worker on this stack's task queue: started batches stay running.
  before(async () => {
    stack = await startStack({ temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  });
  after(() => stack?.stop());

  test('reports a running workflow, to its own project only', async () => {
    const project = await stack.createProject('running');
    const accepted = await stack.request('POST', '/v1/events', { key: project.adminKey, body: { type: 'waiting' } });
    assert.equal(accepted.status, 202);
    const batchId = accepted.body.batch_id;
    try {
      // `accepted` until the run starter claims it (a short window), then its run's status.
      const status = await stack.waitFor(async () => {
        const response = await stack.request('GET', `/v1/batches/${batchId}`, { key: project.adminKey });
        assert.equal(response.status, 200);
        assert.ok(['accepted', 'running'].includes(response.body.status), response.body.status);
        return response.body.status === 'running' ? response : undefined;
      });
      assert.equal(status.body.summary, null);
      assert.equal(status.body.workflow_id, batchWorkflowId(batchId));

      const other = await stack.createProject('running-other');
      assert.equal((await stack.request('GET', `/v1/batches/${batchId}`, { key: other.adminKey })).status, 404);
    } finally {
      await stack.client!.workflow.getHandle(batchWorkflowId(batchId)).terminate('test cleanup');
    }
    const terminated = await stack.request('GET', `/v1/batches/${batchId}`, { key: project.adminKey });
    assert.equal(terminated.body.status, 'terminated');
  });
});

describe('behind a trusted proxy (TRUST_PROXY=true)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', env: { TRUST_PROXY: 'true' } });
  });
  after(() => stack?.stop());

  test('the client IP comes from X-Forwarded-For and is accepted with the User-Agent; the run gets a reference', async () => {
    const project = await stack.createProject('proxied');
    const accepted = await stack.request('POST', '/v1/events', {
      key: project.adminKey,
      body: { type: 'proxied' },
      headers: { 'X-Forwarded-For': '198.51.100.23, 10.0.0.2', 'User-Agent': CHROME_ON_WINDOWS },
    });
    assert.equal(accepted.status, 202);
    const row = await stack.db('ingest_requests').where('batch_id', accepted.body.batch_id).first();
    assert.equal(row.project_id, project.id);
    assert.deepEqual(row.client, { ip: '198.51.100.23', userAgent: CHROME_ON_WINDOWS });
    assert.ok(Math.abs(row.received_at.getTime() - Date.now()) < 60_000);
    assert.equal(row.events[0].type, 'proxied');
    assert.equal(row.events[0].id, accepted.body.ids[0]);
    const handle = stack.client!.workflow.getHandle(batchWorkflowId(accepted.body.batch_id));
    try {
      const input = await stack.waitFor(async () => {
        const history = await handle.fetchHistory().catch(() => undefined);
        const payload = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
        return payload ? JSON.parse(Buffer.from(payload.data ?? []).toString('utf8')) : undefined;
      });
      assert.deepEqual(input.batchIds, [accepted.body.batch_id]);
      assert.equal(input.projectId, project.id);
      assert.equal(input.eventCount, 1);
    } finally {
      await handle.terminate('test cleanup');
    }
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { BatchInput, BatchSummary } from '../../src/shared/batch.ts';
import { startBatchWorkflow } from '../../src/temporal/start-batch.ts';
import { createTestProject } from '../helpers/projects.ts';
import { startTestWorker, type TestWorker } from '../helpers/worker.ts';

describe('processBatch workflow (real Temporal, real Postgres)', () => {
  let stack: TestWorker;
  let projectId: string;

  before(async () => {
    stack = await startTestWorker();
    projectId = await createTestProject(stack.db);
    await stack.db('event_schemas').insert({
      project_id: projectId,
      event_type: 'purchase',
      version: 1,
      schema: JSON.stringify({
        type: 'object',
        required: ['amount'],
        properties: { amount: { type: 'number', minimum: 0 } },
      }),
    });
  });
  after(() => stack.stop());

  function batch(events: BatchInput['events'], extra: Partial<BatchInput> = {}): BatchInput {
    return {
      batchId: randomUUID(),
      projectId,
      receivedAt: '2026-05-01T12:00:10.000Z',
      client: {},
      events,
      ...extra,
    };
  }

  async function run(input: BatchInput): Promise<BatchSummary> {
    const workflowId = await startBatchWorkflow(stack.client, stack.config.temporal.taskQueue, input);
    return stack.client.workflow.getHandle(workflowId).result();
  }

  test('stores valid events with enrichment and rejects schema-invalid ones with reasons', async () => {
    const input = batch(
      [
        { id: `ok-${randomUUID()}`, type: 'purchase', timestamp: '2026-05-01T12:00:00.000Z', properties: { amount: 5, url: 'https://shop.example/cart?utm_source=news' } },
        { id: `bad-${randomUUID()}`, type: 'purchase', properties: { amount: 'five' } },
        { id: `free-${randomUUID()}`, type: 'page_view' },
      ],
      { sentAt: '2026-05-01T12:00:05.000Z', client: { ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' } },
    );
    const summary = await run(input);
    assert.equal(summary.received, 3);
    assert.equal(summary.stored, 2);
    assert.equal(summary.invalid, 1);
    assert.equal(summary.rejected[0].id, input.events[1].id);
    assert.match(summary.rejected[0].reasons[0].field, /^properties\.amount/);

    const stored = await stack.db('events').where({ project_id: projectId, id: input.events[0].id }).first();
    // received 12:00:10 − (sent 12:00:05 − event 12:00:00) = 12:00:05
    assert.equal(new Date(stored.timestamp).toISOString(), '2026-05-01T12:00:05.000Z');
    assert.equal(stored.enrichment.browser, 'Firefox 128.0');
    assert.equal(stored.enrichment.os, 'Linux');
    assert.equal(stored.enrichment.ip, '203.0.113.9');
    assert.deepEqual(stored.enrichment.urls.url, { host: 'shop.example', path: '/cart', utm: { source: 'news' } });

    const rejected = await stack.db('rejected_events').where({ project_id: projectId, event_id: input.events[1].id }).first();
    assert.equal(rejected.type, 'purchase');
    assert.deepEqual(rejected.payload.properties, { amount: 'five' });
  });

  test('records validate, enrich and persist as steps in the run history', async () => {
    const input = batch([{ id: randomUUID(), type: 'signup' }]);
    await run(input);
    const history = await stack.client.workflow.getHandle(`batch:${input.batchId}`).fetchHistory();
    const events = history.events ?? [];
    // All three steps are local activities: each leaves a marker naming it, with its result.
    const steps = events
      .map((event) => event.markerRecordedEventAttributes)
      .filter((marker) => marker?.markerName === 'core_local_activity')
      .map((marker) => {
        const data = marker?.details?.data?.payloads?.[0]?.data;
        return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string }).activity_type : undefined;
      });
    assert.deepEqual(steps, ['validateBatch', 'enrichBatch', 'persistBatch']);
    // The project has no webhook endpoint or notification rule, so nothing is dispatched.
    const scheduled = events.map((event) => event.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    assert.deepEqual(scheduled, []);
    const started = events.filter((event) => event.workflowTaskStartedEventAttributes);
    assert.equal(started.length, 1, 'a batch without delivery targets completes in one workflow task');
  });

  test('dispatches deliveries only when the project has somewhere to deliver, with the stored ids', async () => {
    const withTarget = await createTestProject(stack.db, 'dispatching');
    await stack.db('notification_rules').insert({
      id: randomUUID(),
      project_id: withTarget,
      event_types: ['never_sent'],
      recipients: ['ops@example.com'],
      subject_template: 's',
      body_template: 'b',
    });
    const ids = [randomUUID(), randomUUID()];
    const input = batch(ids.map((id) => ({ id, type: 'signup' })), { projectId: withTarget });
    const summary = await run(input);
    assert.deepEqual(summary.deliveries, { targets: 0, delivered: 0, handedOff: 0 });
    const history = await stack.client.workflow.getHandle(`batch:${input.batchId}`).fetchHistory();
    const dispatch = (history.events ?? []).find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'dispatchDeliveries');
    assert.ok(dispatch, 'dispatchDeliveries was scheduled');
    const payload = dispatch.activityTaskScheduledEventAttributes?.input?.payloads?.[0]?.data;
    const dispatchInput = JSON.parse(Buffer.from(payload ?? []).toString('utf8')) as { eventIds: string[] };
    assert.deepEqual([...dispatchInput.eventIds].sort(), [...ids].sort());
  });

  test('stores an id once whether repeated inside a batch or across batches', async () => {
    const id = `dup-${randomUUID()}`;
    const first = await run(batch([{ id, type: 'signup' }, { id, type: 'signup' }]));
    assert.equal(first.stored, 1);
    assert.equal(first.duplicates, 1);
    const second = await run(batch([{ id, type: 'signup' }]));
    assert.equal(second.stored, 0);
    assert.equal(second.duplicates, 1);
    const rows = await stack.db('events').where({ project_id: projectId, id }).count({ n: '*' });
    assert.equal(rows[0].n, 1);
  });

  test('starting the same batch twice runs it once', async () => {
    const input = batch([{ id: randomUUID(), type: 'signup' }]);
    const [a, b] = await Promise.all([
      startBatchWorkflow(stack.client, stack.config.temporal.taskQueue, input),
      startBatchWorkflow(stack.client, stack.config.temporal.taskQueue, input),
    ]);
    assert.equal(a, b);
    const summary: BatchSummary = await stack.client.workflow.getHandle(a).result();
    assert.equal(summary.stored, 1);
    const runs = stack.client.workflow.list({ query: `WorkflowId = "${a}"` });
    let count = 0;
    for await (const _ of runs) count += 1;
    assert.equal(count, 1);
  });
});

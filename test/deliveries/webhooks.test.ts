import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { BatchInput, BatchSummary } from '../../src/shared/batch.ts';
import { deliveryWorkflowId } from '../../src/shared/delivery.ts';
import { startBatchWorkflow } from '../../src/temporal/start-batch.ts';
import { generateSecret } from '../../src/deliveries/channels/webhook/signing.ts';
import { createTestProject, waitFor } from '../helpers/projects.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { startTestWorker, testConfig, type TestWorker } from '../helpers/worker.ts';
import { deliveryStateQuery, discardSignal, replaySignal } from '../../workflows/delivery.ts';

describe('webhook delivery through real Temporal to real receivers', () => {
  let stack: TestWorker;
  let projectId: string;
  const receivers: Receiver[] = [];

  before(async () => {
    // Short schedule: retries after 1 s and 1 s, so three attempts in all.
    stack = await startTestWorker(testConfig({ WEBHOOK_RETRY_SCHEDULE: '1,1', WEBHOOK_TIMEOUT_MS: '2000' }));
    projectId = await createTestProject(stack.db, 'webhooks');
  });
  after(async () => {
    await stack.stop();
    await Promise.all(receivers.map((receiver) => receiver.close()));
  });

  async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
    const started = await startReceiver(...args);
    receivers.push(started);
    return started;
  }

  async function endpoint(url: string, eventTypes: string[], extra: Record<string, unknown> = {}) {
    const id = randomUUID();
    const secret = generateSecret();
    await stack.db('webhook_endpoints').insert({ id, project_id: projectId, url, event_types: eventTypes, secret, ...extra });
    return { id, secret };
  }

  async function ingest(events: Array<{ type: string; properties?: Record<string, unknown> }>): Promise<{ ids: string[]; summary: BatchSummary }> {
    const input: BatchInput = {
      batchId: randomUUID(),
      projectId,
      receivedAt: new Date().toISOString(),
      client: {},
      events: events.map((event) => ({ id: randomUUID(), ...event })),
    };
    const workflowId = await startBatchWorkflow(stack.client, stack.config.temporal.taskQueue, input);
    const summary: BatchSummary = await stack.client.workflow.getHandle(workflowId).result();
    return { ids: input.events.map((event) => event.id), summary };
  }

  test('delivers signed events that standardwebhooks verifies, respecting filters and disabled endpoints', async () => {
    const orders = await receiver();
    const everything = await receiver();
    const disabled = await receiver();
    const ordersEndpoint = await endpoint(orders.url, ['order.*']);
    const allEndpoint = await endpoint(everything.url, ['*']);
    await endpoint(disabled.url, ['*'], { enabled: false });

    const { ids, summary } = await ingest([{ type: 'order.created', properties: { total: 3 } }, { type: 'signup' }]);
    assert.equal(summary.deliveries?.delivered, 3);
    assert.equal(orders.requests.length, 1);
    assert.equal(everything.requests.length, 2);
    assert.equal(disabled.requests.length, 0);

    const request = orders.requests[0];
    const verified = new Webhook(ordersEndpoint.secret).verify(request.body, request.headers as Record<string, string>) as {
      type: string;
      data: { id: string; properties: { total: number } };
    };
    assert.equal(verified.type, 'order.created');
    assert.equal(verified.data.id, ids[0]);
    assert.equal(verified.data.properties.total, 3);
    assert.throws(() => new Webhook(allEndpoint.secret).verify(request.body, request.headers as Record<string, string>));

    const attempts = await stack.db('delivery_attempts').where({ project_id: projectId, target_id: ordersEndpoint.id });
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0].outcome, 'delivered');
    assert.equal(attempts[0].status_code, 200);
  });

  test('a receiver failing twice then succeeding gets the event once more, with the same webhook-id each time', async () => {
    const flaky = await receiver((n) => (n <= 2 ? { status: 503, body: 'warming up' } : { status: 204 }));
    const { id: endpointId } = await endpoint(flaky.url, ['flaky.event']);
    const { ids } = await ingest([{ type: 'flaky.event' }]);

    const handle = stack.client.workflow.getHandle(deliveryWorkflowId({ channel: 'webhook', targetId: endpointId, eventId: ids[0] }));
    const result = await handle.result();
    assert.equal(result.status, 'delivered');
    assert.equal(flaky.requests.length, 3);
    assert.equal(new Set(flaky.requests.map((request) => request.headers['webhook-id'])).size, 1);
    const attempts = await stack.db('delivery_attempts').where({ target_id: endpointId }).orderBy('attempt');
    assert.deepEqual(attempts.map((attempt) => [attempt.attempt, attempt.status_code, attempt.outcome]), [
      [1, 503, 'retryable'],
      [2, 503, 'retryable'],
      [3, 204, 'delivered'],
    ]);
    assert.equal(attempts[0].response_excerpt, 'warming up');
  });

  test('an always-failing receiver is dead-lettered, findable by search attribute, and replayed exactly once', async () => {
    const broken = await receiver(() => ({ status: 500, body: 'boom' }));
    const { id: endpointId } = await endpoint(broken.url, ['dead.letter']);
    const { ids } = await ingest([{ type: 'dead.letter' }]);
    const workflowId = deliveryWorkflowId({ channel: 'webhook', targetId: endpointId, eventId: ids[0] });

    const query = `EventFlowStatus="dead_lettered" AND EndpointId="${endpointId}"`;
    const found = await waitFor(async () => {
      const matches: string[] = [];
      for await (const execution of stack.client.workflow.list({ query })) matches.push(execution.workflowId);
      return matches.length > 0 ? matches : undefined;
    });
    assert.deepEqual(found, [workflowId]);
    assert.equal(broken.requests.length, 3);
    // The search attribute flips in the same workflow task that schedules the Postgres mirror's update.
    const row = await waitFor(async () => (await stack.db('deliveries').where({ workflow_id: workflowId, status: 'dead_lettered' }).first()) ?? undefined);
    assert.match(row.last_error, /HTTP 500/);

    // The parked run's history carries the attempt log, status codes and body excerpts included.
    // The row is written inside the activity, so its completion (with the log) may land a moment later.
    const parked = await waitFor(async () => {
      const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
      const results = (history.events ?? [])
        .map((event) => event.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data)
        .filter((data): data is Uint8Array => Boolean(data))
        .map((data) => JSON.parse(Buffer.from(data).toString('utf8')));
      return results.find((result) => result?.status === 'dead_lettered');
    });
    assert.deepEqual(
      parked.attempts.map((attempt: { attempt: number; status_code: number; response_excerpt: string }) => [
        attempt.attempt,
        attempt.status_code,
        attempt.response_excerpt,
      ]),
      [[1, 500, 'boom'], [2, 500, 'boom'], [3, 500, 'boom']],
    );
    // The run answers its state query (sent through the query's definition, not its name).
    const state = await stack.client.workflow.getHandle(workflowId).query(deliveryStateQuery);
    assert.equal(state.status, 'dead_lettered');
    assert.equal(state.attempts, 3);
    assert.equal(state.lastAttempt?.statusCode, 500);

    broken.respondWith(() => ({ status: 200 }));
    await stack.client.workflow.getHandle(workflowId).signal(replaySignal, {});
    const result = await stack.client.workflow.getHandle(workflowId).result();
    assert.equal(result.status, 'delivered');
    assert.equal(result.replays, 1);
    assert.equal(broken.requests.length, 4);
    assert.equal(new Set(broken.requests.map((request) => request.headers['webhook-id'])).size, 1);
  });

  test('a 400 is not retried, and a discard closes the dead letter', async () => {
    const rejecting = await receiver(() => ({ status: 400, body: 'bad payload' }));
    const { id: endpointId } = await endpoint(rejecting.url, ['rejected.event']);
    const { ids } = await ingest([{ type: 'rejected.event' }]);
    const workflowId = deliveryWorkflowId({ channel: 'webhook', targetId: endpointId, eventId: ids[0] });
    await waitFor(async () => (await stack.db('deliveries').where({ workflow_id: workflowId, status: 'dead_lettered' }).first()) ?? undefined);
    assert.equal(rejecting.requests.length, 1);
    await stack.client.workflow.getHandle(workflowId).signal(discardSignal, { reason: 'receiver rejects it' });
    const result = await stack.client.workflow.getHandle(workflowId).result();
    assert.equal(result.status, 'discarded');
    assert.equal(rejecting.requests.length, 1);
  });

  test('410 Gone disables the endpoint and says why', async () => {
    const gone = await receiver(() => ({ status: 410 }));
    const { id: endpointId } = await endpoint(gone.url, ['gone.event']);
    await ingest([{ type: 'gone.event' }]);
    const row = await waitFor(async () => (await stack.db('webhook_endpoints').where({ id: endpointId, enabled: false }).first()) ?? undefined);
    assert.match(row.disabled_reason, /410/);
    await ingest([{ type: 'gone.event' }]);
    assert.equal(gone.requests.length, 1);
  });

  test('429 with Retry-After waits at least that long before the next attempt', async () => {
    const limited = await receiver((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '3' } } : { status: 200 }));
    const { id: endpointId } = await endpoint(limited.url, ['limited.event']);
    const { ids } = await ingest([{ type: 'limited.event' }]);
    const handle = stack.client.workflow.getHandle(deliveryWorkflowId({ channel: 'webhook', targetId: endpointId, eventId: ids[0] }));
    assert.equal((await handle.result()).status, 'delivered');
    assert.equal(limited.requests.length, 2);
    assert.ok(limited.requests[1].at - limited.requests[0].at >= 3000, 'second attempt came too early');
  });
});

describe('dead-letter retention and endpoint auto-disable (short windows through configuration)', () => {
  let stack: TestWorker;
  let projectId: string;
  let receiver: Receiver;

  before(async () => {
    stack = await startTestWorker(
      testConfig({ WEBHOOK_RETRY_SCHEDULE: '1', DEAD_LETTER_RETENTION_SECONDS: '2', WEBHOOK_DISABLE_AFTER_SECONDS: '1' }),
    );
    projectId = await createTestProject(stack.db, 'retention');
    receiver = await startReceiver(() => ({ status: 500 }));
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  test('an untouched dead letter expires after the retention and says so; a failing endpoint is disabled', async () => {
    const endpointId = randomUUID();
    await stack.db('webhook_endpoints').insert({ id: endpointId, project_id: projectId, url: receiver.url, event_types: ['*'], secret: generateSecret() });
    const eventId = randomUUID();
    const input: BatchInput = { batchId: randomUUID(), projectId, receivedAt: new Date().toISOString(), client: {}, events: [{ id: eventId, type: 'expiring' }] };
    await stack.client.workflow.getHandle(await startBatchWorkflow(stack.client, stack.config.temporal.taskQueue, input)).result();

    const workflowId = deliveryWorkflowId({ channel: 'webhook', targetId: endpointId, eventId });
    const result = await stack.client.workflow.getHandle(workflowId).result();
    assert.equal(result.status, 'expired');
    const row = await stack.db('deliveries').where({ workflow_id: workflowId }).first();
    assert.equal(row.status, 'expired');

    // The second attempt came more than the 1 s window after the first failure.
    const endpoint = await stack.db('webhook_endpoints').where({ id: endpointId }).first();
    assert.equal(endpoint.enabled, false);
    assert.match(endpoint.disabled_reason, /failing continuously/);
  });
});

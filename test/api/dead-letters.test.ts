import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { startStack, type Stack, type TestProject } from '../helpers/stack.ts';

// The operator's path through the API: a receiver that always fails gets its deliveries parked in
// Temporal; they are listed, counted by a dry run, replayed after the fix, or discarded.

let stack: Stack;
let project: TestProject;
let other: TestProject;
let receiver: Receiver;
let endpointId: string;

before(async () => {
  stack = await startStack({ env: { WEBHOOK_RETRY_SCHEDULE: '1', WEBHOOK_ALLOWED_PRIVATE_TARGETS: '127.0.0.1' } });
  project = await stack.createProject('dead-letters');
  other = await stack.createProject('dead-letters-other');
  receiver = await startReceiver(() => ({ status: 500, body: 'receiver is down' }));
  const created = await as(project)('POST', '/v1/webhooks', { url: receiver.url, event_types: ['invoice.*'] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  endpointId = created.body.id;
});

after(async () => {
  await stack.stop();
  await receiver.close();
});

function as(who: TestProject) {
  return (method: string, path: string, body?: unknown) => stack.request(method, path, { key: who.adminKey, body });
}

async function sendAndPark(types: string[]): Promise<string[]> {
  const sent = await as(project)('POST', '/v1/events', types.map((type) => ({ type })));
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  const ids: string[] = sent.body.ids;
  await stack.waitFor(async () => {
    const listed = await as(project)('GET', `/v1/dead-letters?endpoint_id=${endpointId}&limit=500`);
    const parked = new Set(listed.body.data.map((item: { event_id: string }) => item.event_id));
    return ids.every((id) => parked.has(id));
  }, 30_000);
  return ids;
}

async function deadLetterFor(eventId: string) {
  const listed = await as(project)('GET', `/v1/dead-letters?endpoint_id=${endpointId}&limit=500`);
  return listed.body.data.find((item: { event_id: string }) => item.event_id === eventId);
}

test('a dead letter is listed with its reason and can be filtered by event type', async () => {
  const [eventId] = await sendAndPark(['invoice.failed']);
  const item = await deadLetterFor(eventId);
  assert.equal(item.endpoint_id, endpointId);
  assert.equal(item.event_type, 'invoice.failed');
  assert.equal(item.status, 'dead_lettered');
  assert.match(item.last_error, /HTTP 500/);
  assert.match(item.workflow_id, /^delivery:webhook:/);

  const byType = await as(project)('GET', '/v1/dead-letters?event_type=invoice.other');
  assert.equal(byType.status, 200);
  assert.ok(byType.body.data.every((entry: { event_type: string }) => entry.event_type === 'invoice.other'));
  const single = await as(project)('GET', `/v1/dead-letters/${item.id}`);
  assert.equal(single.body.event_id, eventId);
});

test('replay through the API delivers once to the fixed receiver, with the same webhook-id', async () => {
  const [eventId] = await sendAndPark(['invoice.replayed']);
  const item = await deadLetterFor(eventId);
  receiver.respondWith(() => ({ status: 200 }));
  try {
    const replayed = await as(project)('POST', `/v1/dead-letters/${item.id}/replay`);
    assert.equal(replayed.status, 202, JSON.stringify(replayed.body));
    const result = await stack.client!.workflow.getHandle(item.workflow_id).result();
    assert.equal(result.status, 'delivered');
    const forEvent = receiver.requests.filter((request) => request.body.includes(eventId));
    assert.equal(forEvent.filter((_, index) => index >= 2).length, 1, 'exactly one delivery after the replay');
    assert.equal(new Set(forEvent.map((request) => request.headers['webhook-id'])).size, 1);
    const again = await as(project)('POST', `/v1/dead-letters/${item.id}/replay`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'not_dead_lettered');
  } finally {
    receiver.respondWith(() => ({ status: 500, body: 'receiver is down' }));
  }
});

test('bulk replay counts matches with dry_run, then replays them all', async () => {
  const ids = await sendAndPark(['invoice.bulk', 'invoice.bulk', 'invoice.bulk']);
  const dryRun = await as(project)('POST', '/v1/dead-letters/replay', { event_type: 'invoice.bulk', dry_run: true });
  assert.equal(dryRun.status, 200);
  assert.deepEqual(dryRun.body, { dry_run: true, matched: 3 });

  receiver.respondWith(() => ({ status: 204 }));
  try {
    const bulk = await as(project)('POST', '/v1/dead-letters/replay', { event_type: 'invoice.bulk' });
    assert.equal(bulk.status, 202);
    assert.equal(bulk.body.replayed, 3);
    await stack.waitFor(async () => {
      const rows = await stack.db('deliveries').whereIn('event_id', ids).andWhere('status', 'delivered');
      return rows.length === 3;
    }, 30_000);
  } finally {
    receiver.respondWith(() => ({ status: 500, body: 'receiver is down' }));
  }
});

test('discard closes a dead letter without sending', async () => {
  const [eventId] = await sendAndPark(['invoice.discarded']);
  const item = await deadLetterFor(eventId);
  const before = receiver.requests.length;
  const discarded = await as(project)('POST', `/v1/dead-letters/${item.id}/discard`, { reason: 'customer deleted' });
  assert.equal(discarded.status, 202);
  const result = await stack.client!.workflow.getHandle(item.workflow_id).result();
  assert.equal(result.status, 'discarded');
  assert.equal(receiver.requests.length, before);
});

test('bad input gets a clear 4xx and other projects see nothing', async () => {
  const [eventId] = await sendAndPark(['invoice.guarded']);
  const item = await deadLetterFor(eventId);
  const unsafe = await as(project)('POST', `/v1/dead-letters/${item.id}/replay`, { url: 'http://169.254.169.254/latest' });
  assert.equal(unsafe.status, 400);
  assert.equal(unsafe.body.error.code, 'unsafe_url');
  const unknownField = await as(project)('POST', '/v1/dead-letters/replay', { status: 'all' });
  assert.equal(unknownField.status, 400);
  assert.equal(unknownField.body.error.code, 'invalid_body');
  const badTime = await as(project)('GET', '/v1/dead-letters?from=yesterday');
  assert.equal(badTime.status, 400);
  const badCursor = await as(project)('GET', '/v1/dead-letters?cursor=garbage');
  assert.equal(badCursor.status, 400);
  assert.equal((await as(other)('GET', `/v1/dead-letters/${item.id}`)).status, 404);
  assert.equal((await as(other)('POST', `/v1/dead-letters/${item.id}/replay`)).status, 404);
  const otherList = await as(other)('GET', '/v1/dead-letters');
  assert.deepEqual(otherList.body.data, []);
});

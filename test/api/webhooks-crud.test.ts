import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack, type TestProject } from '../helpers/stack.ts';

// Webhook endpoints and notification rules through the real API over HTTP, against real Postgres.
// Target URLs are public IP literals: nothing is ever sent to them (no events are ingested here).

let stack: Stack;
let project: TestProject;
let other: TestProject;

before(async () => {
  stack = await startStack({ withoutTemporal: true });
  project = await stack.createProject('webhooks-crud');
  other = await stack.createProject('webhooks-crud-other');
});

after(() => stack.stop());

const PUBLIC_URL = 'https://93.184.215.14/hooks/eventflow';

function as(who: TestProject) {
  return (method: string, path: string, body?: unknown) => stack.request(method, path, { key: who.adminKey, body });
}

async function createEndpoint(body: Record<string, unknown> = {}) {
  const response = await as(project)('POST', '/v1/webhooks', { url: PUBLIC_URL, event_types: ['order.*'], ...body });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

test('creating an endpoint returns it with its secret, once', async () => {
  const created = await createEndpoint({
    description: 'orders to the ERP',
    headers: { 'X-Tenant': 'acme' },
    retry_schedule: [10, 60],
    event_types: ['order.*', 'order.*', 'invoice.paid'],
  });
  assert.match(created.id, /^[0-9a-f-]{36}$/);
  assert.match(created.secret, /^whsec_/);
  assert.deepEqual(created.event_types, ['order.*', 'invoice.paid']);
  assert.deepEqual(created.headers, { 'X-Tenant': 'acme' });
  assert.deepEqual(created.retry_schedule, [10, 60]);
  assert.equal(created.enabled, true);
  assert.equal(created.disabled_reason, null);

  const fetched = await as(project)('GET', `/v1/webhooks/${created.id}`);
  assert.equal(fetched.status, 200);
  assert.equal(fetched.body.secret, undefined);
  assert.equal(fetched.body.description, 'orders to the ERP');

  const listed = await as(project)('GET', '/v1/webhooks');
  assert.equal(listed.status, 200);
  const mine = listed.body.data.find((endpoint: { id: string }) => endpoint.id === created.id);
  assert.ok(mine);
  assert.ok(listed.body.data.every((endpoint: Record<string, unknown>) => !('secret' in endpoint)));
});

test('private, loopback and metadata URLs are refused with unsafe_url', async () => {
  for (const url of ['http://10.0.0.1/hook', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/hook', 'http://192.168.0.10/']) {
    const response = await as(project)('POST', '/v1/webhooks', { url, event_types: ['*'] });
    assert.equal(response.status, 400, url);
    assert.equal(response.body.error.code, 'unsafe_url', url);
    assert.equal(response.body.error.details[0].field, 'url');
  }
  for (const url of ['ftp://93.184.215.14/x', 'https://user:pass@93.184.215.14/x']) {
    const response = await as(project)('POST', '/v1/webhooks', { url, event_types: ['*'] });
    assert.equal(response.status, 400, url);
    assert.equal(response.body.error.code, 'unsafe_url', url);
  }
});

test('invalid bodies are 400 invalid_body naming each field', async () => {
  const missing = await as(project)('POST', '/v1/webhooks', { event_types: [] , extra: true });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error.code, 'invalid_body');
  const fields = missing.body.error.details.map((detail: { field: string }) => detail.field);
  assert.ok(fields.includes('url'));
  assert.ok(fields.includes('extra'));

  const patterns = await as(project)('POST', '/v1/webhooks', {
    url: PUBLIC_URL,
    event_types: ['order*'],
    headers: { 'Webhook-Signature': 'v1,forged' },
  });
  assert.equal(patterns.status, 400);
  assert.deepEqual(
    patterns.body.error.details.map((detail: { field: string }) => detail.field).sort(),
    ['event_types.0', 'headers.Webhook-Signature'],
  );

  const headerInjection = await as(project)('POST', '/v1/webhooks', { url: PUBLIC_URL, event_types: ['*'], headers: { 'X-A': 'a\r\nX-B: b' } });
  assert.equal(headerInjection.status, 400);
  assert.equal(headerInjection.body.error.code, 'invalid_body');
});

test('a write key cannot manage webhooks', async () => {
  const key = await as(project)('POST', `/v1/projects/${project.id}/keys`, { kind: 'write' });
  assert.equal(key.status, 201);
  const response = await stack.request('GET', '/v1/webhooks', { key: key.body.key });
  assert.equal(response.status, 403);
  assert.equal(response.body.error.code, 'forbidden');
});

test('another project cannot see, change or delete an endpoint', async () => {
  const created = await createEndpoint();
  for (const [method, path, body] of [
    ['GET', `/v1/webhooks/${created.id}`],
    ['PATCH', `/v1/webhooks/${created.id}`, { description: 'mine now' }],
    ['POST', `/v1/webhooks/${created.id}/rotate-secret`],
    ['GET', `/v1/webhooks/${created.id}/attempts`],
    ['DELETE', `/v1/webhooks/${created.id}`],
  ] as Array<[string, string, unknown?]>) {
    const response = await as(other)(method, path, body);
    assert.equal(response.status, 404, `${method} ${path}`);
    assert.equal(response.body.error.code, 'not_found');
  }
  const listed = await as(other)('GET', '/v1/webhooks');
  assert.ok(!listed.body.data.some((endpoint: { id: string }) => endpoint.id === created.id));
  assert.equal((await as(project)('GET', `/v1/webhooks/${created.id}`)).status, 200);
  assert.equal((await as(project)('GET', '/v1/webhooks/not-a-uuid')).status, 404);
});

test('PATCH changes only the given fields and re-checks a new URL', async () => {
  const created = await createEndpoint({ description: 'before' });
  const patched = await as(project)('PATCH', `/v1/webhooks/${created.id}`, { event_types: ['*'], headers: { 'X-New': '1' } });
  assert.equal(patched.status, 200);
  assert.deepEqual(patched.body.event_types, ['*']);
  assert.deepEqual(patched.body.headers, { 'X-New': '1' });
  assert.equal(patched.body.description, 'before');
  assert.equal(patched.body.url, PUBLIC_URL);

  const unsafe = await as(project)('PATCH', `/v1/webhooks/${created.id}`, { url: 'http://127.0.0.2/hook' });
  assert.equal(unsafe.status, 400);
  assert.equal(unsafe.body.error.code, 'unsafe_url');
  assert.equal((await as(project)('GET', `/v1/webhooks/${created.id}`)).body.url, PUBLIC_URL);

  const empty = await as(project)('PATCH', `/v1/webhooks/${created.id}`, {});
  assert.equal(empty.status, 400);
});

test('re-enabling a disabled endpoint clears why it was disabled and its failing window', async () => {
  const created = await createEndpoint();
  await stack.db('webhook_endpoints').where({ id: created.id }).update({
    enabled: false,
    disabled_reason: 'the endpoint answered 410 Gone',
    disabled_at: new Date(),
    failing_since: new Date(Date.now() - 3_600_000),
  });
  const disabled = await as(project)('GET', `/v1/webhooks/${created.id}`);
  assert.equal(disabled.body.enabled, false);
  assert.equal(disabled.body.disabled_reason, 'the endpoint answered 410 Gone');
  assert.ok(disabled.body.failing_since);

  const enabled = await as(project)('PATCH', `/v1/webhooks/${created.id}`, { enabled: true });
  assert.equal(enabled.status, 200);
  assert.equal(enabled.body.enabled, true);
  assert.equal(enabled.body.disabled_reason, null);
  assert.equal(enabled.body.disabled_at, null);
  assert.equal(enabled.body.failing_since, null);

  const off = await as(project)('PATCH', `/v1/webhooks/${created.id}`, { enabled: false });
  assert.equal(off.body.enabled, false);
  assert.ok(off.body.disabled_at);
});

test('rotating the secret shows the new one and keeps the old one valid for the grace period', async () => {
  const created = await createEndpoint();
  const rotated = await as(project)('POST', `/v1/webhooks/${created.id}/rotate-secret`, { grace_seconds: 600 });
  assert.equal(rotated.status, 200);
  assert.match(rotated.body.secret, /^whsec_/);
  assert.notEqual(rotated.body.secret, created.secret);
  const expiresIn = Date.parse(rotated.body.previous_secret_expires_at) - Date.now();
  assert.ok(expiresIn > 590_000 && expiresIn <= 600_000, String(expiresIn));
  const stored = await stack.db('webhook_endpoints').where({ id: created.id }).first();
  assert.equal(stored.secret, rotated.body.secret);
  assert.equal(stored.previous_secret, created.secret);

  // Without a body the configured grace applies; with 0 the old secret stops at once.
  const again = await as(project)('POST', `/v1/webhooks/${created.id}/rotate-secret`);
  assert.equal(again.status, 200);
  const graceMs = Date.parse(again.body.previous_secret_expires_at) - Date.now();
  assert.ok(Math.abs(graceMs - stack.config.webhooks.secretRotationGraceSeconds * 1000) < 10_000, String(graceMs));
  const immediate = await as(project)('POST', `/v1/webhooks/${created.id}/rotate-secret`, { grace_seconds: 0 });
  assert.equal(immediate.body.previous_secret_expires_at, null);
  const bad = await as(project)('POST', `/v1/webhooks/${created.id}/rotate-secret`, { grace_seconds: -1 });
  assert.equal(bad.status, 400);
});

test('deleting an endpoint answers 204, then 404', async () => {
  const created = await createEndpoint();
  assert.equal((await as(project)('DELETE', `/v1/webhooks/${created.id}`)).status, 204);
  assert.equal((await as(project)('GET', `/v1/webhooks/${created.id}`)).status, 404);
  assert.equal((await as(project)('DELETE', `/v1/webhooks/${created.id}`)).status, 404);
});

async function seedAttempts(endpointId: string, eventId: string, outcomes: string[]) {
  await stack.db('delivery_attempts').insert(
    outcomes.map((outcome, index) => ({
      project_id: project.id,
      channel: 'webhook',
      target_id: endpointId,
      event_id: eventId,
      delivery_id: `msg_${endpointId.slice(0, 8)}_${eventId}`,
      attempt: index + 1,
      attempted_at: new Date(Date.now() + index),
      status_code: outcome === 'delivered' ? 200 : 500,
      duration_ms: 5,
      outcome,
    })),
  );
}

test('the attempt log pages newest first and filters by event and outcome', async () => {
  const created = await createEndpoint();
  await seedAttempts(created.id, 'evt_a', ['retryable', 'retryable', 'delivered']);
  await seedAttempts(created.id, 'evt_b', ['permanent']);

  const first = await as(project)('GET', `/v1/webhooks/${created.id}/attempts?limit=3`);
  assert.equal(first.status, 200);
  assert.deepEqual(first.body.data.map((a: { event_id: string; attempt: number }) => `${a.event_id}#${a.attempt}`), ['evt_b#1', 'evt_a#3', 'evt_a#2']);
  assert.ok(first.body.next_cursor);
  const second = await as(project)('GET', `/v1/webhooks/${created.id}/attempts?limit=3&cursor=${first.body.next_cursor}`);
  assert.deepEqual(second.body.data.map((a: { attempt: number }) => a.attempt), [1]);
  assert.equal(second.body.next_cursor, null);
  const attempt = second.body.data[0];
  for (const field of ['id', 'endpoint_id', 'event_id', 'delivery_id', 'attempt', 'attempted_at', 'status_code', 'duration_ms', 'response_excerpt', 'error', 'outcome', 'trace_id']) {
    assert.ok(field in attempt, field);
  }
  assert.equal(attempt.endpoint_id, created.id);

  const filtered = await as(project)('GET', `/v1/webhooks/${created.id}/attempts?event_id=evt_a&outcome=retryable`);
  assert.equal(filtered.body.data.length, 2);
  const bad = await as(project)('GET', `/v1/webhooks/${created.id}/attempts?outcome=maybe&limit=0`);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_query');
});

test("an event's deliveries list both channels' attempts, oldest first, with the delivery rows", async () => {
  const created = await createEndpoint();
  const eventId = `evt_${created.id.slice(0, 8)}`;
  await stack.db('events').insert({
    project_id: project.id,
    id: eventId,
    type: 'order.created',
    timestamp: new Date(),
    received_at: new Date(),
    batch_id: 'batch_test',
  });
  await seedAttempts(created.id, eventId, ['retryable', 'delivered']);
  await stack.db('deliveries').insert({
    delivery_id: `msg_${created.id.slice(0, 8)}_${eventId}`,
    project_id: project.id,
    channel: 'webhook',
    target_id: created.id,
    event_id: eventId,
    event_type: 'order.created',
    workflow_id: `delivery:webhook:${created.id}:${eventId}`,
    status: 'delivered',
  });

  const response = await as(project)('GET', `/v1/events/${eventId}/deliveries`);
  assert.equal(response.status, 200);
  assert.deepEqual(response.body.data.map((a: { outcome: string }) => a.outcome), ['retryable', 'delivered']);
  assert.equal(response.body.deliveries.length, 1);
  assert.equal(response.body.deliveries[0].status, 'delivered');

  assert.equal((await as(other)('GET', `/v1/events/${eventId}/deliveries`)).status, 404);
  assert.equal((await as(project)('GET', '/v1/events/evt_missing/deliveries')).status, 404);
});

test('notification rules: create, read, update, delete', async () => {
  const created = await as(project)('POST', '/v1/notification-rules', {
    event_types: ['order.*'],
    recipients: ['ops@example.com'],
    recipient_property: 'properties.email',
    subject_template: 'Order {{ event.id }}',
    body_template: '<p>Total {{ properties.total }}</p>',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.enabled, true);
  assert.deepEqual(created.body.recipients, ['ops@example.com']);

  const fetched = await as(project)('GET', `/v1/notification-rules/${created.body.id}`);
  assert.equal(fetched.body.subject_template, 'Order {{ event.id }}');
  const listed = await as(project)('GET', '/v1/notification-rules');
  assert.ok(listed.body.data.some((rule: { id: string }) => rule.id === created.body.id));
  assert.equal((await as(other)('GET', `/v1/notification-rules/${created.body.id}`)).status, 404);

  const patched = await as(project)('PATCH', `/v1/notification-rules/${created.body.id}`, { recipients: [], enabled: false });
  assert.equal(patched.status, 200);
  assert.deepEqual(patched.body.recipients, []);
  assert.equal(patched.body.recipient_property, 'properties.email');
  assert.equal(patched.body.enabled, false);

  // Taking away the last recipient source is refused.
  const orphan = await as(project)('PATCH', `/v1/notification-rules/${created.body.id}`, { recipient_property: null });
  assert.equal(orphan.status, 400);

  assert.equal((await as(project)('DELETE', `/v1/notification-rules/${created.body.id}`)).status, 204);
  assert.equal((await as(project)('GET', `/v1/notification-rules/${created.body.id}`)).status, 404);
});

test('notification rules need a recipient source, valid addresses and templates that render', async () => {
  const base = { event_types: ['*'], subject_template: 'Hi', body_template: 'Body' };
  const noRecipient = await as(project)('POST', '/v1/notification-rules', base);
  assert.equal(noRecipient.status, 400);
  assert.equal(noRecipient.body.error.code, 'invalid_body');

  const badAddress = await as(project)('POST', '/v1/notification-rules', { ...base, recipients: ['not-an-address'] });
  assert.equal(badAddress.status, 400);
  assert.equal(badAddress.body.error.details[0].field, 'recipients.0');

  for (const [field, template] of [
    ['subject_template', 'Order {{ event.id'],
    ['body_template', '{{ constructor.constructor("return process")() }}'],
    ['body_template', '{{{ properties.html }}}'],
  ]) {
    const response = await as(project)('POST', '/v1/notification-rules', { ...base, recipients: ['ops@example.com'], [field]: template });
    assert.equal(response.status, 400, template);
    assert.equal(response.body.error.code, 'invalid_template', template);
    assert.equal(response.body.error.details[0].field, field);
  }
});

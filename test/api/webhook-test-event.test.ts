import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { closeWebhookAgents } from '../../src/deliveries/channels/webhook/send.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { startStack, type Stack, type TestProject } from '../helpers/stack.ts';

// "Send test event" (POST /v1/webhooks/:id/test and GraphQL testWebhook) through the real API over
// HTTP to real local receivers: the request is signed like a delivery, and nothing of it is stored.

let stack: Stack;
let project: TestProject;
let other: TestProject;
let readKey: string;
let viewerToken: string;
const receivers: Receiver[] = [];

before(async () => {
  stack = await startStack({ withoutTemporal: true, env: { AUTH_SIGNUP: 'open' } });
  project = await stack.createProject('webhook-test-event');
  other = await stack.createProject('webhook-test-event-other');
  const key = await stack.request('POST', `/v1/projects/${project.id}/keys`, { key: project.adminKey, body: { kind: 'read' } });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  readKey = key.body.key;

  const email = `viewer-${randomUUID()}@example.com`;
  const registered = await stack.request('POST', '/v1/auth/register', { body: { email, password: 'a long enough password', name: 'Viewer' } });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  const invited = await stack.request('POST', `/v1/projects/${project.id}/invitations`, { key: project.adminKey, body: { email, role: 'viewer' } });
  assert.equal(invited.status, 201, JSON.stringify(invited.body));
  viewerToken = registered.body.access_token;
});

after(async () => {
  await closeWebhookAgents();
  await Promise.all(receivers.map((receiver) => receiver.close()));
  await stack.stop();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const started = await startReceiver(...args);
  receivers.push(started);
  return started;
}

const admin = (method: string, path: string, body?: unknown) => stack.request(method, path, { key: project.adminKey, body });
const gql = (key: string, query: string, variables: Record<string, unknown> = {}) => stack.request('POST', '/graphql', { key, body: { query, variables } });

async function createEndpoint(url: string, extra: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const response = await admin('POST', '/v1/webhooks', { url, event_types: ['order.*'], ...extra });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

test('a test event reaches the receiver signed the Standard Webhooks way, with the endpoint headers', async () => {
  const target = await receiver(() => ({ status: 200, body: 'thanks' }));
  const endpoint = await createEndpoint(target.url, { headers: { 'X-Tenant': 'acme' } });

  const response = await admin('POST', `/v1/webhooks/${endpoint.id}/test`, { event_type: 'order.created' });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.delivered, true);
  assert.equal(response.body.outcome, 'delivered');
  assert.equal(response.body.status_code, 200);
  assert.equal(response.body.response_excerpt, 'thanks');
  assert.equal(response.body.error, null);
  assert.equal(typeof response.body.duration_ms, 'number');
  assert.match(response.body.event_id, /^evt_test_[0-9a-f-]{36}$/);

  assert.equal(target.requests.length, 1);
  const [request] = target.requests;
  const verified = new Webhook(endpoint.secret).verify(request.body, request.headers as Record<string, string>) as {
    type: string;
    timestamp: string;
    data: { id: string; type: string; properties: Record<string, unknown> };
  };
  assert.equal(verified.type, 'order.created');
  assert.equal(verified.data.id, response.body.event_id);
  assert.deepEqual(verified.data.properties, { test: true });
  assert.ok(Math.abs(Date.parse(verified.timestamp) - Date.now()) < 60_000);
  assert.match(String(request.headers['webhook-id']), /^msg_/);
  assert.equal(request.headers['x-tenant'], 'acme');

  // Nothing is stored: no event, no attempt, no delivery.
  assert.equal((await stack.db('events').where({ project_id: project.id, id: response.body.event_id })).length, 0);
  assert.equal((await stack.db('delivery_attempts').where({ target_id: endpoint.id })).length, 0);
  assert.equal((await stack.db('deliveries').where({ target_id: endpoint.id })).length, 0);
  assert.equal((await admin('GET', `/v1/webhooks/${endpoint.id}/attempts`)).body.data.length, 0);
});

test('without a body the event type is eventflow.test, and during a rotation both secrets verify', async () => {
  const target = await receiver();
  const endpoint = await createEndpoint(target.url);
  const rotated = await admin('POST', `/v1/webhooks/${endpoint.id}/rotate-secret`, { grace_seconds: 600 });
  assert.equal(rotated.status, 200);

  const response = await admin('POST', `/v1/webhooks/${endpoint.id}/test`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.delivered, true);
  const [request] = target.requests;
  for (const secret of [endpoint.secret, rotated.body.secret]) {
    const verified = new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as { type: string };
    assert.equal(verified.type, 'eventflow.test');
  }
});

test('a failing receiver gives delivered: false with its status, and is not retried', async () => {
  const target = await receiver(() => ({ status: 500, body: 'boom' }));
  const endpoint = await createEndpoint(target.url);
  const response = await admin('POST', `/v1/webhooks/${endpoint.id}/test`, {});
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(response.body.delivered, false);
  assert.equal(response.body.outcome, 'retryable');
  assert.equal(response.body.status_code, 500);
  assert.equal(response.body.response_excerpt, 'boom');
  assert.equal(response.body.error, 'HTTP 500');
  assert.equal(target.requests.length, 1);

  // A failed test does not start the endpoint's failing window (that could end in disabling it).
  const stored = await stack.db('webhook_endpoints').where({ id: endpoint.id }).first();
  assert.equal(stored.failing_since, null);
  assert.equal(stored.enabled, true);
});

test('garbage bodies are 400 with a machine-readable code, and nothing is sent', async () => {
  const target = await receiver();
  const endpoint = await createEndpoint(target.url);
  const path = `/v1/webhooks/${endpoint.id}/test`;
  for (const [body, code, field] of [
    [{ event_type: 5 }, 'invalid_body', 'event_type'],
    [{ event_type: '' }, 'invalid_body', 'event_type'],
    [{ event_type: 'x'.repeat(129) }, 'invalid_body', 'event_type'],
    [{ event_type: 'order.created', url: 'http://127.0.0.1/elsewhere' }, 'invalid_body', 'url'],
    [['order.created'], 'invalid_body', undefined],
    ['{"event_type": ', 'invalid_json', undefined],
    ['not json at all', 'invalid_json', undefined],
  ] as Array<[unknown, string, string | undefined]>) {
    const response = await admin('POST', path, body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(response.body.error.code, code, JSON.stringify(body));
    if (field) assert.ok(response.body.error.details.some((detail: { field: string }) => detail.field === field), JSON.stringify(response.body.error));
  }
  const wrongType = await stack.request('POST', path, { key: project.adminKey, body: 'event_type=x', headers: { 'content-type': 'text/plain' } });
  assert.equal(wrongType.status, 415);
  assert.equal(wrongType.body.error.code, 'unsupported_media_type');
  assert.equal(target.requests.length, 0);
});

test("unknown ids, malformed ids and another project's endpoint answer 404", async () => {
  const target = await receiver();
  const endpoint = await createEndpoint(target.url);
  for (const id of [randomUUID(), 'not-a-uuid']) {
    const response = await admin('POST', `/v1/webhooks/${id}/test`);
    assert.equal(response.status, 404, id);
    assert.equal(response.body.error.code, 'not_found');
  }
  const foreign = await stack.request('POST', `/v1/webhooks/${endpoint.id}/test`, { key: other.adminKey });
  assert.equal(foreign.status, 404);
  assert.equal(target.requests.length, 0);
});

test('read keys and viewers are refused like on every other manage route', async () => {
  const target = await receiver();
  const endpoint = await createEndpoint(target.url);
  const byKey = await stack.request('POST', `/v1/webhooks/${endpoint.id}/test`, { key: readKey });
  assert.equal(byKey.status, 403);
  assert.equal(byKey.body.error.code, 'forbidden');
  const byViewer = await stack.request('POST', `/v1/webhooks/${endpoint.id}/test`, { key: viewerToken, headers: { 'X-Project-Id': project.id } });
  assert.equal(byViewer.status, 403);
  assert.equal(byViewer.body.error.code, 'forbidden');
  const anonymous = await stack.request('POST', `/v1/webhooks/${endpoint.id}/test`);
  assert.equal(anonymous.status, 401);
  assert.equal(target.requests.length, 0);
});

test('a disabled endpoint answers 409 endpoint_disabled and is not called', async () => {
  const target = await receiver();
  const endpoint = await createEndpoint(target.url, { enabled: false });
  const response = await admin('POST', `/v1/webhooks/${endpoint.id}/test`);
  assert.equal(response.status, 409);
  assert.equal(response.body.error.code, 'endpoint_disabled');
  assert.equal(target.requests.length, 0);
});

test('GraphQL testWebhook shares the REST operation: result, refusals and garbage input', async () => {
  const target = await receiver(() => ({ status: 202, body: 'queued' }));
  const endpoint = await createEndpoint(target.url);
  const mutation = `mutation($id: ID!, $type: String) { testWebhook(id: $id, eventType: $type) { eventId delivered outcome statusCode durationMs responseExcerpt error } }`;

  const sent = await gql(project.adminKey, mutation, { id: endpoint.id, type: 'order.paid' });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  const result = sent.body.data.testWebhook;
  assert.equal(result.delivered, true);
  assert.equal(result.outcome, 'delivered');
  assert.equal(result.statusCode, 202);
  assert.equal(result.responseExcerpt, 'queued');
  assert.equal(result.error, null);
  const verified = new Webhook(endpoint.secret).verify(target.requests[0].body, target.requests[0].headers as Record<string, string>) as { type: string; data: { id: string } };
  assert.equal(verified.type, 'order.paid');
  assert.equal(verified.data.id, result.eventId);

  const empty = await gql(project.adminKey, mutation, { id: endpoint.id, type: '' });
  assert.equal(empty.body.errors[0].extensions.code, 'BAD_USER_INPUT');
  const wrongType = await gql(project.adminKey, mutation, { id: endpoint.id, type: 5 });
  assert.ok(wrongType.body.errors?.length, JSON.stringify(wrongType.body));
  assert.equal(wrongType.body.data, undefined);
  const literal = await gql(project.adminKey, `mutation { testWebhook(id: "${endpoint.id}", eventType: 5) { delivered } }`);
  assert.equal(literal.body.data, undefined);
  assert.equal(literal.body.errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
  assert.equal((await gql(project.adminKey, `mutation { testWebhook(id: "garbage") { delivered } }`)).body.errors[0].extensions.code, 'NOT_FOUND');
  assert.equal((await gql(readKey, mutation, { id: endpoint.id })).body.errors[0].extensions.code, 'FORBIDDEN');

  await admin('PATCH', `/v1/webhooks/${endpoint.id}`, { enabled: false });
  const disabled = await gql(project.adminKey, mutation, { id: endpoint.id });
  assert.equal(disabled.body.errors[0].extensions.code, 'CONFLICT');
  assert.equal(disabled.body.errors[0].extensions.reason, 'endpoint_disabled');
  assert.equal(target.requests.length, 1);
});

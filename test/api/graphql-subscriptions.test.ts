import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readEventStream } from '../helpers/sse.ts';
import { startStack, waitFor, type Stack, type TestProject } from '../helpers/stack.ts';

/** A GraphQL subscription over SSE (POST with Accept: text/event-stream), collecting `next` payloads. */
function subscribe(stack: Stack, key: string, query: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const results: any[] = [];
  const opened = fetch(`${stack.baseUrl}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query }),
    signal: controller.signal,
  });
  const reading = (async () => {
    const response = await opened;
    await readEventStream(response.body!, (message) => {
      if (message.event === 'next' && message.data) results.push(JSON.parse(message.data));
    });
  })();
  return {
    results,
    opened,
    async close() {
      controller.abort();
      await reading.catch(() => undefined);
    },
  };
}

describe('GraphQL subscriptions over SSE', () => {
  let stack: Stack;
  let project: TestProject;
  let token: string;
  let userId: string;

  before(async () => {
    // Introspection off here (GRAPHQL_INTROSPECTION=false), to show the switch.
    stack = await startStack({ env: { AUTH_SIGNUP: 'open', GRAPHQL_INTROSPECTION: 'false' } });
    project = await stack.createProject('subscriptions');
    const registered = await stack.request('POST', '/v1/auth/register', { body: { email: `sub-${randomUUID()}@example.com`, password: 'a long enough password', name: 'Sub' } });
    token = registered.body.access_token;
    userId = registered.body.user.id;
    await stack.db('memberships').insert({ project_id: project.id, user_id: userId, role: 'viewer' });
    const rule = await stack.request('POST', '/v1/notification-rules', {
      key: project.adminKey,
      body: { channel: 'in_app', event_types: ['invoice.paid'], recipient_roles: ['viewer'], subject_template: 'Paid {{ properties.amount }}', body_template: 'ok' },
    });
    assert.equal(rule.status, 201);
  });
  after(() => stack?.stop());

  test('eventsStored announces each commit of the project, filtered by type', async () => {
    const all = subscribe(stack, project.adminKey, 'subscription { eventsStored { stored byType { type count } } }');
    const onlyPaid = subscribe(stack, project.adminKey, 'subscription { eventsStored(types: ["invoice.paid"]) { stored byType { type count } } }');
    assert.equal((await all.opened).status, 200);
    await onlyPaid.opened;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sent = await stack.request('POST', '/v1/events', { key: project.adminKey, body: [{ type: 'page.viewed' }, { type: 'page.viewed' }] });
    assert.equal(sent.status, 202);
    await waitFor(async () => all.results.length >= 1, 20_000);
    assert.deepEqual(all.results[0].data.eventsStored, { stored: 2, byType: [{ type: 'page.viewed', count: 2 }] });
    await stack.request('POST', '/v1/events', { key: project.adminKey, body: { type: 'invoice.paid', properties: { amount: 5 } } });
    await waitFor(async () => onlyPaid.results.length >= 1, 20_000);
    assert.deepEqual(onlyPaid.results.map((result) => result.data.eventsStored.stored), [1], 'the page views were filtered out');
    await Promise.all([all.close(), onlyPaid.close()]);
  });

  test('notificationAdded delivers the user\'s new notifications; keys and garbage are refused', async () => {
    const live = subscribe(stack, token, 'subscription { notificationAdded { title eventType } }', { 'X-Project-Id': project.id });
    assert.equal((await live.opened).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await stack.request('POST', '/v1/events', { key: project.adminKey, body: { type: 'invoice.paid', properties: { amount: 42 } } });
    // The previous test's invoice (amount 5) notifies this user too, and its notification may be created
    // only now: wait for this invoice's, and accept no notification but the two.
    const titles = () => live.results.map((result) => result.data.notificationAdded.title as string);
    await waitFor(async () => titles().includes('Paid 42'), 20_000);
    assert.deepEqual(live.results.find((result) => result.data.notificationAdded.title === 'Paid 42').data.notificationAdded, { title: 'Paid 42', eventType: 'invoice.paid' });
    assert.deepEqual(titles().filter((title) => title !== 'Paid 5' && title !== 'Paid 42'), [], 'only the project\'s invoice notifications');
    await live.close();

    const keyCaller = await stack.request('POST', '/graphql', { key: project.adminKey, body: { query: 'subscription { notificationAdded { title } }' }, headers: { accept: 'application/json' } });
    assert.match(JSON.stringify(keyCaller.body), /FORBIDDEN|access token/);
    const garbage = await stack.request('POST', '/graphql', { key: project.adminKey, body: { query: `subscription { eventsStored(types: [""]) { stored } }` }, headers: { accept: 'application/json' } });
    assert.match(JSON.stringify(garbage.body), /BAD_USER_INPUT/);
  });

  test('with GRAPHQL_INTROSPECTION=false the schema is not answered, and ordinary queries still are', async () => {
    const introspection = await stack.request('POST', '/graphql', { key: project.adminKey, body: { query: '{ __schema { queryType { name } } }' } });
    assert.equal(introspection.body.data, undefined);
    assert.equal(introspection.body.errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.match(introspection.body.errors[0].message, /introspection/i);
    const ordinary = await stack.request('POST', '/graphql', { key: project.adminKey, body: { query: '{ eventStats { totalEvents } }' } });
    assert.equal(typeof ordinary.body.data.eventStats.totalEvents, 'number');
  });
});

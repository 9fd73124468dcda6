import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startApiServer } from '../../src/api/server.ts';
import { createDatabase } from '../../src/db/connection.ts';
import { createLogger } from '../../src/logging.ts';
import { readEventStream } from '../helpers/sse.ts';
import { startStack, waitFor, type Stack, type TestProject } from '../helpers/stack.ts';

const PASSWORD = 'a long enough password';

/** A Server-Sent Events client over fetch: collects events until closed. */
function openStream(stack: Stack, token: string, projectId: string, lastEventId?: string) {
  const controller = new AbortController();
  const events: Array<{ id: string; event: string; data: any; at: number }> = [];
  const ready = (async () => {
    const response = await fetch(`${stack.baseUrl}/v1/notifications/stream`, {
      headers: { authorization: `Bearer ${token}`, 'x-project-id': projectId, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      signal: controller.signal,
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    return response.body!;
  })();
  const reading = (async () => {
    await readEventStream(await ready, (message) => {
      if (message.event) events.push({ id: message.id, event: message.event, data: JSON.parse(message.data), at: performance.now() });
    });
  })();
  return {
    events,
    ready,
    async close() {
      controller.abort();
      await reading;
    },
  };
}

describe('in-app notifications: the third channel', () => {
  let stack: Stack;
  let project: TestProject;
  const users: Record<'owner' | 'viewer' | 'developer', { token: string; id: string; email: string }> = {} as never;

  before(async () => {
    // A shared token secret, as API processes of one deployment share EVENTFLOW_ADMIN_KEY or AUTH_JWT_SECRET.
    stack = await startStack({ env: { AUTH_SIGNUP: 'open', AUTH_JWT_SECRET: 'in-app-test-secret-0123456789-abcdefgh' } });
    project = await stack.createProject('in-app');
    for (const role of ['owner', 'viewer', 'developer'] as const) {
      const email = `${role}-${randomUUID()}@example.com`;
      const registered = await stack.request('POST', '/v1/auth/register', { body: { email, password: PASSWORD, name: role } });
      assert.equal(registered.status, 201);
      users[role] = { token: registered.body.access_token, id: registered.body.user.id, email };
      await stack.db('memberships').insert({ project_id: project.id, user_id: users[role].id, role });
    }
    const rule = await stack.request('POST', '/v1/notification-rules', {
      key: project.adminKey,
      body: {
        channel: 'in_app',
        event_types: ['order.*'],
        recipient_roles: ['owner', 'viewer'],
        subject_template: 'Order {{ properties.order_id }} placed',
        body_template: '<p>Total: {{ properties.total }}</p>',
      },
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    assert.equal(rule.body.channel, 'in_app');
  });
  after(() => stack?.stop());

  const as = (role: keyof typeof users, method: string, path: string, body?: unknown) =>
    stack.request(method, path, { key: users[role].token, headers: { 'X-Project-Id': project.id }, body });

  test('an event notifies the matching members live, once each, and lands in their inboxes', async () => {
    const stream = openStream(stack, users.viewer.token, project.id);
    await stream.ready;
    const sentAt = performance.now();
    const sent = await stack.request('POST', '/v1/events', { key: project.adminKey, body: { type: 'order.placed', properties: { order_id: 'A-1', total: '9.50' } } });
    assert.equal(sent.status, 202);
    await waitFor(async () => stream.events.length > 0, 20_000);
    const [notice] = stream.events;
    assert.equal(notice.event, 'notification');
    assert.equal(notice.data.title, 'Order A-1 placed');
    assert.equal(notice.data.body, 'Total: 9.50');
    assert.equal(notice.data.event_id, sent.body.ids[0]);
    console.log(`accept → stream: ${Math.round(notice.at - sentAt)} ms`);
    await stream.close();

    const inbox = await as('viewer', 'GET', '/v1/notifications');
    assert.equal(inbox.status, 200);
    assert.equal(inbox.body.unread_count, 1);
    assert.equal(inbox.body.data[0].id, notice.id);
    assert.equal((await as('owner', 'GET', '/v1/notifications/unread-count')).body.unread_count, 1);
    assert.equal((await as('developer', 'GET', '/v1/notifications/unread-count')).body.unread_count, 0, 'developers are not among the rule\'s roles');
    const rows = await stack.db('notifications').where({ project_id: project.id, event_id: sent.body.ids[0] });
    assert.equal(rows.length, 2, 'one row per matching member');
  });

  test('a reconnect with Last-Event-ID gets what it missed, and only that', async () => {
    const first = (await as('viewer', 'GET', '/v1/notifications')).body.data[0].id;
    const sent = await stack.request('POST', '/v1/events', { key: project.adminKey, body: { type: 'order.placed', properties: { order_id: 'B-2', total: '1' } } });
    await waitFor(async () => Boolean(await stack.db('notifications').where({ event_id: sent.body.ids[0], user_id: users.viewer.id }).first()), 20_000);
    const stream = openStream(stack, users.viewer.token, project.id, first);
    await waitFor(async () => stream.events.length >= 1, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(stream.events.map((event) => event.data.title), ['Order B-2 placed']);
    await stream.close();
  });

  test('marking read: by ids or all; the unread count follows; other users\' ids change nothing', async () => {
    const inbox = (await as('viewer', 'GET', '/v1/notifications')).body;
    assert.equal(inbox.unread_count, 2);
    const ownerInbox = (await as('owner', 'GET', '/v1/notifications')).body;
    const foreign = await as('viewer', 'POST', '/v1/notifications/read', { ids: [ownerInbox.data[0].id] });
    assert.equal(foreign.body.marked, 0);
    const one = await as('viewer', 'POST', '/v1/notifications/read', { ids: [inbox.data[0].id] });
    assert.equal(one.status, 200);
    assert.deepEqual([one.body.marked, one.body.unread_count], [1, 1]);
    // Unread first: the one still unread now leads the list.
    const reordered = (await as('viewer', 'GET', '/v1/notifications?limit=1')).body;
    assert.equal(reordered.data[0].read_at, null);
    const next = (await as('viewer', 'GET', `/v1/notifications?limit=1&cursor=${reordered.next_cursor}`)).body;
    assert.notEqual(next.data[0].read_at, null);
    // GraphQL reads the same inbox and marks through the same query.
    const viaGraphql = await as('viewer', 'POST', '/graphql', { query: '{ unreadNotificationCount notifications(first: 5) { title readAt } }' });
    assert.equal(viaGraphql.body.data.unreadNotificationCount, 1);
    assert.equal(viaGraphql.body.data.notifications.length, 2);
    const marked = await as('viewer', 'POST', '/graphql', { query: 'mutation { markNotificationsRead(all: true) }' });
    assert.equal(marked.body.data.markNotificationsRead, 1);
    const all = await as('viewer', 'POST', '/v1/notifications/read', { all: true });
    assert.deepEqual([all.body.marked, all.body.unread_count], [0, 0]);
    const garbage = await as('viewer', 'POST', '/graphql', { query: 'mutation { markNotificationsRead(ids: ["x"]) }' });
    assert.equal(garbage.body.errors[0].extensions.code, 'BAD_USER_INPUT');
  });

  test('garbage gets a 400 naming the field; keys have no inbox; rules check their recipients', async () => {
    for (const body of [{}, { ids: [] }, { ids: ['not-a-uuid'] }, { all: false }, { ids: [randomUUID()], all: true }, { extra: 1 }]) {
      const response = await as('viewer', 'POST', '/v1/notifications/read', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.error.code, 'invalid_body');
    }
    assert.equal((await as('viewer', 'GET', '/v1/notifications?limit=0')).status, 400);
    assert.equal((await as('viewer', 'GET', '/v1/notifications?cursor=garbage')).status, 400);
    const badResume = await fetch(`${stack.baseUrl}/v1/notifications/stream`, { headers: { authorization: `Bearer ${users.viewer.token}`, 'x-project-id': project.id, 'last-event-id': 'nonsense' } });
    assert.equal(badResume.status, 400);
    assert.equal((await stack.request('GET', '/v1/notifications', { key: project.adminKey })).status, 403);
    const base = { channel: 'in_app', event_types: ['x'], subject_template: 's', body_template: 'b' };
    assert.equal((await stack.request('POST', '/v1/notification-rules', { key: project.adminKey, body: base })).body.error.details[0].field, 'recipient_roles');
    assert.equal((await stack.request('POST', '/v1/notification-rules', { key: project.adminKey, body: { ...base, recipient_roles: ['emperor'] } })).status, 400);
    assert.equal((await stack.request('POST', '/v1/notification-rules', { key: project.adminKey, body: { ...base, recipient_roles: ['viewer'], recipient_property: 'properties.email' } })).status, 400);
    assert.equal((await stack.request('POST', '/v1/notification-rules', { key: project.adminKey, body: { ...base, channel: 'pigeon', recipient_roles: ['viewer'] } })).status, 400);
    assert.equal((await stack.request('POST', '/v1/notification-rules', { key: project.adminKey, body: { ...base, channel: 'email', recipients: ['a@example.com'], recipient_roles: ['viewer'] } })).status, 400);
  });

  test('a stream on a second API server, with its own pool and LISTEN connection, hears of notifications too (no in-process bus)', async () => {
    const second = await startApiServer({
      config: stack.config,
      db: createDatabase(stack.config.databaseUrl, 3),
      log: createLogger('second-api', 'warn'),
      temporal: { current: stack.client },
      host: '127.0.0.1',
      port: 0,
      backlogProbe: false,
    });
    try {
      const stream = openStream({ ...stack, baseUrl: second.baseUrl }, users.owner.token, project.id, (await as('owner', 'GET', '/v1/notifications')).body.data[0].id);
      await stream.ready;
      await stack.request('POST', '/v1/events', { key: project.adminKey, body: { type: 'order.placed', properties: { order_id: 'C-3', total: '3' } } });
      await waitFor(async () => stream.events.some((event) => event.data.title === 'Order C-3 placed'), 20_000);
      await stream.close();
    } finally {
      await second.stop(0);
    }
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, waitFor, type Stack, type TestProject } from '../helpers/stack.ts';

const PASSWORD = 'a long enough password';

describe('GraphQL at /graphql', () => {
  let stack: Stack;
  let project: TestProject;
  let other: TestProject;
  let readKey: string;
  let userToken: string;
  const seenIds: string[] = [];

  const gql = (key: string | undefined, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    stack.request('POST', '/graphql', { key, body: { query, variables }, headers });

  before(async () => {
    stack = await startStack({ env: { AUTH_SIGNUP: 'open', GRAPHQL_MAX_DEPTH: '6', GRAPHQL_MAX_COST: '400' } });
    project = await stack.createProject('graphql');
    other = await stack.createProject('graphql other');
    readKey = (await stack.request('POST', `/v1/projects/${project.id}/keys`, { key: project.adminKey, body: { kind: 'read' } })).body.key;
    const registered = await stack.request('POST', '/v1/auth/register', { body: { email: `gql-${randomUUID()}@example.com`, password: PASSWORD, name: 'Grace' } });
    userToken = registered.body.access_token;
    // Events in both projects, through REST; GraphQL's trackEvent adds one more below.
    for (const [target, count] of [[project, 12], [other, 3]] as const) {
      const sent = await stack.request('POST', '/v1/events', {
        key: target.adminKey,
        body: Array.from({ length: count }, (_, index) => ({ type: index % 2 ? 'page.viewed' : 'signup', user_id: `user-${index % 3}`, properties: { index } })),
      });
      assert.equal(sent.status, 202);
      if (target === project) seenIds.push(...sent.body.ids);
    }
    await waitFor(async () => Number((await stack.db('events').where('project_id', project.id).count({ n: '*' }))[0].n) === 12, 30_000);
  });
  after(() => stack?.stop());

  test('trackEvent goes through the same ingestion path as POST /v1/events and is stored', async () => {
    const response = await gql(project.adminKey, `mutation($e: TrackEventInput!, $k: String) { trackEvent(event: $e, idempotencyKey: $k) { batchId accepted ids } }`, {
      e: { type: 'graphql.tracked', userId: 'user-9', properties: { plan: 'pro' } },
      k: 'gql-once',
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const tracked = response.body.data.trackEvent;
    assert.equal(tracked.accepted, 1);
    // The same Idempotency-Key over REST maps to the same batch and event ids.
    const rest = await stack.request('POST', '/v1/events', { key: project.adminKey, headers: { 'Idempotency-Key': 'gql-once' }, body: { type: 'graphql.tracked', user_id: 'user-9', properties: { plan: 'pro' } } });
    assert.equal(rest.body.batch_id, tracked.batchId);
    assert.deepEqual(rest.body.ids, tracked.ids);
    await waitFor(async () => Boolean(await stack.db('events').where({ project_id: project.id, id: tracked.ids[0] }).first()), 30_000);
    const invalid = await gql(project.adminKey, `mutation { trackEvent(event: { type: "" }) { batchId } }`);
    assert.equal(invalid.body.errors[0].extensions.code, 'BAD_USER_INPUT');
    const readOnly = await gql(readKey, `mutation { trackEvent(event: { type: "x" }) { batchId } }`);
    assert.equal(readOnly.body.errors[0].extensions.code, 'FORBIDDEN');
  });

  test('events is a connection with totalCount and pageInfo, paged by cursor, filtered, scoped to the project', async () => {
    const query = `query($first: Int, $after: String, $filter: EventFilter) {
      events(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id type userId properties } } } }`;
    const first = await gql(readKey, query, { first: 5, filter: { type: 'signup' } });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const page = first.body.data.events;
    assert.equal(page.totalCount, 6);
    assert.equal(page.edges.length, 5);
    assert.equal(page.pageInfo.hasNextPage, true);
    const second = await gql(readKey, query, { first: 5, after: page.pageInfo.endCursor, filter: { type: 'signup' } });
    assert.equal(second.body.data.events.edges.length, 1);
    assert.equal(second.body.data.events.pageInfo.hasNextPage, false);
    const ids = [...page.edges, ...second.body.data.events.edges].map((edge: { node: { id: string } }) => edge.node.id);
    assert.equal(new Set(ids).size, 6);
    assert.ok(ids.every((id) => seenIds.includes(id)), 'only this project\'s events');
    const byUser = await gql(readKey, `{ eventsByUser(userId: "user-1", limit: 100) { userId } eventsByType(eventType: "page.viewed") { type } }`);
    assert.ok(byUser.body.data.eventsByUser.length > 0 && byUser.body.data.eventsByUser.every((event: { userId: string }) => event.userId === 'user-1'));
    assert.equal(byUser.body.data.eventsByType.length, 6);
  });

  test('garbage arguments are BAD_USER_INPUT errors, never a 500', async () => {
    const cases = [
      `{ events(first: 0) { totalCount } }`,
      `{ events(first: 1001) { totalCount } }`,
      `{ events(after: "garbage") { totalCount } }`,
      `{ events(filter: { from: "yesterday" }) { totalCount } }`,
      `{ deadLetters(first: -1) { id } }`,
    ];
    for (const query of cases) {
      const response = await gql(readKey, query);
      assert.ok(response.status < 500, `${query} → ${response.status}`);
      assert.ok(response.body.errors?.length > 0, query);
      assert.ok(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED'].includes(response.body.errors[0].extensions?.code), `${query}: ${JSON.stringify(response.body.errors[0])}`);
    }
    const unknownField = await gql(readKey, `{ nope }`);
    assert.equal(unknownField.body.data, undefined);
    assert.equal(unknownField.body.errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
    const notJson = await stack.request('POST', '/graphql', { key: readKey, body: '{"query": ' });
    assert.equal(notJson.status, 400);
  });

  test('the same rules as REST: no caller is UNAUTHENTICATED, a read key cannot list keys, another project is invisible', async () => {
    const anonymous = await gql(undefined, `{ events { totalCount } }`);
    assert.equal(anonymous.body.errors[0].extensions.code, 'UNAUTHENTICATED');
    const keys = await gql(readKey, `{ apiKeys { id } }`);
    assert.equal(keys.body.errors[0].extensions.code, 'FORBIDDEN');
    assert.equal(keys.body.data, null);
    // A signed-in user naming a project they are not a member of: NOT_FOUND, like a project that does not exist.
    const foreign = await gql(userToken, `{ events { totalCount } }`, {}, { 'X-Project-Id': project.id });
    assert.equal(foreign.body.errors[0].extensions.code, 'NOT_FOUND');
    // Their own project holds none of these events.
    const own = await gql(userToken, `{ events { totalCount } me { email projects { role permissions } } }`);
    assert.equal(own.body.data.events.totalCount, 0);
    assert.equal(own.body.data.me.projects[0].role, 'owner');
    const otherStats = await gql(other.adminKey, `{ eventStats { totalEvents } }`);
    assert.equal(otherStats.body.data.eventStats.totalEvents, 3);
    const forged = await gql('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', `{ events { totalCount } }`);
    assert.equal(forged.body.errors[0].extensions.code, 'UNAUTHENTICATED');
  });

  test('a nested bomb is refused before it runs, with a message naming the limit; aliases are capped too', async () => {
    // The classic bomb: introspection types nested through their fields (GRAPHQL_MAX_DEPTH=6 here).
    const introspectionBomb = await gql(readKey, `{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`);
    // Refused in validation: nothing ran, so there is no `data` at all (HTTP 200 for an application/json
    // client, 400 for application/graphql-response+json, as GraphQL over HTTP says).
    assert.equal(introspectionBomb.body.data, undefined, JSON.stringify(introspectionBomb.body).slice(0, 300));
    assert.equal(introspectionBomb.body.errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.match(introspectionBomb.body.errors[0].message, /depth/i);
    // Wide instead of deep: the estimated cost (GRAPHQL_MAX_COST=400 here) refuses it.
    const heavy = `e%: events(first: 1000) { edges { node { id type properties deliveries { id status attempts { outcome error } } attempts { outcome } } } }`;
    const wide = await gql(readKey, `{ ${Array.from({ length: 10 }, (_, index) => heavy.replace('%', String(index))).join(' ')} }`);
    assert.equal(wide.body.data, undefined);
    assert.match(wide.body.errors[0].message, /cost/i);
    const aliased = await gql(readKey, `{ ${Array.from({ length: 40 }, (_, index) => `a${index}: eventStats { totalEvents }`).join(' ')} }`);
    assert.equal(aliased.body.data, undefined);
    assert.match(JSON.stringify(aliased.body.errors), /alias/i);
    // An ordinary query passes the same limits.
    const ordinary = await gql(readKey, heavy.replace('e%: ', '').replace(/^/, '{ ') + ' }');
    assert.equal(ordinary.status, 200, JSON.stringify(ordinary.body).slice(0, 300));
  });

  test('events { deliveries { attempts } } loads in batches: the query count does not grow with the page', async () => {
    const count = async (first: number) => {
      let queries = 0;
      // The stack's worker shares this pool: count only reads of this project's events and deliveries.
      const listener = (query: { sql: string; bindings?: unknown[] }) => {
        if (/^select .* from "(events|deliveries|delivery_attempts)"/i.test(query.sql) && query.bindings?.includes(project.id)) queries += 1;
      };
      stack.db.on('query', listener);
      try {
        const response = await gql(readKey, `query($n: Int) { events(first: $n) { edges { node { id attempts { outcome } deliveries { id attempts { outcome } } } } } }`, { n: first });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        const edges = response.body.data.events.edges;
        assert.equal(edges.length, first);
        assert.ok(edges.every((edge: { node: { deliveries: Array<{ attempts: unknown[] }>; attempts: unknown[] } }) => edge.node.deliveries[0]?.attempts.length === 1 && edge.node.attempts.length === 1));
      } finally {
        stack.db.off('query', listener);
      }
      return queries;
    };
    // Every event gets a tracked delivery with an attempt, so each level of the query has rows to load.
    const events = await stack.db('events').select('id', 'type').where('project_id', project.id);
    const targetId = randomUUID();
    for (const event of events) {
      const deliveryId = `msg_${randomUUID().replaceAll('-', '').slice(0, 26)}`;
      await stack.db('deliveries').insert({ delivery_id: deliveryId, project_id: project.id, channel: 'webhook', target_id: targetId, event_id: event.id, event_type: event.type, workflow_id: `delivery:${deliveryId}`, status: 'dead_lettered', last_error: 'HTTP 500' });
      await stack.db('delivery_attempts').insert({ project_id: project.id, channel: 'webhook', target_id: targetId, event_id: event.id, delivery_id: deliveryId, attempt: 1, attempted_at: new Date(), status_code: 500, duration_ms: 3, outcome: 'retryable' });
    }
    const small = await count(2);
    const large = await count(10);
    assert.equal(large, small, `2 events took ${small} queries, 10 took ${large}`);
    assert.ok(large <= 6, `${large} queries`);
  });

  test('introspection answers by default; a client asking for graphql-response+json gets 400 for a refused query', async () => {
    const schema = await gql(readKey, `{ __schema { queryType { name } } }`);
    assert.equal(schema.body.data.__schema.queryType.name, 'Query');
    const refused = await gql(readKey, `{ nope }`, {}, { accept: 'application/graphql-response+json' });
    assert.equal(refused.status, 400);
  });

  test('accounts through GraphQL: register, log in, refresh with rotation and reuse detection, the same refusals as REST', async () => {
    const email = `gql-account-${randomUUID()}@example.com`;
    const register = `mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { email projects { role } } } }`;
    const registered = await gql(undefined, register, { input: { email, password: PASSWORD, name: 'Ada' } });
    assert.equal(registered.body.data.register.user.projects[0].role, 'owner', JSON.stringify(registered.body));
    const me = await gql(registered.body.data.register.accessToken, '{ me { email } }');
    assert.equal(me.body.data.me.email, email);
    const again = await gql(undefined, register, { input: { email: email.toUpperCase(), password: PASSWORD, name: 'Ada' } });
    assert.equal(again.body.errors[0].extensions.code, 'CONFLICT');
    for (const input of [{ email: 'not an email', password: PASSWORD, name: 'x' }, { email: `x-${randomUUID()}@example.com`, password: 'short', name: 'x' }, { email: 'a@b.co', password: PASSWORD, name: '' }]) {
      const refused = await gql(undefined, register, { input });
      assert.equal(refused.body.errors[0].extensions.code, 'BAD_USER_INPUT', JSON.stringify(input));
    }

    const login = `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { refreshToken } }`;
    const loggedIn = await gql(undefined, login, { email, password: PASSWORD });
    const first = loggedIn.body.data.login.refreshToken;
    const refresh = `mutation($token: String!) { refreshToken(refreshToken: $token) { refreshToken accessToken } }`;
    const rotated = await gql(undefined, refresh, { token: first });
    assert.notEqual(rotated.body.data.refreshToken.refreshToken, first);
    const reused = await gql(undefined, refresh, { token: first });
    assert.equal(reused.body.errors[0].extensions.reason, 'refresh_token_reused');
    const family = await gql(undefined, refresh, { token: rotated.body.data.refreshToken.refreshToken });
    assert.equal(family.body.errors[0].extensions.code, 'UNAUTHENTICATED', 'reuse revoked the whole family');

    // Unknown email and wrong password: the same answer; then the per-account limit (5 failures) → 429-like.
    const unknown = await gql(undefined, login, { email: `nobody-${randomUUID()}@example.com`, password: PASSWORD });
    const wrong = await gql(undefined, login, { email, password: 'wrong password!' });
    assert.deepEqual(unknown.body.errors[0].extensions, wrong.body.errors[0].extensions);
    assert.equal(wrong.body.errors[0].extensions.reason, 'invalid_credentials');
    let limited;
    for (let attempt = 0; attempt < 6 && !limited; attempt++) {
      const response = await gql(undefined, login, { email, password: 'wrong password!' });
      if (response.body.errors[0].extensions.code === 'TOO_MANY_REQUESTS') limited = response.body.errors[0].extensions;
    }
    assert.ok(limited && limited.retryAfter > 0, 'brute force is throttled with a retry time');
  });

  test('managing webhooks, rules, members and dead letters through GraphQL: the REST checks and rules', async () => {
    const created = await gql(project.adminKey, `mutation($input: WebhookInput!) { createWebhook(input: $input) { secret endpoint { id url eventTypes } } }`, {
      input: { url: 'https://example.com/hook', eventTypes: ['order.*', 'order.*'], headers: { 'X-Team': 'a' } },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const webhook = created.body.data.createWebhook;
    assert.match(webhook.secret, /^whsec_/);
    assert.deepEqual(webhook.endpoint.eventTypes, ['order.*'], 'patterns deduplicated as in REST');
    const unsafe = await gql(project.adminKey, `mutation { createWebhook(input: { url: "http://169.254.169.254/latest", eventTypes: ["*"] }) { secret } }`);
    assert.equal(unsafe.body.errors[0].extensions.reason, 'unsafe_url');
    const reserved = await gql(project.adminKey, `mutation($input: WebhookInput!) { createWebhook(input: $input) { secret } }`, {
      input: { url: 'https://example.com/x', eventTypes: ['*'], headers: { 'webhook-signature': 'x' } },
    });
    assert.equal(reserved.body.errors[0].extensions.code, 'BAD_USER_INPUT');
    const updated = await gql(project.adminKey, `mutation($id: ID!) { updateWebhook(id: $id, input: { enabled: false }) { enabled } }`, { id: webhook.endpoint.id });
    assert.equal(updated.body.data.updateWebhook.enabled, false);
    const rotated = await gql(project.adminKey, `mutation($id: ID!) { rotateWebhookSecret(id: $id, graceSeconds: 0) { secret } }`, { id: webhook.endpoint.id });
    assert.notEqual(rotated.body.data.rotateWebhookSecret.secret, webhook.secret);
    assert.equal((await gql(readKey, `mutation($id: ID!) { deleteWebhook(id: $id) }`, { id: webhook.endpoint.id })).body.errors[0].extensions.code, 'FORBIDDEN');
    assert.equal((await gql(project.adminKey, `mutation($id: ID!) { deleteWebhook(id: $id) }`, { id: webhook.endpoint.id })).body.data.deleteWebhook, true);
    assert.equal((await gql(project.adminKey, `mutation($id: ID!) { deleteWebhook(id: $id) }`, { id: webhook.endpoint.id })).body.errors[0].extensions.code, 'NOT_FOUND');
    assert.equal((await gql(project.adminKey, `mutation { deleteWebhook(id: "garbage") }`)).body.errors[0].extensions.code, 'NOT_FOUND');

    const rule = await gql(project.adminKey, `mutation { createNotificationRule(input: { channel: "in_app", eventTypes: ["x"], recipientRoles: ["owner"], subjectTemplate: "{{ type }}", bodyTemplate: "b" }) { id channel recipientRoles } }`);
    assert.deepEqual(rule.body.data.createNotificationRule.recipientRoles, ['owner']);
    const badTemplate = await gql(project.adminKey, `mutation($id: ID!) { updateNotificationRule(id: $id, input: { bodyTemplate: "{{ nope(" }) { id } }`, { id: rule.body.data.createNotificationRule.id });
    assert.equal(badTemplate.body.errors[0].extensions.reason, 'invalid_template');
    const noRecipients = await gql(project.adminKey, `mutation { createNotificationRule(input: { eventTypes: ["x"], subjectTemplate: "s", bodyTemplate: "b" }) { id } }`);
    assert.equal(noRecipients.body.errors[0].extensions.code, 'BAD_USER_INPUT');
    assert.equal((await gql(project.adminKey, `mutation($id: ID!) { deleteNotificationRule(id: $id) }`, { id: rule.body.data.createNotificationRule.id })).body.data.deleteNotificationRule, true);

    const dryRun = await gql(project.adminKey, `mutation { replayDeadLetters(dryRun: true, filter: { eventType: "signup" }) { dryRun matched replayed } }`);
    assert.equal(dryRun.body.data.replayDeadLetters.dryRun, true);
    assert.equal(typeof dryRun.body.data.replayDeadLetters.matched, 'number');
    const badFilter = await gql(project.adminKey, `mutation { replayDeadLetters(filter: { endpointId: "nope" }) { matched } }`);
    assert.equal(badFilter.body.errors[0].extensions.code, 'BAD_USER_INPUT');

    // Members of the user's own project: an owner invites; a viewer cannot; nobody escapes last-owner.
    const inviteeEmail = `invitee-${randomUUID()}@example.com`;
    const invited = await gql(userToken, `mutation($email: String!) { inviteMember(email: $email, role: "viewer") { status email role } }`, { email: inviteeEmail });
    assert.deepEqual(invited.body.data.inviteMember, { status: 'invited', email: inviteeEmail, role: 'viewer' });
    assert.equal((await gql(userToken, `mutation { inviteMember(email: "not-an-email", role: "viewer") { status } }`)).body.errors[0].extensions.code, 'BAD_USER_INPUT');
    assert.equal((await gql(userToken, `mutation { inviteMember(email: "a@example.com", role: "emperor") { status } }`)).body.errors[0].extensions.code, 'BAD_USER_INPUT');
    const me = (await gql(userToken, `{ me { id } }`)).body.data.me.id;
    const demote = await gql(userToken, `mutation($id: ID!) { changeMemberRole(userId: $id, role: "viewer") { role } }`, { id: me });
    assert.equal(demote.body.errors[0].extensions.reason, 'last_owner');
    assert.equal((await gql(readKey, `mutation { inviteMember(email: "b@example.com", role: "viewer") { status } }`)).body.errors[0].extensions.code, 'FORBIDDEN');
  });
});

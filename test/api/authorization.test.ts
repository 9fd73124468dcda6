import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, type Stack, type TestProject } from '../helpers/stack.ts';

// One rule set (src/auth/policy.ts) for keys and users: every route is tried by every kind of caller,
// from the attacker's side — a weaker role, a key of another kind, a member of another project.

const PASSWORD = 'a long enough password';

describe('authorization: every caller gets exactly what its role or key kind allows', () => {
  let stack: Stack;
  let project: TestProject;
  let other: TestProject;
  const keys: Record<'admin' | 'write' | 'read', string> = { admin: '', write: '', read: '' };
  const tokens: Record<'owner' | 'admin' | 'developer' | 'viewer' | 'outsider', string> = { owner: '', admin: '', developer: '', viewer: '', outsider: '' };
  const userIds: Record<string, string> = {};

  async function register(label: string): Promise<{ token: string; userId: string; email: string }> {
    const email = `${label}-${randomUUID()}@example.com`;
    const response = await stack.request('POST', '/v1/auth/register', { body: { email, password: PASSWORD, name: label } });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return { token: response.body.access_token, userId: response.body.user.id, email };
  }

  before(async () => {
    stack = await startStack({ env: { AUTH_SIGNUP: 'open' } });
    project = await stack.createProject('guarded');
    other = await stack.createProject('elsewhere');
    keys.admin = project.adminKey;
    for (const kind of ['write', 'read'] as const) {
      const created = await stack.request('POST', `/v1/projects/${project.id}/keys`, { key: project.adminKey, body: { kind } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      keys[kind] = created.body.key;
    }
    // Keys may not make owners (only owners do), so the first owner of a project made with the root key
    // is set by its operator — here, straight in the database.
    const owner = await register('owner');
    const refused = await stack.request('POST', `/v1/projects/${project.id}/invitations`, { key: keys.admin, body: { email: owner.email, role: 'owner' } });
    assert.equal(refused.status, 403);
    await stack.db('memberships').insert({ project_id: project.id, user_id: owner.userId, role: 'owner' });
    tokens.owner = owner.token;
    userIds.owner = owner.userId;
    for (const role of ['admin', 'developer', 'viewer'] as const) {
      const user = await register(role);
      const invited = await stack.request('POST', `/v1/projects/${project.id}/invitations`, {
        key: tokens.owner,
        headers: { 'X-Project-Id': project.id },
        body: { email: user.email, role },
      });
      assert.equal(invited.status, 201, JSON.stringify(invited.body));
      assert.equal(invited.body.status, 'member');
      tokens[role] = user.token;
      userIds[role] = user.userId;
    }
    tokens.outsider = (await register('outsider')).token;
  });
  after(() => stack?.stop());

  type Caller = keyof typeof keys | keyof typeof tokens;
  function call(caller: Caller, method: string, path: string, body?: unknown) {
    if (caller in tokens && tokens[caller as keyof typeof tokens]) {
      return stack.request(method, path, { key: tokens[caller as keyof typeof tokens], headers: { 'X-Project-Id': project.id }, body });
    }
    return stack.request(method, path, { key: keys[caller as keyof typeof keys], body });
  }

  const EVENT = { type: 'authz.checked', user_id: 'u-1', properties: {} };
  const WEBHOOK = { url: 'https://example.com/hook', event_types: ['*'] };
  const RULE = { event_types: ['*'], recipients: ['a@example.com'], subject_template: 'hi', body_template: 'there' };

  // [what, method, path, body, the callers allowed]
  const ROUTES: Array<[string, string, () => string, unknown, Caller[]]> = [
    ['send events', 'POST', () => '/v1/events', EVENT, ['admin', 'write', 'owner', 'developer']],
    ['list events', 'GET', () => '/v1/events', undefined, ['admin', 'read', 'owner', 'developer', 'viewer']],
    ['read stats', 'GET', () => '/v1/stats', undefined, ['admin', 'read', 'owner', 'developer', 'viewer']],
    ['list webhooks', 'GET', () => '/v1/webhooks', undefined, ['admin', 'read', 'owner', 'developer', 'viewer']],
    ['create a webhook', 'POST', () => '/v1/webhooks', WEBHOOK, ['admin', 'owner', 'developer']],
    ['create a notification rule', 'POST', () => '/v1/notification-rules', RULE, ['admin', 'owner', 'developer']],
    ['store a schema', 'PUT', () => '/v1/schemas/authz.checked', { type: 'object' }, ['admin', 'owner', 'developer']],
    ['list dead letters', 'GET', () => '/v1/dead-letters', undefined, ['admin', 'read', 'owner', 'developer', 'viewer']],
    ['bulk replay (dry run)', 'POST', () => '/v1/dead-letters/replay', { dry_run: true }, ['admin', 'owner', 'developer']],
    ['list keys', 'GET', () => `/v1/projects/${project.id}/keys`, undefined, ['admin', 'owner']],
    ['list members', 'GET', () => `/v1/projects/${project.id}/members`, undefined, ['admin', 'read', 'owner', 'developer', 'viewer']],
  ];
  const CALLERS: Caller[] = ['admin', 'write', 'read', 'owner', 'developer', 'viewer'];

  for (const [what, method, path, body, allowed] of ROUTES) {
    test(`${what}: allowed for ${allowed.join(', ')}; 403 for the rest`, async () => {
      for (const caller of CALLERS) {
        const response = await call(caller, method, path(), body);
        if (allowed.includes(caller)) {
          assert.ok(response.status < 400, `${caller} ${method} ${path()} → ${response.status} ${JSON.stringify(response.body)}`);
        } else {
          assert.equal(response.status, 403, `${caller} ${method} ${path()} → ${response.status}`);
          assert.equal(response.body.error.code, 'forbidden');
        }
      }
    });
  }

  test('a signed-in user naming a project they are not in gets 404, exactly like a project that does not exist', async () => {
    for (const projectId of [project.id, other.id, randomUUID(), 'not-a-uuid']) {
      const response = await stack.request('GET', '/v1/events', { key: tokens.outsider, headers: { 'X-Project-Id': projectId } });
      assert.equal(response.status, 404, projectId);
      assert.equal(response.body.error.code, 'not_found');
    }
    const inPath = await stack.request('GET', `/v1/projects/${project.id}/members`, { key: tokens.outsider });
    assert.equal(inPath.status, 404);
  });

  test("a key or a member of one project cannot reach another project's data by path or header", async () => {
    assert.equal((await stack.request('GET', `/v1/projects/${other.id}/keys`, { key: keys.admin })).status, 404);
    assert.equal((await stack.request('GET', `/v1/projects/${other.id}/members`, { key: tokens.owner })).status, 404);
    const mismatch = await stack.request('GET', `/v1/projects/${other.id}/members`, { key: tokens.owner, headers: { 'X-Project-Id': project.id } });
    assert.equal(mismatch.status, 404);
  });

  test('only owners make or unmake owners; admins manage the other roles', async () => {
    const promote = (caller: Caller, userId: string, role: string) => call(caller, 'PATCH', `/v1/projects/${project.id}/members/${userId}`, { role });
    assert.equal((await promote('admin', userIds.viewer, 'owner')).status, 403);
    assert.equal((await promote('developer', userIds.viewer, 'developer')).status, 403);
    assert.equal((await promote('admin', userIds.owner, 'viewer')).status, 403);
    const changed = await promote('admin', userIds.viewer, 'developer');
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await promote('owner', userIds.viewer, 'viewer')).status, 200);
  });

  test('the last owner can neither be demoted nor leave; a member may leave by themselves', async () => {
    const demote = await call('owner', 'PATCH', `/v1/projects/${project.id}/members/${userIds.owner}`, { role: 'admin' });
    assert.equal(demote.status, 409);
    assert.equal(demote.body.error.code, 'last_owner');
    const leave = await call('owner', 'DELETE', `/v1/projects/${project.id}/members/${userIds.owner}`);
    assert.equal(leave.status, 409);
    // Another owner first; then the first may step down.
    assert.equal((await call('owner', 'PATCH', `/v1/projects/${project.id}/members/${userIds.admin}`, { role: 'owner' })).status, 200);
    assert.equal((await call('owner', 'PATCH', `/v1/projects/${project.id}/members/${userIds.owner}`, { role: 'owner' })).status, 200);
    assert.equal((await call('viewer', 'DELETE', `/v1/projects/${project.id}/members/${userIds.developer}`)).status, 403);
    assert.equal((await call('viewer', 'DELETE', `/v1/projects/${project.id}/members/${userIds.viewer}`)).status, 204);
    assert.equal((await call('viewer', 'GET', '/v1/events')).status, 404, 'gone from the project, it is invisible');
  });

  test('invitations: garbage is a 400 naming the field, duplicates are 409, unknown ids 404', async () => {
    const path = `/v1/projects/${project.id}/invitations`;
    for (const body of [{}, { email: 'not an email', role: 'viewer' }, { email: 'x@example.com', role: 'king' }, { email: 'x@example.com', role: 'viewer', extra: 1 }, 'nonsense']) {
      const response = await call('owner', 'POST', path, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.ok(['invalid_body', 'invalid_json'].includes(response.body.error.code), response.body.error.code);
    }
    const email = `invitee-${randomUUID()}@example.com`;
    const first = await call('owner', 'POST', path, { email, role: 'viewer' });
    assert.equal(first.status, 201);
    assert.equal(first.body.status, 'invited');
    assert.equal((await call('owner', 'POST', path, { email: email.toUpperCase(), role: 'admin' })).status, 409);
    const members = await call('owner', 'GET', `/v1/projects/${project.id}/members`);
    assert.ok(members.body.invitations.some((invitation: { email: string }) => invitation.email === email));
    // The invitee registers (sign-up may be closed; the invitation is what lets them in) and lands as a viewer.
    const registered = await stack.request('POST', '/v1/auth/register', { body: { email, password: PASSWORD, name: 'Invitee' } });
    const me = await stack.request('GET', '/v1/me', { key: registered.body.access_token });
    assert.deepEqual(me.body.projects.map((p: { id: string; role: string }) => [p.id, p.role]), [[project.id, 'viewer']]);
    assert.equal((await call('owner', 'DELETE', `/v1/projects/${project.id}/invitations/${randomUUID()}`)).status, 404);
    assert.equal((await call('owner', 'DELETE', `/v1/projects/${project.id}/invitations/garbage`)).status, 404);
    assert.equal((await call('owner', 'PATCH', `/v1/projects/${project.id}/members/garbage`, { role: 'viewer' })).status, 404);
    assert.equal((await call('owner', 'PATCH', `/v1/projects/${project.id}/members/${userIds.developer}`, { role: 'emperor' })).status, 400);
  });

  test('a read key can be made, reads, and is refused every write with a 403 naming what it lacks', async () => {
    const response = await call('read', 'POST', '/v1/webhooks', WEBHOOK);
    assert.equal(response.status, 403);
    assert.match(response.body.error.message, /a read key may not manage webhook endpoints/);
    assert.equal((await call('read', 'POST', `/v1/projects/${project.id}/keys`, { kind: 'admin' })).status, 403);
  });
});

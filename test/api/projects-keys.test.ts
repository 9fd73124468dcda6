import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { startStack, type Stack } from '../helpers/stack.ts';

describe('projects and API keys', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({ withoutTemporal: true });
  });
  after(() => stack?.stop());

  test('the root key creates a project with a first admin key, shown once and stored hashed', async () => {
    const response = await stack.request('POST', '/v1/projects', { key: stack.adminKey, body: { name: 'Acme' } });
    assert.equal(response.status, 201);
    const { id, name, created_at, admin_key } = response.body;
    assert.equal(name, 'Acme');
    assert.ok(!Number.isNaN(Date.parse(created_at)));
    assert.equal(admin_key.kind, 'admin');
    assert.match(admin_key.key, /^efk_[A-Za-z0-9_-]{43}$/, 'efk_ + base64url of 32 bytes');
    assert.ok(admin_key.key.startsWith(admin_key.prefix));

    const row = await stack.db('api_keys').where('id', admin_key.id).first();
    assert.equal(row.project_id, id);
    assert.deepEqual(row.key_hash, createHash('sha256').update(admin_key.key).digest());
    assert.ok(!JSON.stringify(row).includes(admin_key.key), 'the clear key is not stored');

    const own = await stack.request('GET', `/v1/projects/${id}`, { key: admin_key.key });
    assert.equal(own.status, 200);
    assert.deepEqual(own.body, { id, name: 'Acme', created_at });
    assert.equal((await stack.request('GET', `/v1/projects/${id}`, { key: stack.adminKey })).status, 200, 'root sees every project');
  });

  test('project admins may not create projects, nor see other projects (404, not 403)', async () => {
    const a = await stack.createProject('a');
    const b = await stack.createProject('b');
    const create = await stack.request('POST', '/v1/projects', { key: a.adminKey, body: { name: 'sneaky' } });
    assert.equal(create.status, 403);
    assert.equal(create.body.error.code, 'forbidden');

    for (const [method, path, body] of [
      ['GET', `/v1/projects/${b.id}`, undefined],
      ['GET', `/v1/projects/${b.id}/keys`, undefined],
      ['POST', `/v1/projects/${b.id}/keys`, { kind: 'admin' }],
      ['GET', `/v1/projects/${randomUUID()}`, undefined],
      ['GET', '/v1/projects/not-a-uuid', undefined],
    ] as const) {
      const response = await stack.request(method, path, { key: a.adminKey, body });
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal(response.body.error.code, 'not_found');
    }
  });

  test('400 invalid_body for a bad project or key body', async () => {
    for (const body of [{}, { name: '' }, { name: 7 }, { name: 'x', extra: true }]) {
      const response = await stack.request('POST', '/v1/projects', { key: stack.adminKey, body });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.error.code, 'invalid_body');
    }
    const project = await stack.createProject('bodies');
    for (const body of [{}, { kind: 'root' }, { kind: 'write', name: 5 }]) {
      const response = await stack.request('POST', `/v1/projects/${project.id}/keys`, { key: project.adminKey, body });
      assert.equal(response.status, 400, JSON.stringify(body));
    }
  });

  test('admins create, list and revoke their project’s keys; listings show prefixes only', async () => {
    const project = await stack.createProject('keys');
    const created = await stack.request('POST', `/v1/projects/${project.id}/keys`, {
      key: project.adminKey,
      body: { kind: 'write', name: 'website' },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.kind, 'write');
    assert.equal(created.body.name, 'website');
    assert.match(created.body.key, /^efk_/);
    assert.ok(created.body.key.startsWith(created.body.prefix));
    assert.ok(created.body.id && created.body.created_at);

    const list = await stack.request('GET', `/v1/projects/${project.id}/keys`, { key: project.adminKey });
    assert.equal(list.status, 200);
    assert.equal(list.body.data.length, 2);
    const listed = list.body.data.find((key: any) => key.id === created.body.id);
    assert.equal(listed.prefix, created.body.prefix);
    assert.equal(listed.revoked_at, null);
    assert.ok(!JSON.stringify(list.body).includes(created.body.key), 'no clear keys in listings');
    assert.ok(!JSON.stringify(list.body).includes(project.adminKey));

    const accepted = await stack.request('GET', `/v1/projects/${project.id}`, { key: created.body.key });
    assert.equal(accepted.status, 403, 'a write key is known but may not read');

    const revoke = await stack.request('DELETE', `/v1/projects/${project.id}/keys/${created.body.id}`, { key: project.adminKey });
    assert.equal(revoke.status, 204);
    const after = await stack.request('GET', `/v1/projects/${project.id}`, { key: created.body.key });
    assert.equal(after.status, 401, 'revocation takes effect at once in the process that revoked');
    const relisted = await stack.request('GET', `/v1/projects/${project.id}/keys`, { key: project.adminKey });
    assert.ok(relisted.body.data.find((key: any) => key.id === created.body.id).revoked_at);

    assert.equal((await stack.request('DELETE', `/v1/projects/${project.id}/keys/${created.body.id}`, { key: project.adminKey })).status, 204, 'idempotent');
    assert.equal((await stack.request('DELETE', `/v1/projects/${project.id}/keys/${randomUUID()}`, { key: project.adminKey })).status, 404);
  });

  test('the root key manages keys of any project', async () => {
    const project = await stack.createProject('rooted');
    const created = await stack.request('POST', `/v1/projects/${project.id}/keys`, { key: stack.adminKey, body: { kind: 'admin' } });
    assert.equal(created.status, 201);
    assert.equal((await stack.request('GET', `/v1/projects/${project.id}`, { key: created.body.key })).status, 200);
  });

  test('the root key belongs to the default project and cannot be revoked through the API', async () => {
    const root = await stack.db('api_keys')
      .join('projects', 'projects.id', 'api_keys.project_id')
      .select('api_keys.id', 'api_keys.project_id', 'api_keys.is_root', 'projects.name')
      .where('key_hash', createHash('sha256').update(stack.adminKey).digest())
      .first();
    assert.equal(root.is_root, true);
    assert.equal(root.name, 'default');
    const response = await stack.request('DELETE', `/v1/projects/${root.project_id}/keys/${root.id}`, { key: stack.adminKey });
    assert.equal(response.status, 403);
    assert.equal((await stack.request('GET', `/v1/projects/${root.project_id}`, { key: stack.adminKey })).status, 200);
  });

  test('a key revoked elsewhere stops working within the cache TTL', async () => {
    const project = await stack.createProject('ttl');
    const created = await stack.request('POST', `/v1/projects/${project.id}/keys`, { key: project.adminKey, body: { kind: 'admin' } });
    const key = created.body.key;
    assert.equal((await stack.request('GET', `/v1/projects/${project.id}`, { key })).status, 200);
    // Revoked behind the API's back, as another API process would.
    await stack.db('api_keys').update({ revoked_at: stack.db.fn.now() }).where('id', created.body.id);
    const started = Date.now();
    await stack.waitFor(async () => (await stack.request('GET', `/v1/projects/${project.id}`, { key })).status === 401, 10_000);
    assert.ok(Date.now() - started < 6_500, 'within the 5 s TTL');
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack, type TestProject } from '../helpers/stack.ts';

describe('event schemas: versioned per type and project', () => {
  let stack: Stack;
  let project: TestProject;

  before(async () => {
    stack = await startStack({ withoutTemporal: true });
    project = await stack.createProject('schemas');
  });
  after(() => stack?.stop());

  const put = (type: string, body: unknown, key = project.adminKey) => stack.request('PUT', `/v1/schemas/${type}`, { key, body });
  const get = (path: string, key = project.adminKey) => stack.request('GET', path, { key });

  const v1 = { type: 'object', required: ['plan'], properties: { plan: { type: 'string' } } };
  const v2 = { type: 'object', required: ['plan'], properties: { plan: { enum: ['free', 'pro'] } } };

  test('PUT stores version 1, then the next version; the same schema again makes no new version', async () => {
    const first = await put('signup', { schema: v1 });
    assert.equal(first.status, 201);
    assert.equal(first.body.type, 'signup');
    assert.equal(first.body.version, 1);
    assert.deepEqual(first.body.schema, v1);
    assert.ok(!Number.isNaN(Date.parse(first.body.created_at)));

    // Same schema, keys in another order, sent bare instead of wrapped: still the latest, 200.
    const same = await put('signup', { properties: { plan: { type: 'string' } }, required: ['plan'], type: 'object' });
    assert.equal(same.status, 200);
    assert.equal(same.body.version, 1);

    const second = await put('signup', v2);
    assert.equal(second.status, 201);
    assert.equal(second.body.version, 2);
    assert.deepEqual(second.body.schema, v2);
  });

  test('GET /v1/schemas/:type is the latest with all versions; GET /v1/schemas the latest per type', async () => {
    await put('purchase', { type: 'object' });
    const one = await get('/v1/schemas/signup');
    assert.equal(one.status, 200);
    assert.equal(one.body.version, 2);
    assert.deepEqual(one.body.schema, v2);
    assert.deepEqual(one.body.versions.map((version: any) => version.version), [1, 2]);
    assert.deepEqual(one.body.versions[0].schema, v1);

    const all = await get('/v1/schemas');
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.data.map(({ type, version }: any) => ({ type, version })),
      [{ type: 'purchase', version: 1 }, { type: 'signup', version: 2 }],
    );
  });

  test('404 for a type without schema, and other projects see nothing', async () => {
    const missing = await get('/v1/schemas/never-defined');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');

    const other = await stack.createProject('schemas-other');
    assert.deepEqual((await get('/v1/schemas', other.adminKey)).body.data, []);
    assert.equal((await get('/v1/schemas/signup', other.adminKey)).status, 404);
    // The other project's version numbering starts on its own.
    assert.equal((await put('signup', v2, other.adminKey)).body.version, 1);
  });

  test('400 invalid_schema when the schema does not compile; 400 for bad types and wrappers', async () => {
    const bad = await put('broken', { schema: { type: 'not-a-type' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_schema');
    assert.equal(bad.body.error.details[0].field, 'schema');
    assert.equal((await put('broken', { schema: 'object' })).body.error.code, 'invalid_schema');
    assert.equal((await put('broken', { schema: { $ref: 'https://example.com/remote.json' } })).body.error.code, 'invalid_schema');
    assert.equal((await get('/v1/schemas/broken')).status, 404, 'nothing was stored');

    const longType = await put('t'.repeat(129), { type: 'object' });
    assert.equal(longType.status, 400);
    assert.equal((await put('ok', { schema: { type: 'object' }, extra: 1 })).body.error.code, 'invalid_body');
  });

  test('a write key may not manage schemas', async () => {
    const created = await stack.request('POST', `/v1/projects/${project.id}/keys`, { key: project.adminKey, body: { kind: 'write' } });
    assert.equal((await put('signup', v1, created.body.key)).status, 403);
    assert.equal((await get('/v1/schemas', created.body.key)).status, 403);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIONS, allowedActions, allows, mayAssignRole, ROLES, type Standing } from '../../src/auth/policy.ts';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.ts';

const role = (name: (typeof ROLES)[number]): Standing => ({ kind: 'role', role: name });

describe('the authorization rule set', () => {
  test('each role holds exactly the actions the product promises', () => {
    assert.deepEqual(allowedActions(role('viewer')), ['project:read']);
    assert.deepEqual(allowedActions(role('developer')), ['project:read', 'events:ingest', 'webhooks:manage', 'rules:manage', 'schemas:manage', 'deliveries:act']);
    assert.deepEqual(allowedActions(role('admin')), [...allowedActions(role('developer')), 'keys:manage', 'members:manage']);
    assert.deepEqual(allowedActions(role('owner')), [...ACTIONS]);
  });

  test('API keys: write keys only ingest, read keys only read, admin keys act as admins', () => {
    assert.deepEqual(allowedActions({ kind: 'key', keyKind: 'write' }), ['events:ingest']);
    assert.deepEqual(allowedActions({ kind: 'key', keyKind: 'read' }), ['project:read']);
    assert.deepEqual(allowedActions({ kind: 'key', keyKind: 'admin' }), allowedActions(role('admin')));
    assert.equal(allows({ kind: 'key', keyKind: 'admin' }, 'owners:manage'), false);
  });

  test('only owners make or unmake owners; admins manage everyone else; nobody below admin manages members', () => {
    assert.equal(mayAssignRole(role('admin'), 'viewer', 'admin'), true);
    assert.equal(mayAssignRole(role('admin'), 'viewer', 'owner'), false, 'an admin cannot escalate to owner');
    assert.equal(mayAssignRole(role('admin'), 'owner', 'viewer'), false, 'an admin cannot demote an owner');
    assert.equal(mayAssignRole(role('owner'), 'admin', 'owner'), true);
    assert.equal(mayAssignRole(role('developer'), 'viewer', 'developer'), false);
    assert.equal(mayAssignRole({ kind: 'key', keyKind: 'admin' }, undefined, 'owner'), false);
  });
});

describe('password hashing', () => {
  test('a hash verifies its password only, and two hashes of one password differ (salted)', async () => {
    const first = await hashPassword('correct horse battery staple');
    const second = await hashPassword('correct horse battery staple');
    assert.notEqual(first, second);
    assert.match(first, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword('correct horse battery staple', first), true);
    assert.equal(await verifyPassword('correct horse battery stapl', first), false);
    assert.equal(await verifyPassword('anything', 'not-a-hash'), false);
  });
});

describe('access tokens', () => {
  const secret = 'a-test-secret-of-sufficient-length-0123456789';
  test('a signed token verifies; tampered, expired, alg:none and other-key tokens do not', async () => {
    const { createTokenSigner } = await import('../../src/auth/tokens.ts');
    const signer = createTokenSigner(secret, 900);
    const { token } = await signer.sign({ sub: 'user-1', email: 'a@example.com' });
    assert.deepEqual(await signer.verify(token), { sub: 'user-1', email: 'a@example.com' });

    const [header, payload, signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'admin' })).toString('base64url');
    assert.equal(await signer.verify(`${header}.${forged}.${signature}`), undefined, 'tampered payload');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    assert.equal(await signer.verify(`${none}.${payload}.`), undefined, 'alg none');
    assert.equal(await createTokenSigner('another-secret-of-sufficient-length-987654', 900).verify(token), undefined, 'other key');
    const expired = await createTokenSigner(secret, -10).sign({ sub: 'user-1', email: 'a@example.com' });
    assert.equal(await signer.verify(expired.token), undefined, 'expired');
    assert.equal(await signer.verify('garbage'), undefined);
  });
});

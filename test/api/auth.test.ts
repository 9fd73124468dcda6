import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { startStack, type Stack } from '../helpers/stack.ts';

const SECRET = 'test-access-token-secret-0123456789-abcdef';
const PASSWORD = 'a long enough password';

describe('accounts: register, log in, refresh, log out', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      env: { AUTH_SIGNUP: 'open', AUTH_JWT_SECRET: SECRET, AUTH_MAX_FAILURES_PER_ACCOUNT: '3', AUTH_SECURE_COOKIES: 'false' },
    });
  });
  after(() => stack?.stop());

  const email = () => `user-${randomUUID()}@example.com`;
  const register = (body: Record<string, unknown>) => stack.request('POST', '/v1/auth/register', { body });
  const login = (body: Record<string, unknown>) => stack.request('POST', '/v1/auth/login', { body });
  const me = (token: string) => stack.request('GET', '/v1/me', { key: token });

  test('registering makes the user the owner of a project of their own and signs them in', async () => {
    const address = email();
    const response = await register({ email: address, password: PASSWORD, name: 'Ada' });
    assert.equal(response.status, 201);
    assert.equal(response.body.token_type, 'Bearer');
    assert.match(response.body.access_token, /^eyJ/);
    assert.match(response.body.refresh_token, /^efr_/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const profile = await me(response.body.access_token);
    assert.equal(profile.status, 200);
    assert.equal(profile.body.email, address);
    assert.equal(profile.body.projects.length, 1);
    assert.equal(profile.body.projects[0].role, 'owner');
    assert.ok(profile.body.projects[0].permissions.includes('owners:manage'));
  });

  test('emails are unique whatever their case; bad registrations are 400s naming the field', async () => {
    const address = email();
    assert.equal((await register({ email: address, password: PASSWORD, name: 'A' })).status, 201);
    const again = await register({ email: address.toUpperCase(), password: PASSWORD, name: 'B' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'email_taken');
    for (const [body, field] of [
      [{ email: 'not-an-email', password: PASSWORD, name: 'x' }, 'email'],
      [{ email: email(), password: 'short', name: 'x' }, 'password'],
      [{ email: email(), password: PASSWORD }, 'name'],
      [{ email: email(), password: PASSWORD, name: 'x', role: 'owner' }, 'role'],
    ] as const) {
      const response = await register(body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.error.code, 'invalid_body');
      assert.ok(response.body.error.details.some((detail: { field: string }) => detail.field === field), JSON.stringify(response.body));
    }
    assert.equal((await stack.request('POST', '/v1/auth/register', { body: '{', headers: { 'content-type': 'application/json' } })).status, 400);
    assert.equal((await stack.request('POST', '/v1/auth/login', { body: 'x', headers: { 'content-type': 'text/plain' } })).status, 415);
  });

  test('an unknown email and a wrong password get the same answer', async () => {
    const address = email();
    await register({ email: address, password: PASSWORD, name: 'C' });
    const wrong = await login({ email: address, password: 'not the password' });
    const unknown = await login({ email: email(), password: 'not the password' });
    assert.equal(wrong.status, 401);
    assert.deepEqual(unknown.body, wrong.body);
    assert.equal(unknown.status, 401);
    const right = await login({ email: address.toUpperCase(), password: PASSWORD });
    assert.equal(right.status, 200);
  });

  test('repeated failed logins for an account are refused with 429 and Retry-After, even with the right password', async () => {
    const address = email();
    await register({ email: address, password: PASSWORD, name: 'D' });
    for (let attempt = 0; attempt < 3; attempt++) assert.equal((await login({ email: address, password: 'guess' })).status, 401);
    const blocked = await login({ email: address, password: PASSWORD });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.error.code, 'too_many_attempts');
    assert.match(blocked.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  });

  test('refresh rotates the token; reusing a spent one revokes the whole login', async () => {
    const first = (await register({ email: email(), password: PASSWORD, name: 'E' })).body;
    const second = await stack.request('POST', '/v1/auth/refresh', { body: { refresh_token: first.refresh_token } });
    assert.equal(second.status, 200);
    assert.notEqual(second.body.refresh_token, first.refresh_token);
    assert.equal((await me(second.body.access_token)).status, 200);

    const reuse = await stack.request('POST', '/v1/auth/refresh', { body: { refresh_token: first.refresh_token } });
    assert.equal(reuse.status, 401);
    assert.equal(reuse.body.error.code, 'refresh_token_reused');
    // The attacker's reuse also ends the legitimate holder's newer token.
    const newer = await stack.request('POST', '/v1/auth/refresh', { body: { refresh_token: second.body.refresh_token } });
    assert.equal(newer.status, 401);
    assert.equal(newer.body.error.code, 'invalid_refresh_token');
    assert.equal((await stack.request('POST', '/v1/auth/refresh', { body: { refresh_token: 'efr_made-up' } })).status, 401);
    assert.equal((await stack.request('POST', '/v1/auth/refresh', { body: { refresh_token: 7 } })).status, 400);
  });

  test('session "cookie" keeps the refresh token in an httpOnly SameSite cookie; logout ends it', async () => {
    const registered = await register({ email: email(), password: PASSWORD, name: 'F', session: 'cookie' });
    assert.equal(registered.status, 201);
    assert.equal(registered.body.refresh_token, undefined);
    const cookie = registered.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^eventflow_refresh=efr_/);
    assert.match(cookie, /httponly/i);
    assert.match(cookie, /samesite=strict/i);
    assert.match(cookie, /path=\/v1\/auth/i);
    const pair = cookie.split(';')[0];
    const refreshed = await stack.request('POST', '/v1/auth/refresh', { headers: { cookie: pair } });
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.body.refresh_token, undefined);
    const rotated = (refreshed.headers.get('set-cookie') ?? '').split(';')[0];
    assert.notEqual(rotated, pair);
    assert.equal((await stack.request('POST', '/v1/auth/logout', { headers: { cookie: rotated } })).status, 204);
    assert.equal((await stack.request('POST', '/v1/auth/refresh', { headers: { cookie: rotated } })).status, 401);
  });

  test('tampered, expired, alg:none and foreign-key tokens are refused', async () => {
    const { body } = await register({ email: email(), password: PASSWORD, name: 'G' });
    const [header, payload, signature] = body.access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: randomUUID() })).toString('base64url')}.${signature}`;
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    const sign = (key: string, expiresAt: number) =>
      new SignJWT({ email: claims.email }).setProtectedHeader({ alg: 'HS256' }).setSubject(claims.sub).setIssuer('eventflow').setAudience('eventflow-api').setExpirationTime(expiresAt).sign(new TextEncoder().encode(key));
    const expired = await sign(SECRET, Math.floor(Date.now() / 1000) - 60);
    const foreign = await sign('another-secret-entirely-0123456789-abcdef', Math.floor(Date.now() / 1000) + 600);
    const hs512 = await new SignJWT({ email: claims.email }).setProtectedHeader({ alg: 'HS512' }).setSubject(claims.sub).setIssuer('eventflow').setAudience('eventflow-api').setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
    for (const [name, token] of [['tampered', tampered], ['alg none', none], ['expired', expired], ['foreign key', foreign], ['other algorithm', hs512]]) {
      const response = await me(token);
      assert.equal(response.status, 401, name);
      assert.equal(response.body.error.code, 'invalid_token', name);
      assert.equal((await stack.request('GET', '/v1/stats', { key: token })).status, 401, `${name} on a project route`);
    }
    assert.equal((await me(await sign(SECRET, Math.floor(Date.now() / 1000) + 600))).status, 200, 'a well-signed token is accepted');
    assert.equal((await stack.request('GET', '/v1/me', { key: stack.adminKey })).status, 401, 'an API key is not a user');
  });

  test('a user naming a project they are not a member of gets 404, as if it did not exist', async () => {
    const { body } = await register({ email: email(), password: PASSWORD, name: 'H' });
    const stranger = await stack.createProject('not-theirs');
    for (const projectId of [stranger.id, randomUUID(), 'garbage']) {
      const response = await stack.request('GET', '/v1/events', { key: body.access_token, headers: { 'X-Project-Id': projectId } });
      assert.equal(response.status, 404, projectId);
      assert.equal(response.body.error.code, 'not_found');
    }
  });
});

describe('closed sign-up', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ withoutTemporal: true, env: { AUTH_SIGNUP: 'closed' } });
  });
  after(() => stack?.stop());

  test('with secure cookies (the default), a cookie session over plain http is a 400 that says why, made before any account', async () => {
    const address = `cookie-${randomUUID()}@example.com`;
    const project = await stack.createProject('cookies');
    await stack.db('invitations').insert({ id: randomUUID(), project_id: project.id, email: address, role: 'viewer' });
    const refused = await stack.request('POST', '/v1/auth/register', { body: { email: address, password: PASSWORD, name: 'C', session: 'cookie' } });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'https_required');
    assert.equal(refused.headers.get('set-cookie'), null);
    const registered = await stack.request('POST', '/v1/auth/register', { body: { email: address, password: PASSWORD, name: 'C' } });
    assert.equal(registered.status, 201, 'the refused attempt made no account');
    const login = await stack.request('POST', '/v1/auth/login', { body: { email: address, password: PASSWORD, session: 'cookie' } });
    assert.equal(login.status, 400);
    assert.equal(login.body.error.code, 'https_required');
  });

  test('registration without an invitation is refused; with one, the user joins the inviting project', async () => {
    const refused = await stack.request('POST', '/v1/auth/register', { body: { email: `x-${randomUUID()}@example.com`, password: PASSWORD, name: 'X' } });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'signup_closed');

    const project = await stack.createProject('inviting');
    const address = `invited-${randomUUID()}@example.com`;
    await stack.db('invitations').insert({ id: randomUUID(), project_id: project.id, email: address, role: 'developer' });
    const joined = await stack.request('POST', '/v1/auth/register', { body: { email: address, password: PASSWORD, name: 'Y' } });
    assert.equal(joined.status, 201);
    const profile = await stack.request('GET', '/v1/me', { key: joined.body.access_token });
    assert.deepEqual(profile.body.projects.map((membership: { id: string; role: string }) => [membership.id, membership.role]), [[project.id, 'developer']]);
  });
});

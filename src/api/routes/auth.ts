import { Router } from '@koa/router';
import type { ParameterizedContext } from 'koa';
import { addMembership, acceptInvitations, findUser, findUserByEmail, hasOpenInvitation, insertUser, membershipsOf, type UserRow } from '../../accounts/queries.ts';
import { createSessions, type IssuedSession } from '../../accounts/sessions.ts';
import { createLoginThrottle } from '../../accounts/throttle.ts';
import { decoyHash, hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, verifyPassword } from '../../auth/passwords.ts';
import { allowedActions } from '../../auth/policy.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { jsonBody, optionalJsonBody } from '../middleware/json-body.ts';
import { validateBody, type Valid } from '../middleware/validate.ts';
import { insertProject } from '../../projects/queries.ts';
import type { ApiState } from '../state.ts';

// People's logins: register, log in, refresh, log out, and who am I. Access tokens are short-lived JWTs
// (src/auth/tokens.ts); refresh tokens are opaque, rotated on every use (src/accounts/sessions.ts).
// `session: "cookie"` keeps the refresh token out of the JSON (and so out of reach of page scripts): it
// then travels only in an httpOnly, SameSite=Strict cookie scoped to /v1/auth.

export const REFRESH_COOKIE = 'eventflow_refresh';
const COOKIE_PATH = '/v1/auth';

const EMAIL = { type: 'string', format: 'email', maxLength: 254 } as const;
const PASSWORD = { type: 'string', minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH } as const;
const SESSION = { enum: ['body', 'cookie'] } as const;

interface Register {
  email: string;
  password: string;
  name: string;
  session?: 'body' | 'cookie';
}
const REGISTER = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password', 'name'],
  properties: { email: EMAIL, password: PASSWORD, name: { type: 'string', minLength: 1, maxLength: 200 }, session: SESSION },
} as const;

interface Login {
  email: string;
  password: string;
  session?: 'body' | 'cookie';
}
// No length rules on a login's password: a wrong one must fail like any other wrong one.
const LOGIN = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password'],
  properties: { email: { type: 'string', minLength: 1, maxLength: 254 }, password: { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_LENGTH }, session: SESSION },
} as const;

interface RefreshBody {
  refresh_token?: string;
  session?: 'body' | 'cookie';
}
const REFRESH = {
  type: 'object',
  additionalProperties: false,
  properties: { refresh_token: { type: 'string', minLength: 1, maxLength: 512 }, session: SESSION },
} as const;

export function authRouter({ db, config, signer }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/auth' });
  const sessions = createSessions(db, signer, config.auth.refreshTokenTtlSeconds);
  const throttle = createLoginThrottle(db, {
    perAccount: config.auth.maxFailuresPerAccount,
    perAddress: config.auth.maxFailuresPerAddress,
    windowSeconds: config.auth.failureWindowSeconds,
  });

  function answer(ctx: ParameterizedContext<ApiState>, user: Pick<UserRow, 'id' | 'email' | 'name'>, session: IssuedSession, mode: 'body' | 'cookie' = 'body') {
    if (mode === 'cookie') {
      ctx.cookies.set(REFRESH_COOKIE, session.refreshToken, {
        httpOnly: true,
        sameSite: 'strict',
        secure: config.auth.secureCookies,
        path: COOKIE_PATH,
        expires: session.refreshTokenExpiresAt,
        overwrite: true,
      });
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      token_type: 'Bearer',
      access_token: session.accessToken,
      expires_at: session.accessTokenExpiresAt.toISOString(),
      expires_in: Math.round((session.accessTokenExpiresAt.getTime() - Date.now()) / 1000),
      ...(mode === 'body' ? { refresh_token: session.refreshToken } : {}),
      refresh_token_expires_at: session.refreshTokenExpiresAt.toISOString(),
      user: { id: user.id, email: user.email, name: user.name },
    };
  }

  router.post<Valid<Register>>('/register', jsonBody, validateBody<Register>(REGISTER), async (ctx) => {
    const { email, password, name, session } = ctx.state.input;
    const invited = await hasOpenInvitation(db, email);
    if (config.auth.signup === 'closed' && !invited) {
      throw new ApiError(403, 'signup_closed', 'registration is by invitation: ask a project admin to invite this email');
    }
    const passwordHash = await hashPassword(password);
    const created = await db.transaction(async (trx) => {
      const user = await insertUser(trx, { email: email.trim(), name, password_hash: passwordHash });
      if (!user) return undefined;
      const joined = await acceptInvitations(trx, user.id, user.email);
      // Open sign-up without an invitation: a project of one's own, as its owner.
      if (joined === 0) {
        const project = await insertProject(trx, `${name}'s project`);
        await addMembership(trx, project.id, user.id, 'owner');
      }
      return { user, session: await sessions.start(user, trx) };
    });
    if (!created) throw new ApiError(409, 'email_taken', 'an account with this email exists; log in instead');
    ctx.status = 201;
    answer(ctx, created.user, created.session, session);
  });

  router.post<Valid<Login>>('/login', jsonBody, validateBody<Login>(LOGIN), async (ctx) => {
    const { email, password, session } = ctx.state.input;
    const address = ctx.ip || 'unknown';
    const wait = await throttle.blockedFor(email, address);
    if (wait > 0) {
      throw new ApiError(429, 'too_many_attempts', 'too many failed logins; wait before trying again', [], { 'Retry-After': String(wait) });
    }
    const user = await findUserByEmail(db, email.trim());
    // The same work and the same answer for an unknown email as for a wrong password.
    const valid = await verifyPassword(password, user?.password_hash ?? (await decoyHash()));
    if (!user || !valid) {
      await throttle.recordFailure(email, address);
      throw new ApiError(401, 'invalid_credentials', 'the email or password is wrong');
    }
    await throttle.recordSuccess(email);
    answer(ctx, user, await sessions.start(user), session);
  });

  router.post<Valid<RefreshBody>>('/refresh', optionalJsonBody, validateBody<RefreshBody>(REFRESH), async (ctx) => {
    const fromCookie = ctx.cookies.get(REFRESH_COOKIE);
    const token = ctx.state.input.refresh_token ?? fromCookie;
    if (!token) throw new ApiError(401, 'invalid_refresh_token', 'send the refresh token in the body (refresh_token) or its cookie');
    const outcome = await sessions.refresh(token);
    if (!outcome.ok) {
      if (fromCookie) ctx.cookies.set(REFRESH_COOKIE, null, { path: COOKIE_PATH });
      if (outcome.reason === 'reused') {
        throw new ApiError(401, 'refresh_token_reused', 'this refresh token was already used: every session of this login is revoked; log in again');
      }
      throw new ApiError(401, 'invalid_refresh_token', `the refresh token is ${outcome.reason === 'unknown' ? 'unknown' : outcome.reason}; log in again`);
    }
    const user = await findUser(db, outcome.userId);
    if (!user) throw new ApiError(401, 'invalid_refresh_token', 'the account no longer exists');
    answer(ctx, user, outcome.session, ctx.state.input.session ?? (fromCookie && !ctx.state.input.refresh_token ? 'cookie' : 'body'));
  });

  router.post<Valid<RefreshBody>>('/logout', optionalJsonBody, validateBody<RefreshBody>(REFRESH), async (ctx) => {
    const token = ctx.state.input.refresh_token ?? ctx.cookies.get(REFRESH_COOKIE);
    if (token) await sessions.revoke(token);
    ctx.cookies.set(REFRESH_COOKIE, null, { path: COOKIE_PATH });
    ctx.status = 204;
  });

  return router;
}

/** `GET /v1/me`: the signed-in user and their projects, each with the role and what it allows. */
export function meRouter({ db, auth }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/me' });
  router.get('/', auth.identifyUser, async (ctx) => {
    const user = await findUser(db, ctx.state.user!.userId);
    if (!user) throw new ApiError(401, 'invalid_token', 'the account no longer exists');
    const memberships = await membershipsOf(db, user.id);
    ctx.body = {
      id: user.id,
      email: user.email,
      name: user.name,
      created_at: user.created_at,
      projects: memberships.map((membership) => ({
        id: membership.project_id,
        name: membership.project_name,
        role: membership.role,
        permissions: allowedActions({ kind: 'role', role: membership.role }),
      })),
    };
  });
  return router;
}

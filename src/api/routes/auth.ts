import { Router } from '@koa/router';
import type { ParameterizedContext } from 'koa';
import { findUser, membershipsOf, type UserRow } from '../../accounts/queries.ts';
import type { IssuedSession } from '../../accounts/sessions.ts';
import { allowedActions } from '../../auth/policy.ts';
import { CREDENTIAL_FIELDS, REGISTRATION_FIELDS, type Credentials, type Registration } from '../accounts.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { jsonBody, optionalJsonBody } from '../middleware/json-body.ts';
import { validateBody, type Valid } from '../middleware/validate.ts';
import type { ApiState } from '../state.ts';

// People's logins: register, log in, refresh, log out, and who am I. Access tokens are short-lived JWTs
// (src/auth/tokens.ts); refresh tokens are opaque, rotated on every use (src/accounts/sessions.ts).
// `session: "cookie"` keeps the refresh token out of the JSON (and so out of reach of page scripts): it
// then travels only in an httpOnly, SameSite=Strict cookie scoped to /v1/auth.

export const REFRESH_COOKIE = 'eventflow_refresh';
const COOKIE_PATH = '/v1/auth';

const SESSION = { enum: ['body', 'cookie'] } as const;
type SessionMode = { session?: 'body' | 'cookie' };

const REGISTER = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password', 'name'],
  properties: { ...REGISTRATION_FIELDS, session: SESSION },
} as const;
const LOGIN = { type: 'object', additionalProperties: false, required: ['email', 'password'], properties: { ...CREDENTIAL_FIELDS, session: SESSION } } as const;

interface RefreshBody {
  refresh_token?: string;
  session?: 'body' | 'cookie';
}
const REFRESH = {
  type: 'object',
  additionalProperties: false,
  properties: { refresh_token: { type: 'string', minLength: 1, maxLength: 512 }, session: SESSION },
} as const;

export function authRouter({ config, accounts }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/auth' });

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

  /**
   * A `Secure` cookie cannot be set on a plain-http request (Koa refuses, and browsers would drop it):
   * say so before any account or session is made, instead of failing after.
   */
  function assertCookieCanBeSet(ctx: ParameterizedContext<ApiState>, mode: 'body' | 'cookie' | undefined) {
    if (mode === 'cookie' && config.auth.secureCookies && !ctx.secure) {
      throw new ApiError(400, 'https_required', 'session "cookie" needs HTTPS (behind a TLS proxy set TRUST_PROXY=true; for local http set AUTH_SECURE_COOKIES=false), or use session "body"', [
        { field: 'session', message: 'cookie sessions need an HTTPS request' },
      ]);
    }
  }

  router.post<Valid<Registration & SessionMode>>('/register', jsonBody, validateBody<Registration & SessionMode>(REGISTER), async (ctx) => {
    const { session, ...registration } = ctx.state.input;
    assertCookieCanBeSet(ctx, session);
    const { user, session: issued } = await accounts.register(registration);
    ctx.status = 201;
    answer(ctx, user, issued, session);
  });

  router.post<Valid<Credentials & SessionMode>>('/login', jsonBody, validateBody<Credentials & SessionMode>(LOGIN), async (ctx) => {
    const { session, ...credentials } = ctx.state.input;
    assertCookieCanBeSet(ctx, session);
    const { user, session: issued } = await accounts.login(credentials, ctx.ip || 'unknown');
    answer(ctx, user, issued, session);
  });

  router.post<Valid<RefreshBody>>('/refresh', optionalJsonBody, validateBody<RefreshBody>(REFRESH), async (ctx) => {
    const fromCookie = ctx.cookies.get(REFRESH_COOKIE);
    const token = ctx.state.input.refresh_token ?? fromCookie;
    if (!token) throw new ApiError(401, 'invalid_refresh_token', 'send the refresh token in the body (refresh_token) or its cookie');
    assertCookieCanBeSet(ctx, ctx.state.input.session);
    let refreshed;
    try {
      refreshed = await accounts.refresh(token);
    } catch (error) {
      if (fromCookie) ctx.cookies.set(REFRESH_COOKIE, null, { path: COOKIE_PATH });
      throw error;
    }
    answer(ctx, refreshed.user, refreshed.session, ctx.state.input.session ?? (fromCookie && !ctx.state.input.refresh_token ? 'cookie' : 'body'));
  });

  router.post<Valid<RefreshBody>>('/logout', optionalJsonBody, validateBody<RefreshBody>(REFRESH), async (ctx) => {
    const token = ctx.state.input.refresh_token ?? ctx.cookies.get(REFRESH_COOKIE);
    if (token) await accounts.logout(token);
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

import type { Knex } from 'knex';
import type { Middleware } from 'koa';
import { ApiError, databaseUnavailable, notFound } from '../errors.ts';
import { roleOf, membershipsOf } from '../../accounts/queries.ts';
import { allows, type Action, type Standing } from '../../auth/policy.ts';
import type { Principal, UserIdentity } from '../../auth/principal.ts';
import type { TokenSigner } from '../../auth/tokens.ts';
import { findActiveKey } from '../../keys/queries.ts';
import { hashKey } from '../../keys/secrets.ts';
import { isUuid } from '../params.ts';
import type { ApiState } from '../state.ts';

/**
 * Key lookups are cached in memory so ingestion does not hit Postgres per request. The price is that a
 * key revoked through another API process keeps working there for up to this TTL (revocations made
 * through this process take effect at once: they evict the entry).
 */
export const KEY_CACHE_TTL_MS = 5_000;
// Unknown keys are cached too (so a flood of bad keys stays off Postgres), hence the bound on entries.
const MAX_CACHED_KEYS = 10_000;
// Real keys are ~50 characters; anything far longer is not a key and is not worth hashing.
const MAX_KEY_LENGTH = 512;

interface CacheEntry {
  // The lookup itself is cached, so a burst of requests with a cold key makes one query, not hundreds.
  principal: Promise<Principal | undefined>;
  expiresAt: number;
}

export interface Authenticator {
  /**
   * Resolves the caller and the project the request acts in (ctx.state.auth), or answers 401; a user
   * naming a project they are not a member of gets 404, like a project that does not exist.
   */
  authenticate: Middleware<ApiState>;
  /** Only who the user is (ctx.state.user), for routes about the person rather than a project (/v1/me). */
  identifyUser: Middleware<ApiState>;
  /** Drops a key from this process's cache, e.g. right after revoking it. */
  forget(keyHash: Buffer): void;
  /**
   * The same resolution outside Koa's middleware chain (GraphQL): who calls, from their headers, and in
   * which project. Throws the same ApiErrors (401, 404) as `authenticate`.
   */
  resolve(headers: CallerHeaders): Promise<{ principal: Principal; user?: UserIdentity }>;
  /** The signed-in user only, as `identifyUser`. */
  resolveUser(authorization: string): Promise<UserIdentity>;
}

export interface CallerHeaders {
  authorization: string;
  apiKey: string;
  /** X-Project-Id, or '' */
  project: string;
  /** The request path, which may name the project (/v1/projects/:id/…). */
  path: string;
}

/** Header a signed-in user names their project with (unless they belong to exactly one). */
export const PROJECT_HEADER = 'X-Project-Id';
// Routes under a project's own path name it there; a header naming another project is answered 404 there.
const PROJECT_PATH = /^\/v1\/projects\/([^/]+)/;
// Access tokens are JWTs (three base64url parts, the header always starting `eyJ`); API keys never are.
const LOOKS_LIKE_JWT = /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/;

export function createAuthenticator(db: Knex, signer: TokenSigner, ttlMs = KEY_CACHE_TTL_MS): Authenticator {
  const cache = new Map<string, CacheEntry>();

  async function lookup(key: string): Promise<Principal | undefined> {
    const keyHash = hashKey(key);
    const cacheKey = keyHash.toString('base64');
    const now = Date.now();
    const cached = cache.get(cacheKey);
    if (cached && cached.expiresAt > now) return cached.principal;

    // Postgres down: the documented 503 with Retry-After (nothing was done, a retry is safe), not a 500.
    const principal = findActiveKey(db, keyHash).catch((error: unknown) => {
      throw databaseUnavailable(error, 'the API key cannot be checked right now; retry later');
    });
    const entry: CacheEntry = { principal, expiresAt: now + ttlMs };
    cache.delete(cacheKey);
    if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value as string); // oldest first
    cache.set(cacheKey, entry);
    // A failed lookup (Postgres down) must not be remembered as "unknown key".
    entry.principal.catch(() => cache.get(cacheKey) === entry && cache.delete(cacheKey));
    return entry.principal;
  }

  async function user(token: string): Promise<UserIdentity> {
    const claims = await signer.verify(token);
    if (!claims) throw new ApiError(401, 'invalid_token', 'the access token is invalid or expired; refresh it or log in again');
    return { userId: claims.sub, email: claims.email };
  }

  /** The project a user's request acts in: the header's, or their only one; 404 for any other. */
  async function userPrincipal(identity: UserIdentity, requested: string): Promise<Principal> {
    let projectId = requested.trim();
    if (projectId === '') {
      const memberships = await membershipsOf(db, identity.userId);
      if (memberships.length !== 1) {
        throw new ApiError(400, 'project_required', `name the project with the ${PROJECT_HEADER} header (you belong to ${memberships.length})`);
      }
      projectId = memberships[0].project_id;
    }
    const role = isUuid(projectId) ? await roleOf(db, identity.userId, projectId.toLowerCase()) : undefined;
    if (!role) throw notFound('project');
    return { projectId: projectId.toLowerCase(), standing: { kind: 'role', role }, isRoot: false, kind: 'user', userId: identity.userId };
  }

  async function resolve({ authorization, apiKey, project, path }: CallerHeaders): Promise<{ principal: Principal; user?: UserIdentity }> {
    const key = presentedKey(authorization, apiKey);
    if (!key) {
      throw new ApiError(401, 'unauthorized', 'an API key or access token is required: send "Authorization: Bearer <key or token>" or "X-API-Key: <key>"');
    }
    if (LOOKS_LIKE_JWT.test(key)) {
      const identity = await user(key);
      return { user: identity, principal: await userPrincipal(identity, project || (PROJECT_PATH.exec(path)?.[1] ?? '')) };
    }
    const principal = key.length <= MAX_KEY_LENGTH ? await lookup(key) : undefined;
    if (!principal) throw new ApiError(401, 'unauthorized', 'the API key is unknown or revoked');
    return { principal };
  }

  async function resolveUser(authorization: string): Promise<UserIdentity> {
    const token = presentedKey(authorization, '');
    if (!token || !LOOKS_LIKE_JWT.test(token)) {
      throw new ApiError(401, 'unauthorized', 'an access token is required: send "Authorization: Bearer <access token>" (log in at POST /v1/auth/login)');
    }
    return user(token);
  }

  const authenticate: Middleware<ApiState> = async (ctx, next) => {
    const { principal, user: identity } = await resolve({
      authorization: ctx.get('Authorization'),
      apiKey: ctx.get('X-API-Key'),
      project: ctx.get(PROJECT_HEADER),
      path: ctx.path,
    });
    ctx.state.auth = principal;
    if (identity) ctx.state.user = identity;
    await next();
  };

  const identifyUser: Middleware<ApiState> = async (ctx, next) => {
    ctx.state.user = await resolveUser(ctx.get('Authorization'));
    await next();
  };

  return {
    authenticate,
    identifyUser,
    forget: (keyHash) => void cache.delete(keyHash.toString('base64')),
    resolve,
    resolveUser,
  };
}

function presentedKey(authorization: string, apiKeyHeader: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (bearer) return bearer[1];
  const key = apiKeyHeader.trim();
  return key === '' ? undefined : key;
}

const ACTION_WORDS: Record<Action, string> = {
  'project:read': "read this project's data",
  'events:ingest': 'send events',
  'webhooks:manage': 'manage webhook endpoints',
  'rules:manage': 'manage notification rules',
  'schemas:manage': 'manage event schemas',
  'deliveries:act': 'replay or discard deliveries',
  'keys:manage': 'manage API keys',
  'members:manage': 'manage members',
  'owners:manage': 'make or unmake owners',
};

function describeStanding(standing: Standing): string {
  return standing.kind === 'role' ? `a project ${standing.role}` : `a ${standing.keyKind} key`;
}

/**
 * The route guard: the authenticated caller must be allowed `action` in the request's project, by the
 * one rule set in src/auth/policy.ts. 403 names what was refused and what the caller holds.
 */
export function requires(action: Action): Middleware<ApiState> {
  return async (ctx, next) => {
    const { standing } = ctx.state.auth;
    if (!allows(standing, action)) {
      throw new ApiError(403, 'forbidden', `${describeStanding(standing)} may not ${ACTION_WORDS[action]}`, [
        { field: 'authorization', message: `requires ${action}`, action },
      ]);
    }
    await next();
  };
}

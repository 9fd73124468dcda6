import type { Knex } from 'knex';
import type { Middleware } from 'koa';
import { ApiError } from '../errors.ts';
import { findActiveKey, type Principal } from '../keys/queries.ts';
import { hashKey } from '../keys/secrets.ts';
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
  authenticate: Middleware<ApiState>;
  /** Drops a key from this process's cache, e.g. right after revoking it. */
  forget(keyHash: Buffer): void;
}

export function createAuthenticator(db: Knex, ttlMs = KEY_CACHE_TTL_MS): Authenticator {
  const cache = new Map<string, CacheEntry>();

  async function lookup(key: string): Promise<Principal | undefined> {
    const keyHash = hashKey(key);
    const cacheKey = keyHash.toString('base64');
    const now = Date.now();
    const cached = cache.get(cacheKey);
    if (cached && cached.expiresAt > now) return cached.principal;

    const entry: CacheEntry = { principal: findActiveKey(db, keyHash), expiresAt: now + ttlMs };
    cache.delete(cacheKey);
    if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value as string); // oldest first
    cache.set(cacheKey, entry);
    // A failed lookup (Postgres down) must not be remembered as "unknown key".
    entry.principal.catch(() => cache.get(cacheKey) === entry && cache.delete(cacheKey));
    return entry.principal;
  }

  const authenticate: Middleware<ApiState> = async (ctx, next) => {
    const key = presentedKey(ctx.get('Authorization'), ctx.get('X-API-Key'));
    if (!key) {
      throw new ApiError(401, 'unauthorized', 'an API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"');
    }
    const principal = key.length <= MAX_KEY_LENGTH ? await lookup(key) : undefined;
    if (!principal) throw new ApiError(401, 'unauthorized', 'the API key is unknown or revoked');
    ctx.state.auth = principal;
    await next();
  };

  return {
    authenticate,
    forget: (keyHash) => void cache.delete(keyHash.toString('base64')),
  };
}

function presentedKey(authorization: string, apiKeyHeader: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (bearer) return bearer[1];
  const key = apiKeyHeader.trim();
  return key === '' ? undefined : key;
}

/** Write keys may only ingest; every other route is for admin keys. */
export const adminOnly: Middleware<ApiState> = async (ctx, next) => {
  if (ctx.state.auth.kind !== 'admin') {
    throw new ApiError(403, 'forbidden', 'this key may only send events (POST /v1/events); use an admin key');
  }
  await next();
};

import type { Knex } from 'knex';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Brute-force protection for logins: failed attempts are counted per account (email) and per client
 * address in Postgres (rate-limiter-flexible's Postgres store, table `login_throttle` made by the
 * accounts migration), so every API process sees the same counts. Past a limit, logins for that key
 * answer 429 with Retry-After until the window ends — whether the password would have been right or not.
 */
export interface LoginThrottle {
  /** Seconds to wait when this account or address is blocked; 0 when a login may be tried. */
  blockedFor(email: string, address: string): Promise<number>;
  recordFailure(email: string, address: string): Promise<void>;
  recordSuccess(email: string): Promise<void>;
}

export function createLoginThrottle(db: Knex, limits: { perAccount: number; perAddress: number; windowSeconds: number }): LoginThrottle {
  const options = { storeClient: db, storeType: 'knex', tableName: 'login_throttle', tableCreated: true, duration: limits.windowSeconds };
  const perAccount = new RateLimiterPostgres({ ...options, keyPrefix: 'account', points: limits.perAccount });
  const perAddress = new RateLimiterPostgres({ ...options, keyPrefix: 'address', points: limits.perAddress });
  const accountKey = (email: string) => email.trim().toLowerCase();

  async function remainingBlock(limiter: RateLimiterPostgres, key: string, points: number): Promise<number> {
    const state = await limiter.get(key);
    if (!state || state.consumedPoints < points) return 0;
    return Math.max(1, Math.ceil(state.msBeforeNext / 1000));
  }

  return {
    async blockedFor(email, address) {
      const [account, client] = await Promise.all([
        remainingBlock(perAccount, accountKey(email), limits.perAccount),
        remainingBlock(perAddress, address, limits.perAddress),
      ]);
      return Math.max(account, client);
    },
    async recordFailure(email, address) {
      await Promise.all([
        perAccount.consume(accountKey(email)).catch(ignoreLimitReached),
        perAddress.consume(address).catch(ignoreLimitReached),
      ]);
    },
    async recordSuccess(email) {
      await perAccount.delete(accountKey(email));
    },
  };
}

// consume() rejects with the limiter's state once the limit is reached: that is counted, not an error.
function ignoreLimitReached(error: unknown): void {
  if (!(error instanceof RateLimiterRes)) throw error;
}

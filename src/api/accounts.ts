import type { Knex } from 'knex';
import { addMembership, acceptInvitations, findUser, findUserByEmail, hasOpenInvitation, insertUser, type UserRow } from '../accounts/queries.ts';
import { createSessions, type IssuedSession } from '../accounts/sessions.ts';
import { createLoginThrottle } from '../accounts/throttle.ts';
import { decoyHash, hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, verifyPassword } from '../auth/passwords.ts';
import type { TokenSigner } from '../auth/tokens.ts';
import type { EventFlowConfig } from '../config.ts';
import { insertProject } from '../projects/queries.ts';
import { ApiError } from './errors.ts';

// Sign-up, log-in, refresh and log-out, for REST (src/api/routes/auth.ts) and GraphQL alike: the same
// rules, the same throttle, the same errors. Input shapes are checked by the callers with these schemas.

const EMAIL = { type: 'string', format: 'email', maxLength: 254 } as const;
const PASSWORD = { type: 'string', minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH } as const;

export interface Registration {
  email: string;
  password: string;
  name: string;
}
export const REGISTRATION_FIELDS = { email: EMAIL, password: PASSWORD, name: { type: 'string', minLength: 1, maxLength: 200 } } as const;

export interface Credentials {
  email: string;
  password: string;
}
// No length rules on a login's password: a wrong one must fail like any other wrong one.
export const CREDENTIAL_FIELDS = {
  email: { type: 'string', minLength: 1, maxLength: 254 },
  password: { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_LENGTH },
} as const;

export interface SignedIn {
  user: Pick<UserRow, 'id' | 'email' | 'name'>;
  session: IssuedSession;
}

export function createAccounts(db: Knex, config: Pick<EventFlowConfig, 'auth'>, signer: TokenSigner) {
  const sessions = createSessions(db, signer, config.auth.refreshTokenTtlSeconds);
  const throttle = createLoginThrottle(db, {
    perAccount: config.auth.maxFailuresPerAccount,
    perAddress: config.auth.maxFailuresPerAddress,
    windowSeconds: config.auth.failureWindowSeconds,
  });

  async function register({ email, password, name }: Registration): Promise<SignedIn> {
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
    return created;
  }

  /** `address` is the client's, for the per-address failure limit. */
  async function login({ email, password }: Credentials, address: string): Promise<SignedIn> {
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
    return { user, session: await sessions.start(user) };
  }

  /** Rotates the refresh token; a reused one revokes its whole family (every session of that login). */
  async function refresh(token: string): Promise<SignedIn> {
    const outcome = await sessions.refresh(token);
    if (!outcome.ok) {
      if (outcome.reason === 'reused') {
        throw new ApiError(401, 'refresh_token_reused', 'this refresh token was already used: every session of this login is revoked; log in again');
      }
      throw new ApiError(401, 'invalid_refresh_token', `the refresh token is ${outcome.reason === 'unknown' ? 'unknown' : outcome.reason}; log in again`);
    }
    const user = await findUser(db, outcome.userId);
    if (!user) throw new ApiError(401, 'invalid_refresh_token', 'the account no longer exists');
    return { user, session: outcome.session };
  }

  return { register, login, refresh, logout: (token: string) => sessions.revoke(token) };
}

export type Accounts = ReturnType<typeof createAccounts>;

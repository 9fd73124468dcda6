import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { hashRefreshToken, newRefreshToken, type TokenSigner } from '../auth/tokens.ts';
import type { UserRow } from './queries.ts';

/** What a login, a registration or a refresh hands the client. */
export interface IssuedSession {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

export type RefreshOutcome =
  | { ok: true; userId: string; session: IssuedSession }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' | 'reused' };

/**
 * Sessions: a short-lived access token plus an opaque refresh token that is rotated on every use. The
 * tokens of one login form a family; presenting a token that was already rotated means it leaked (or a
 * race lost), so the whole family is revoked and every holder must log in again.
 */
export function createSessions(db: Knex, signer: TokenSigner, refreshTtlSeconds: number) {
  async function issue(trx: Knex | Knex.Transaction, user: Pick<UserRow, 'id' | 'email'>, familyId: string): Promise<IssuedSession> {
    const { token: refreshToken, hash } = newRefreshToken();
    const refreshTokenExpiresAt = new Date(Date.now() + refreshTtlSeconds * 1000);
    await trx('refresh_tokens').insert({ id: uuidv7(), user_id: user.id, family_id: familyId, token_hash: hash, expires_at: refreshTokenExpiresAt });
    const access = await signer.sign({ sub: user.id, email: user.email });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, refreshTokenExpiresAt };
  }

  return {
    /** A new family (a login or a registration). */
    start(user: Pick<UserRow, 'id' | 'email'>, trx: Knex | Knex.Transaction = db): Promise<IssuedSession> {
      return issue(trx, user, uuidv7());
    },

    async refresh(token: string): Promise<RefreshOutcome> {
      return db.transaction(async (trx) => {
        const row = await trx('refresh_tokens as t')
          .join('users as u', 'u.id', 't.user_id')
          .select('t.id', 't.family_id', 't.user_id', 't.expires_at', 't.used_at', 't.revoked_at', 'u.email')
          .where('t.token_hash', hashRefreshToken(token))
          .forUpdate()
          .first();
        if (!row) return { ok: false, reason: 'unknown' } as const;
        if (row.revoked_at) return { ok: false, reason: 'revoked' } as const;
        if (row.used_at) {
          await trx('refresh_tokens').where('family_id', row.family_id).whereNull('revoked_at').update({ revoked_at: trx.fn.now() });
          return { ok: false, reason: 'reused' } as const;
        }
        if (row.expires_at <= new Date()) return { ok: false, reason: 'expired' } as const;
        await trx('refresh_tokens').where('id', row.id).update({ used_at: trx.fn.now() });
        return { ok: true, userId: row.user_id, session: await issue(trx, { id: row.user_id, email: row.email }, row.family_id) } as const;
      });
    },

    /** Ends the login the token belongs to (its whole family). Unknown tokens are ignored. */
    async revoke(token: string): Promise<void> {
      const row = await db('refresh_tokens').select('family_id').where('token_hash', hashRefreshToken(token)).first();
      if (row) await db('refresh_tokens').where('family_id', row.family_id).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;

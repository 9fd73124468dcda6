import { createHash, createHmac, randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';

// Access tokens: short-lived JWTs signed with HS256 by the API's own secret. The algorithm is pinned on
// verification, so `alg: none` and key-confusion tokens (an RS256 public key used as an HMAC secret) are
// refused whatever their header says. Refresh tokens are opaque random strings, stored only as SHA-256.

export const ACCESS_TOKEN_ALGORITHM = 'HS256';
const ISSUER = 'eventflow';
const AUDIENCE = 'eventflow-api';

export interface AccessClaims {
  /** The user id. */
  sub: string;
  email: string;
}

export interface TokenSigner {
  sign(claims: AccessClaims): Promise<{ token: string; expiresAt: Date }>;
  /** The claims of a valid token, or undefined for anything else (expired, tampered, wrong algorithm…). */
  verify(token: string): Promise<AccessClaims | undefined>;
}

export function createTokenSigner(secret: string, ttlSeconds: number): TokenSigner {
  const key = new TextEncoder().encode(secret);
  return {
    async sign(claims) {
      const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
      const token = await new SignJWT({ email: claims.email })
        .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
        .sign(key);
      return { token, expiresAt };
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: [ACCESS_TOKEN_ALGORITHM], issuer: ISSUER, audience: AUDIENCE });
        if (typeof payload.sub !== 'string' || typeof payload.email !== 'string') return undefined;
        return { sub: payload.sub, email: payload.email };
      } catch (error) {
        if (error instanceof errors.JOSEError) return undefined;
        throw error;
      }
    },
  };
}

/** A new opaque refresh token (shown to the client once) and the hash that is stored. */
export function newRefreshToken(): { token: string; hash: Buffer } {
  const token = `efr_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * The HMAC secret of access tokens: AUTH_JWT_SECRET, or one derived from the root admin key, which every
 * API process of a deployment already shares (rotating that key then ends every session). Without
 * either (an API started by hand in a test), a random one: tokens then work in this process only.
 */
export function accessTokenSecret(config: { jwtSecret: string | undefined; adminKey: string | undefined }): string {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.adminKey) return createHmac('sha256', config.adminKey).update('eventflow access tokens').digest('base64url');
  return randomBytes(32).toString('base64url');
}

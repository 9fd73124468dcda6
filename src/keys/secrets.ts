import { createHash, randomBytes } from 'node:crypto';

// API keys are 32 random bytes, so a plain SHA-256 (no salt, no slow KDF) cannot be brute-forced and
// keeps the lookup a single indexed equality on `key_hash`.
const KEY_PREFIX = 'efk_';

export function generateKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * The part of a key shown in listings so people can tell keys apart. For generated keys that is the
 * `efk_` marker plus 8 random characters (48 of 256 bits); an operator-chosen root key of unknown
 * strength shows at most a quarter of itself.
 */
export function keyPrefix(key: string): string {
  if (key.startsWith(KEY_PREFIX)) return key.slice(0, KEY_PREFIX.length + 8);
  return key.slice(0, Math.min(8, Math.floor(key.length / 4)));
}

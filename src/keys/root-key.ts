import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { hashKey, keyPrefix } from './secrets.ts';

export const ROOT_PROJECT_NAME = 'default';
// Serialises concurrent boots (several API replicas, parallel test files) so there is one default project.
const ROOT_KEY_LOCK = 0x4546_524f_4f54n; // "EFROOT"

export interface RootKeyOptions {
  /**
   * Revoke root keys other than this one. The API's boot does (the configured key is the one root key, so
   * rotating EVENTFLOW_ADMIN_KEY retires the old one); test stacks sharing a database don't.
   */
  revokeOtherRootKeys: boolean;
}

export interface RootKey {
  projectId: string;
  keyId: string;
  revokedOthers: number;
}

/**
 * Makes sure the configured instance-admin key exists as the root key of the default project. Idempotent:
 * only the key's hash is stored, keyed by that hash, and a re-configured key that had been revoked is
 * re-activated because the configuration is the authority on the root key.
 */
export async function ensureRootKey(db: Knex, key: string, options: RootKeyOptions): Promise<RootKey> {
  const keyHash = hashKey(key);
  return db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?::bigint)', [ROOT_KEY_LOCK.toString()]);
    const existing = await trx('api_keys').select('id', 'project_id', 'is_root').where('key_hash', keyHash).first();
    if (existing && !existing.is_root) {
      throw new Error('the configured admin key equals an existing project key; choose a different EVENTFLOW_ADMIN_KEY');
    }

    let projectId: string | undefined = existing?.project_id;
    if (!projectId) {
      const anyRoot = await trx('api_keys').select('project_id').where('is_root', true).orderBy('created_at').first();
      projectId = anyRoot?.project_id as string | undefined;
    }
    if (!projectId) {
      projectId = uuidv7();
      await trx('projects').insert({ id: projectId, name: ROOT_PROJECT_NAME });
    }

    let keyId: string;
    if (existing) {
      keyId = existing.id;
      await trx('api_keys').update({ revoked_at: null }).where('id', keyId);
    } else {
      keyId = uuidv7();
      await trx('api_keys').insert({
        id: keyId,
        project_id: projectId,
        kind: 'admin',
        is_root: true,
        name: 'root',
        key_hash: keyHash,
        key_prefix: keyPrefix(key),
      });
    }

    const revokedOthers = options.revokeOtherRootKeys
      ? await trx('api_keys')
          .update({ revoked_at: trx.fn.now() })
          .where('is_root', true)
          .whereNot('id', keyId)
          .whereNull('revoked_at')
      : 0;
    return { projectId, keyId, revokedOthers };
  });
}

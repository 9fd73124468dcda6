import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import { generateKey, hashKey, keyPrefix } from './secrets.ts';

import type { Principal } from '../auth/principal.ts';
import type { KeyKind } from '../auth/policy.ts';

export type { KeyKind };

export interface KeyRow {
  id: string;
  kind: KeyKind;
  name: string | null;
  prefix: string;
  is_root: boolean;
  created_at: Date;
  revoked_at: Date | null;
}

export interface CreatedKey extends KeyRow {
  /** The clear key: returned once, at creation, and never stored. */
  key: string;
}

export async function findActiveKey(db: Knex, keyHash: Buffer): Promise<Principal | undefined> {
  const row = await db('api_keys')
    .select('id', 'project_id', 'kind', 'is_root')
    .where('key_hash', keyHash)
    .whereNull('revoked_at')
    .first();
  return row
    ? { keyId: row.id, projectId: row.project_id, kind: row.kind, standing: { kind: 'key', keyKind: row.kind }, isRoot: row.is_root }
    : undefined;
}

const KEY_COLUMNS = ['id', 'kind', 'name', 'key_prefix as prefix', 'is_root', 'created_at', 'revoked_at'];

export async function createKey(
  db: Knex,
  projectId: string,
  kind: KeyKind,
  name: string | null,
): Promise<CreatedKey> {
  const key = generateKey();
  const [row] = await db('api_keys')
    .insert({ id: uuidv7(), project_id: projectId, kind, name, key_hash: hashKey(key), key_prefix: keyPrefix(key) })
    .returning(KEY_COLUMNS);
  return { ...(row as KeyRow), key };
}

export async function listKeys(db: Knex, projectId: string): Promise<KeyRow[]> {
  return db('api_keys').select(KEY_COLUMNS).where('project_id', projectId).orderBy('created_at').orderBy('id');
}

export async function findKey(db: Knex, projectId: string, keyId: string): Promise<(KeyRow & { key_hash: Buffer }) | undefined> {
  return db('api_keys').select([...KEY_COLUMNS, 'key_hash']).where({ project_id: projectId, id: keyId }).first();
}

/** Idempotent: revoking a revoked key keeps its original revocation time. */
export async function revokeKey(db: Knex, projectId: string, keyId: string): Promise<void> {
  await db('api_keys').update({ revoked_at: db.fn.now() }).where({ project_id: projectId, id: keyId }).whereNull('revoked_at');
}

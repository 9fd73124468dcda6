import type { Knex } from 'knex';

export interface SchemaVersionRow {
  type: string;
  version: number;
  schema: object;
  created_at: Date;
}

const COLUMNS = ['event_type as type', 'version', 'schema', 'created_at'];

export type StoredSchema = { created: boolean } & SchemaVersionRow;

/**
 * Stores `schema` as the type's next version unless it equals the latest one (jsonb equality ignores key
 * order and whitespace). A per-(project, type) advisory lock makes concurrent PUTs take turns instead of
 * colliding on the version number.
 */
export async function storeSchemaVersion(db: Knex, projectId: string, type: string, schema: object): Promise<StoredSchema> {
  return db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`event_schemas:${projectId}:${type}`]);
    const latest = await latestVersion(trx, projectId, type);
    if (latest) {
      const same = await trx.raw('SELECT ?::jsonb = ?::jsonb AS same', [JSON.stringify(latest.schema), JSON.stringify(schema)]);
      if (same.rows[0].same) return { created: false, ...latest };
    }
    const [row] = await trx('event_schemas')
      .insert({ project_id: projectId, event_type: type, version: (latest?.version ?? 0) + 1, schema: JSON.stringify(schema) })
      .returning(COLUMNS);
    return { created: true, ...(row as SchemaVersionRow) };
  });
}

async function latestVersion(db: Knex, projectId: string, type: string): Promise<SchemaVersionRow | undefined> {
  return db('event_schemas')
    .select(COLUMNS)
    .where({ project_id: projectId, event_type: type })
    .orderBy('version', 'desc')
    .first();
}

export async function listLatestSchemas(db: Knex, projectId: string): Promise<SchemaVersionRow[]> {
  return db('event_schemas')
    .distinctOn('event_type')
    .select(COLUMNS)
    .where('project_id', projectId)
    .orderBy([{ column: 'event_type' }, { column: 'version', order: 'desc' }]);
}

/** Every version of a type, oldest first. */
export async function listSchemaVersions(db: Knex, projectId: string, type: string): Promise<SchemaVersionRow[]> {
  return db('event_schemas').select(COLUMNS).where({ project_id: projectId, event_type: type }).orderBy('version');
}

import knex, { type Knex } from 'knex';
import pg from 'pg';
import { fileURLToPath } from 'node:url';

// Return BIGINT counts (COUNT(*)) as numbers: event counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export const MIGRATIONS_DIRECTORY = fileURLToPath(new URL('../../migrations', import.meta.url));

export function createDatabase(connectionString: string, poolSize = 10): Knex {
  return knex({
    client: 'pg',
    connection: connectionString,
    pool: { min: 0, max: poolSize },
    migrations: { directory: MIGRATIONS_DIRECTORY, loadExtensions: ['.ts'], tableName: 'knex_migrations' },
  });
}

export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}

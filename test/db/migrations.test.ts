import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { createDatabase } from '../../src/db/connection.ts';

// Runs in a database of its own so rolling back cannot disturb the schema other tests use.
let admin: Knex;
let scratch: Knex;
const databaseName = `eventflow_migrations_${randomUUID().replaceAll('-', '')}`;

before(async () => {
  admin = createDatabase(process.env.DATABASE_URL as string, 1);
  await admin.raw(`CREATE DATABASE ${databaseName}`);
  const url = new URL(process.env.DATABASE_URL as string);
  url.pathname = `/${databaseName}`;
  scratch = createDatabase(url.toString(), 2);
});

after(async () => {
  await scratch.destroy();
  await admin.raw(`DROP DATABASE IF EXISTS ${databaseName}`);
  await admin.destroy();
});

async function tables(db: Knex): Promise<string[]> {
  const result = await db.raw(
    `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'knex_%' ORDER BY tablename`,
  );
  return result.rows.map((row: { tablename: string }) => row.tablename);
}

test('migrations go up, all the way down, and up again on real Postgres', async () => {
  await scratch.migrate.latest();
  const afterUp = await tables(scratch);
  assert.ok(afterUp.includes('events'));
  assert.ok(afterUp.includes('delivery_attempts'));

  await scratch.migrate.rollback(undefined, true);
  assert.deepEqual(await tables(scratch), []);

  await scratch.migrate.latest();
  assert.deepEqual(await tables(scratch), afterUp);
  const [completed] = (await scratch.migrate.list()) as [unknown[], unknown[]];
  assert.ok(completed.length >= 2);
});

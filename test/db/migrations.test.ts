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

/** Every row of every table, keyed by table, in a stable order: what "the data survived" compares. */
async function snapshot(db: Knex): Promise<Record<string, Array<Record<string, unknown>>>> {
  const result: Record<string, Array<Record<string, unknown>>> = {};
  for (const table of await tables(db)) {
    result[table] = (await db.raw(`SELECT to_jsonb(t) AS row FROM ${table} t ORDER BY to_jsonb(t)::text`)).rows.map((r: { row: Record<string, unknown> }) => r.row);
  }
  return result;
}

/** One row in each table that earlier migrations made and later ones alter or build on. */
async function seed(db: Knex): Promise<void> {
  const projectId = randomUUID();
  await db('projects').insert({ id: projectId, name: 'survivor' });
  await db('api_keys').insert({ id: randomUUID(), project_id: projectId, kind: 'write', key_hash: Buffer.alloc(32, 7), key_prefix: 'efk_write_abc' });
  await db('events').insert({
    project_id: projectId, id: 'evt-1', type: 'signup', timestamp: new Date('2026-01-02T03:04:05Z'),
    received_at: new Date('2026-01-02T03:04:06Z'), properties: { plan: 'pro' }, batch_id: 'batch-1',
  });
  await db('batches').insert({ id: 'batch-1', project_id: projectId, workflow_id: 'wf-1', summary: { accepted: 1 }, received_at: new Date() });
  await db('webhook_endpoints').insert({ id: randomUUID(), project_id: projectId, url: 'https://example.test/hook', event_types: ['*'], secret: 'whsec_x' });
}

/** `rows` cut down to the columns `like` has (all rows of a table share their columns). */
function onColumnsOf(like: Array<Record<string, unknown>>, rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  if (like.length === 0) return rows;
  const columns = Object.keys(like[0]!);
  return rows.map((row) => Object.fromEntries(columns.map((column) => [column, row[column]])));
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

test('rolling back one migration at a time keeps the data of the tables that remain, and going up again keeps it too', async () => {
  await scratch.migrate.latest();
  await seed(scratch);
  const before = await snapshot(scratch);
  const [completed] = (await scratch.migrate.list()) as [Array<{ name: string }>, unknown[]];
  // Down to the first migration, step by step: every table still there holds exactly what it held.
  for (let step = completed.length - 1; step >= 1; step--) {
    await scratch.migrate.down();
    const now = await snapshot(scratch);
    // A column a migration added goes with it; every other value stays.
    for (const [table, rows] of Object.entries(now)) assert.deepEqual(rows, onColumnsOf(rows, before[table]!), `${table} after undoing migration ${step + 1}`);
    assert.ok(Object.values(now).some((rows) => rows.length > 0), 'the seeded rows are still there to compare');
  }
  const bottom = await snapshot(scratch);
  assert.equal(bottom.projects.length, 1, 'the first migration\'s tables kept their rows all the way down');
  await scratch.migrate.latest();
  const after = await snapshot(scratch);
  for (const [table, rows] of Object.entries(bottom)) assert.deepEqual(onColumnsOf(rows, after[table]!), rows, `${table} after going up again`);
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
});

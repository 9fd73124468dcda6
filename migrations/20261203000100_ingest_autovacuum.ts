import type { Knex } from 'knex';

// Accepted requests are deleted as soon as their run has stored them, so ingest_requests is a queue:
// every row is dead minutes after it was born. Postgres' default autovacuum waits for 20 % of the table
// to be dead, and a sustained single-event load (tens of thousands of rows a minute) grows the table
// and its indexes far past their live size before that. Vacuuming at 1 % (plus a floor) and without the
// cost delay keeps the space reused instead of grown.
const QUEUE_TABLES = ['ingest_requests', 'ingest_runs'];

export async function up(knex: Knex): Promise<void> {
  for (const table of QUEUE_TABLES) {
    await knex.raw(
      `ALTER TABLE ${table} SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
       autovacuum_vacuum_cost_delay = 0, autovacuum_vacuum_insert_scale_factor = 0.01)`,
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of QUEUE_TABLES) {
    await knex.raw(
      `ALTER TABLE ${table} RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay,
       autovacuum_vacuum_insert_scale_factor)`,
    );
  }
}

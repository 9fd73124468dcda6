import type { Knex } from 'knex';

// Acceptance is a durable write here, not a workflow start: each accepted request is one row of
// `ingest_requests` (its events as one JSON array), committed before the API answers 202. The rows are
// also the outbox: a run starter claims unassigned requests into `ingest_runs`, starts one workflow per
// run with a reference to them, and the run's persist step deletes both in the transaction that stores
// the events, so neither table grows with the event volume.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ingest_requests', (table) => {
    // Acceptance order, for fair claiming; bigserial so it never wraps.
    table.bigIncrements('seq', { primaryKey: false });
    table.primary(['seq'], { constraintName: 'ingest_requests_pkey' });
    table.text('batch_id').notNullable().unique({ indexName: 'ingest_requests_batch_id_unique' });
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    // The task queue of the API that accepted it: only starters serving that queue claim it.
    table.text('task_queue').notNullable();
    table.timestamp('received_at', { useTz: true }).notNullable();
    table.timestamp('sent_at', { useTz: true });
    table.jsonb('client').notNullable().defaultTo('{}');
    table.jsonb('events').notNullable();
    table.integer('event_count').notNullable();
    // SHA-256 of the events as accepted: a run's reference carries the digest of its requests' digests.
    table.binary('digest').notNullable();
    table.text('run_id');
    // The accepting request's W3C traceparent: the run's start continues that trace.
    table.text('traceparent');
  });
  await knex.raw('CREATE INDEX ingest_requests_unassigned_idx ON ingest_requests (task_queue, seq) WHERE run_id IS NULL');
  await knex.raw('CREATE INDEX ingest_requests_run_idx ON ingest_requests (run_id, seq) WHERE run_id IS NOT NULL');

  await knex.schema.createTable('ingest_runs', (table) => {
    table.text('id').primary({ constraintName: 'ingest_runs_pkey' });
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    table.integer('request_count').notNullable();
    table.integer('event_count').notNullable();
    table.binary('digest').notNullable();
    table.text('task_queue').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Null until Temporal confirmed the run's workflow; the starter's sweep restarts runs left null.
    table.timestamp('started_at', { useTz: true });
  });
  await knex.raw('CREATE INDEX ingest_runs_unstarted_idx ON ingest_runs (task_queue, created_at) WHERE started_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('ingest_runs');
  await knex.schema.dropTable('ingest_requests');
}

import type { Knex } from 'knex';

// What an event's timeline (GET /v1/events/:id/timeline) reads that was not kept before: the trace of
// the request that accepted each batch (the batch's spans are found in Jaeger by it), and rejected
// events by id (a rejected event has no `events` row to open, only its rejection).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('batches', (table) => {
    table.text('trace_id');
  });
  await knex.raw('CREATE INDEX rejected_events_event_idx ON rejected_events (project_id, event_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX rejected_events_event_idx');
  await knex.schema.alterTable('batches', (table) => {
    table.dropColumn('trace_id');
  });
}

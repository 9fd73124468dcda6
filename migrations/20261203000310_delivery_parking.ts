import type { Knex } from 'knex';

// A delivery's row keeps only where it stands now; an event's timeline also shows where it has been:
// when it was last parked as a dead letter and when it was last replayed (and how often).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (table) => {
    table.timestamp('parked_at', { useTz: true });
    table.timestamp('replayed_at', { useTz: true });
    table.integer('replays').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (table) => {
    table.dropColumn('parked_at');
    table.dropColumn('replayed_at');
    table.dropColumn('replays');
  });
}

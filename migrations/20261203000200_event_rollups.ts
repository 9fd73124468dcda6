import type { Knex } from 'knex';

// Stats without scanning events: per project, hourly counts by type and the set of known user ids,
// maintained by the statement that stores events (activities/persist.ts) and filled here from what is
// already stored.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('event_counts_hourly', (table) => {
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    // The UTC hour of the events' (skew-corrected) timestamps.
    table.timestamp('hour', { useTz: true }).notNullable();
    table.text('type').notNullable();
    table.bigInteger('count').notNullable();
    table.primary(['project_id', 'hour', 'type'], { constraintName: 'event_counts_hourly_pkey' });
  });
  await knex.schema.createTable('project_users', (table) => {
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    table.text('user_id').notNullable();
    table.primary(['project_id', 'user_id'], { constraintName: 'project_users_pkey' });
  });
  await knex.raw(
    `INSERT INTO event_counts_hourly (project_id, hour, type, count)
     SELECT project_id, date_trunc('hour', timestamp, 'UTC'), type, count(*) FROM events GROUP BY 1, 2, 3`,
  );
  await knex.raw(`INSERT INTO project_users (project_id, user_id) SELECT DISTINCT project_id, user_id FROM events WHERE user_id IS NOT NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('project_users');
  await knex.schema.dropTable('event_counts_hourly');
}

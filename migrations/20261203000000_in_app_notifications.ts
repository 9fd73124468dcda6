import type { Knex } from 'knex';

// In-app notifications, the third delivery channel: a notification rule may now notify members of the
// project (by role or by email) in the app instead of mailing addresses. Each (rule, event, user) is one
// notification row, so a retried or replayed delivery inserts nothing twice.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('notification_rules', (table) => {
    table.text('channel').notNullable().defaultTo('email');
    table.specificType('recipient_roles', 'text[]').notNullable().defaultTo('{}');
  });
  await knex.raw(`ALTER TABLE notification_rules ADD CONSTRAINT notification_rules_channel_check CHECK (channel IN ('email', 'in_app'))`);

  await knex.schema.createTable('notifications', (table) => {
    // UUIDv7: ids sort by creation, so they double as the stream's Last-Event-ID position.
    table.uuid('id').primary({ constraintName: 'notifications_pkey' });
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.uuid('rule_id').notNullable();
    table.text('event_id').notNullable();
    table.text('event_type').notNullable();
    table.text('title').notNullable();
    table.text('body').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('read_at', { useTz: true });
    table.unique(['rule_id', 'event_id', 'user_id'], { indexName: 'notifications_once_per_user' });
  });
  // A user's feed in one project: unread first, newest first; and the unread count.
  await knex.raw('CREATE INDEX notifications_feed_idx ON notifications (user_id, project_id, id DESC)');
  await knex.raw('CREATE INDEX notifications_unread_idx ON notifications (user_id, project_id) WHERE read_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('notifications');
  await knex('notification_rules').where('channel', 'in_app').delete();
  await knex.raw('ALTER TABLE notification_rules DROP CONSTRAINT notification_rules_channel_check');
  await knex.schema.alterTable('notification_rules', (table) => {
    table.dropColumn('recipient_roles');
    table.dropColumn('channel');
  });
}

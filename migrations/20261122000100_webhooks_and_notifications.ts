import type { Knex } from 'knex';

// Outbound deliveries: webhook endpoints, email notification rules, and the attempt log for both.
// Dead letters themselves live in Temporal (a parked workflow per delivery); `deliveries` only mirrors
// the state of deliveries that needed durable tracking, so the API can list and filter them cheaply.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (table) => {
    table.uuid('id').primary({ constraintName: 'webhook_endpoints_pkey' });
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    table.text('url').notNullable();
    table.specificType('event_types', 'text[]').notNullable();
    table.text('description');
    table.boolean('enabled').notNullable().defaultTo(true);
    table.jsonb('headers').notNullable().defaultTo('{}');
    // Per-endpoint override of the retry schedule (seconds between attempts); null = global default.
    table.specificType('retry_schedule', 'integer[]');
    // Kept in clear because every delivery is signed with it; shown to the owner only at creation/rotation.
    table.text('secret').notNullable();
    table.text('previous_secret');
    table.timestamp('previous_secret_expires_at', { useTz: true });
    table.timestamp('failing_since', { useTz: true });
    table.text('disabled_reason');
    table.timestamp('disabled_at', { useTz: true });
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['project_id', 'enabled'], 'webhook_endpoints_project_enabled_idx');
  });

  await knex.schema.createTable('notification_rules', (table) => {
    table.uuid('id').primary({ constraintName: 'notification_rules_pkey' });
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    table.specificType('event_types', 'text[]').notNullable();
    // Fixed addresses, and/or a dotted path into the event (e.g. `properties.email`) holding one.
    table.specificType('recipients', 'text[]').notNullable().defaultTo('{}');
    table.text('recipient_property');
    table.text('subject_template').notNullable();
    table.text('body_template').notNullable();
    table.boolean('enabled').notNullable().defaultTo(true);
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['project_id', 'enabled'], 'notification_rules_project_enabled_idx');
  });

  await knex.schema.createTable('delivery_attempts', (table) => {
    table.bigIncrements('id').primary({ constraintName: 'delivery_attempts_pkey' });
    table.uuid('project_id').notNullable();
    table.text('channel').notNullable(); // 'webhook' | 'email'
    table.uuid('target_id').notNullable(); // endpoint id or notification rule id
    table.text('event_id').notNullable();
    table.text('delivery_id').notNullable(); // the webhook-id: stable across retries and replays
    table.integer('attempt').notNullable();
    table.timestamp('attempted_at', { useTz: true }).notNullable();
    table.integer('status_code');
    table.integer('duration_ms').notNullable();
    table.text('response_excerpt');
    table.text('error');
    table.text('outcome').notNullable(); // 'delivered' | 'retryable' | 'permanent'
    table.text('trace_id');
    table.index(['project_id', 'target_id', 'id'], 'delivery_attempts_target_idx');
    table.index(['project_id', 'event_id'], 'delivery_attempts_event_idx');
  });

  await knex.schema.createTable('deliveries', (table) => {
    table.text('delivery_id').primary({ constraintName: 'deliveries_pkey' });
    table.uuid('project_id').notNullable();
    table.text('channel').notNullable();
    table.uuid('target_id').notNullable();
    table.text('event_id').notNullable();
    table.text('event_type').notNullable();
    table.text('workflow_id').notNullable();
    // 'retrying' | 'dead_lettered' | 'delivered' | 'discarded' | 'expired'
    table.text('status').notNullable();
    table.text('last_error');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['project_id', 'status', 'updated_at'], 'deliveries_project_status_idx');
    // GET /v1/events/:id/deliveries lists an event's deliveries across all targets.
    table.index(['project_id', 'event_id'], 'deliveries_project_event_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('deliveries');
  await knex.schema.dropTable('delivery_attempts');
  await knex.schema.dropTable('notification_rules');
  await knex.schema.dropTable('webhook_endpoints');
}

import type { Knex } from 'knex';

// Tenancy, keys, schemas, events and batches. Every event-bearing row carries its project so every query
// can be scoped by the caller's project through the leading column of a primary key or index.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('projects', (table) => {
    table.uuid('id').primary({ constraintName: 'projects_pkey' });
    table.text('name').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('api_keys', (table) => {
    table.uuid('id').primary({ constraintName: 'api_keys_pkey' });
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    // 'admin' manages its project; 'write' may only ingest. `is_root` marks the instance admin key.
    table.text('kind').notNullable();
    table.boolean('is_root').notNullable().defaultTo(false);
    table.text('name');
    // SHA-256 of the key: keys are high-entropy random strings, so a fast hash is enough and keeps
    // the per-request lookup cheap. The clear key is shown once, at creation.
    table.binary('key_hash').notNullable().unique({ indexName: 'api_keys_key_hash_unique' });
    table.text('key_prefix').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('revoked_at', { useTz: true });
    table.index(['project_id'], 'api_keys_project_idx');
  });
  await knex.raw(`ALTER TABLE api_keys ADD CONSTRAINT api_keys_kind_check CHECK (kind IN ('admin', 'write'))`);

  await knex.schema.createTable('event_schemas', (table) => {
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    table.text('event_type').notNullable();
    table.integer('version').notNullable();
    table.jsonb('schema').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.primary(['project_id', 'event_type', 'version'], { constraintName: 'event_schemas_pkey' });
  });

  await knex.schema.createTable('events', (table) => {
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    table.text('id').notNullable();
    table.text('type').notNullable();
    table.text('user_id');
    table.text('anonymous_id');
    table.timestamp('timestamp', { useTz: true }).notNullable();
    table.timestamp('original_timestamp', { useTz: true });
    table.timestamp('sent_at', { useTz: true });
    table.timestamp('received_at', { useTz: true }).notNullable();
    table.jsonb('properties').notNullable().defaultTo('{}');
    table.jsonb('context').notNullable().defaultTo('{}');
    table.jsonb('enrichment').notNullable().defaultTo('{}');
    table.text('batch_id').notNullable();
    table.timestamp('stored_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.primary(['project_id', 'id'], { constraintName: 'events_pkey' });
    table.index(['project_id', 'timestamp', 'id'], 'events_project_timestamp_idx');
    table.index(['project_id', 'type', 'timestamp'], 'events_project_type_timestamp_idx');
    table.index(['project_id', 'user_id', 'timestamp'], 'events_project_user_timestamp_idx');
  });

  await knex.schema.createTable('rejected_events', (table) => {
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    table.text('batch_id').notNullable();
    table.text('event_id').notNullable();
    table.text('type').notNullable();
    table.jsonb('reasons').notNullable();
    table.jsonb('payload').notNullable();
    table.timestamp('rejected_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.primary(['project_id', 'batch_id', 'event_id'], { constraintName: 'rejected_events_pkey' });
    table.index(['project_id', 'rejected_at'], 'rejected_events_project_time_idx');
  });

  await knex.schema.createTable('batches', (table) => {
    table.text('id').primary({ constraintName: 'batches_pkey' });
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    table.text('workflow_id').notNullable();
    table.jsonb('summary').notNullable();
    table.timestamp('received_at', { useTz: true }).notNullable();
    table.timestamp('completed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.index(['project_id', 'completed_at'], 'batches_project_completed_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('batches');
  await knex.schema.dropTable('rejected_events');
  await knex.schema.dropTable('events');
  await knex.schema.dropTable('event_schemas');
  await knex.schema.dropTable('api_keys');
  await knex.schema.dropTable('projects');
}

import type { Knex } from 'knex';

// People: users log in (passwords hashed with scrypt, src/auth/passwords.ts) and work in projects with a
// role (src/auth/policy.ts). Refresh tokens are opaque, stored hashed, rotated on every use; a family
// links a login's successive tokens, so the reuse of a spent one revokes the whole family.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (table) => {
    table.uuid('id').primary({ constraintName: 'users_pkey' });
    // Kept as typed; uniqueness and look-ups are case-insensitive through the index on lower(email).
    table.text('email').notNullable();
    table.text('name').notNullable();
    table.text('password_hash').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE UNIQUE INDEX users_email_unique ON users (lower(email))');

  await knex.schema.createTable('memberships', (table) => {
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.text('role').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.primary(['project_id', 'user_id'], { constraintName: 'memberships_pkey' });
    table.index(['user_id'], 'memberships_user_idx');
  });
  await knex.raw(`ALTER TABLE memberships ADD CONSTRAINT memberships_role_check CHECK (role IN ('owner', 'admin', 'developer', 'viewer'))`);

  await knex.schema.createTable('invitations', (table) => {
    table.uuid('id').primary({ constraintName: 'invitations_pkey' });
    table.uuid('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    table.text('email').notNullable();
    table.text('role').notNullable();
    table.uuid('invited_by').references('id').inTable('users').onDelete('SET NULL');
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('accepted_at', { useTz: true });
  });
  await knex.raw('CREATE UNIQUE INDEX invitations_open_unique ON invitations (project_id, lower(email)) WHERE accepted_at IS NULL');
  await knex.raw(`ALTER TABLE invitations ADD CONSTRAINT invitations_role_check CHECK (role IN ('owner', 'admin', 'developer', 'viewer'))`);

  await knex.schema.createTable('refresh_tokens', (table) => {
    table.uuid('id').primary({ constraintName: 'refresh_tokens_pkey' });
    table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.uuid('family_id').notNullable();
    table.binary('token_hash').notNullable().unique({ indexName: 'refresh_tokens_hash_unique' });
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    table.timestamp('expires_at', { useTz: true }).notNullable();
    // Set when rotated: presenting it again is reuse.
    table.timestamp('used_at', { useTz: true });
    table.timestamp('revoked_at', { useTz: true });
    table.index(['family_id'], 'refresh_tokens_family_idx');
  });

  // Failed-login counters (src/accounts/throttle.ts; the layout rate-limiter-flexible's Postgres store uses).
  await knex.schema.createTable('login_throttle', (table) => {
    table.string('key', 255).primary({ constraintName: 'login_throttle_pkey' });
    table.integer('points').notNullable().defaultTo(0);
    table.bigInteger('expire');
  });

  // Read-only API keys join admin and write keys.
  await knex.raw('ALTER TABLE api_keys DROP CONSTRAINT api_keys_kind_check');
  await knex.raw(`ALTER TABLE api_keys ADD CONSTRAINT api_keys_kind_check CHECK (kind IN ('admin', 'write', 'read'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex('api_keys').where('kind', 'read').delete();
  await knex.raw('ALTER TABLE api_keys DROP CONSTRAINT api_keys_kind_check');
  await knex.raw(`ALTER TABLE api_keys ADD CONSTRAINT api_keys_kind_check CHECK (kind IN ('admin', 'write'))`);
  await knex.schema.dropTable('login_throttle');
  await knex.schema.dropTable('refresh_tokens');
  await knex.schema.dropTable('invitations');
  await knex.schema.dropTable('memberships');
  await knex.schema.dropTable('users');
}

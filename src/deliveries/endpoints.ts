import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { WebhookEndpointRow } from './types.ts';

// Every query on `webhook_endpoints`.

/** What the API shows of an endpoint: everything but its secrets. */
export type EndpointView = Omit<WebhookEndpointRow, 'project_id' | 'secret' | 'previous_secret' | 'previous_secret_expires_at'>;
const VIEW_COLUMNS = [
  'id', 'url', 'event_types', 'description', 'enabled', 'headers', 'retry_schedule', 'disabled_reason',
  'disabled_at', 'failing_since', 'created_at', 'updated_at',
] as const;

export type EndpointChanges = Partial<Pick<WebhookEndpointRow, 'url' | 'event_types' | 'description' | 'headers' | 'retry_schedule' | 'enabled'>>;

export async function listEndpoints(db: Knex, projectId: string): Promise<EndpointView[]> {
  return db('webhook_endpoints').select(VIEW_COLUMNS).where({ project_id: projectId }).orderBy([{ column: 'created_at' }, { column: 'id' }]);
}

export async function findEndpoint(db: Knex, projectId: string, id: string): Promise<EndpointView | undefined> {
  return db('webhook_endpoints').select(VIEW_COLUMNS).where({ project_id: projectId, id }).first();
}

/** A new endpoint with its secret — the only answer besides rotation that carries it. */
export async function insertEndpoint(
  db: Knex,
  projectId: string,
  endpoint: Required<Pick<WebhookEndpointRow, 'url' | 'event_types' | 'description' | 'enabled' | 'headers' | 'retry_schedule' | 'secret'>>,
): Promise<EndpointView & { secret: string }> {
  const [row] = await db('webhook_endpoints')
    .insert({
      id: uuidv7(),
      project_id: projectId,
      ...endpoint,
      headers: JSON.stringify(endpoint.headers),
      disabled_reason: endpoint.enabled ? null : 'disabled through the API',
      disabled_at: endpoint.enabled ? null : db.fn.now(),
    })
    .returning([...VIEW_COLUMNS, 'secret']);
  return row;
}

/**
 * Applies an owner's changes. A new URL is a new receiver, and re-enabling is a fresh start: both clear
 * the failing window, so a window that got the old one disabled does not disable the new one.
 */
export async function updateEndpoint(db: Knex, projectId: string, existing: EndpointView, changes: EndpointChanges): Promise<EndpointView | undefined> {
  const update: Record<string, unknown> = { updated_at: db.fn.now() };
  if (changes.url !== undefined && changes.url !== existing.url) Object.assign(update, { url: changes.url, failing_since: null });
  if (changes.event_types !== undefined) update.event_types = changes.event_types;
  if (changes.description !== undefined) update.description = changes.description;
  if (changes.headers !== undefined) update.headers = JSON.stringify(changes.headers);
  if (changes.retry_schedule !== undefined) update.retry_schedule = changes.retry_schedule;
  if (changes.enabled === true && !existing.enabled) {
    Object.assign(update, { enabled: true, disabled_reason: null, disabled_at: null, failing_since: null });
  } else if (changes.enabled === false && existing.enabled) {
    Object.assign(update, { enabled: false, disabled_reason: 'disabled through the API', disabled_at: db.fn.now() });
  }
  const [row] = await db('webhook_endpoints').where({ project_id: projectId, id: existing.id }).update(update).returning(VIEW_COLUMNS);
  return row;
}

export async function deleteEndpoint(db: Knex, projectId: string, id: string): Promise<boolean> {
  return (await db('webhook_endpoints').where({ project_id: projectId, id }).delete()) > 0;
}

/** New secret; the old one stays valid for `graceSeconds` (both signatures are sent). One statement, so two concurrent rotations cannot both demote the same secret. */
export async function rotateEndpointSecret(db: Knex, projectId: string, id: string, secret: string, graceSeconds: number) {
  const [row] = await db('webhook_endpoints')
    .where({ project_id: projectId, id })
    .update({
      previous_secret: graceSeconds > 0 ? db.ref('secret') : null,
      previous_secret_expires_at: graceSeconds > 0 ? db.raw(`now() + make_interval(secs => ?)`, [graceSeconds]) : null,
      secret,
      updated_at: db.fn.now(),
    })
    .returning([...VIEW_COLUMNS, 'secret', 'previous_secret_expires_at']);
  return row as (EndpointView & Pick<WebhookEndpointRow, 'secret' | 'previous_secret_expires_at'>) | undefined;
}

/** The enabled endpoints of a project, secrets included, for delivery. */
export async function enabledEndpoints(db: Knex, projectId: string): Promise<WebhookEndpointRow[]> {
  return db('webhook_endpoints').where({ project_id: projectId, enabled: true });
}

/** An endpoint whether enabled or not (an operator's replay is an explicit decision to send). */
export async function endpointForDelivery(db: Knex, projectId: string, id: string): Promise<WebhookEndpointRow | undefined> {
  return db('webhook_endpoints').where({ project_id: projectId, id }).first();
}

/**
 * Starts the failing window if it is not already running, and returns its start (the stored one when
 * another attempt got there first), so the caller can decide whether the endpoint has failed too long.
 */
export async function markEndpointFailing(db: Knex, endpointId: string, at: Date): Promise<Date> {
  const [row] = await db('webhook_endpoints')
    .where({ id: endpointId })
    .update({ failing_since: db.raw('COALESCE(failing_since, ?)', [at]) })
    .returning('failing_since');
  return row?.failing_since ?? at;
}

/** Ends the failing window; a no-op (and no write) for an endpoint that was not failing. */
export async function markEndpointHealthy(db: Knex, endpointId: string): Promise<void> {
  await db('webhook_endpoints').where({ id: endpointId }).whereNotNull('failing_since').update({ failing_since: null });
}

export async function disableEndpoint(db: Knex, endpointId: string, reason: string): Promise<void> {
  await db('webhook_endpoints')
    .where({ id: endpointId, enabled: true })
    .update({ enabled: false, disabled_reason: reason, disabled_at: db.fn.now(), updated_at: db.fn.now() });
}

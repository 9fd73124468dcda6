import type { Knex } from 'knex';
import type { AttemptOutcome, DeliveryChannel } from '../shared/delivery.ts';

// Writes to the attempt log, the deliveries mirror and endpoint health. Shared by the delivery
// activities and the API; the activities' reads live in activities/delivery-queries.ts.

export interface AttemptRow {
  project_id: string;
  channel: DeliveryChannel;
  target_id: string;
  event_id: string;
  delivery_id: string;
  attempt: number;
  attempted_at: Date;
  status_code: number | null;
  duration_ms: number;
  response_excerpt: string | null;
  error: string | null;
  outcome: AttemptOutcome;
  trace_id: string | null;
}

// 13 columns per row: well under Postgres' 65,535 bind parameters per statement.
const ATTEMPT_INSERT_CHUNK = 1_000;

/** One multi-row INSERT per thousand attempts: a batch's fan-out is logged in a round trip or two. */
export async function recordAttempts(db: Knex, rows: AttemptRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += ATTEMPT_INSERT_CHUNK) {
    await db('delivery_attempts').insert(rows.slice(start, start + ATTEMPT_INSERT_CHUNK));
  }
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

export type DeliveryStatus = 'retrying' | 'dead_lettered' | 'delivered' | 'discarded' | 'expired';

export interface DeliveryRow {
  delivery_id: string;
  project_id: string;
  channel: DeliveryChannel;
  target_id: string;
  event_id: string;
  event_type: string;
  workflow_id: string;
  status: DeliveryStatus | string;
  last_error: string | null;
}

/** Insert or move a delivery to its new state: the delivery id is the key, so retries and replays converge. */
export async function upsertDelivery(db: Knex, row: DeliveryRow): Promise<void> {
  await db('deliveries')
    .insert(row)
    .onConflict('delivery_id')
    .merge({ status: row.status, last_error: row.last_error, workflow_id: row.workflow_id, updated_at: db.fn.now() });
}

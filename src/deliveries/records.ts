import type { Knex } from 'knex';
import type { DeliveryAttemptRow, DeliveryRow } from './types.ts';

// Every query on the delivery log: `deliveries` (the state of deliveries that needed durable tracking,
// mirrored from their workflows) and `delivery_attempts` (every attempt, inline or retried).

/** Insert or move a delivery to its new state: the delivery id is the key, so retries and replays converge. */
type DeliveryState = Omit<DeliveryRow, 'created_at' | 'updated_at' | 'parked_at' | 'replayed_at' | 'replays'>;

/** Records where a delivery stands; parking and a parked delivery's return to retrying (a replay) are also timed. */
export async function upsertDelivery(db: Knex, row: DeliveryState): Promise<void> {
  await db('deliveries')
    .insert({ ...row, parked_at: row.status === 'dead_lettered' ? db.fn.now() : null })
    .onConflict('delivery_id')
    .merge({
      status: row.status,
      last_error: row.last_error,
      workflow_id: row.workflow_id,
      updated_at: db.fn.now(),
      parked_at: db.raw(`CASE WHEN EXCLUDED.status = 'dead_lettered' THEN now() ELSE deliveries.parked_at END`),
      replayed_at: db.raw(`CASE WHEN deliveries.status = 'dead_lettered' AND EXCLUDED.status = 'retrying' THEN now() ELSE deliveries.replayed_at END`),
      replays: db.raw(`deliveries.replays + CASE WHEN deliveries.status = 'dead_lettered' AND EXCLUDED.status = 'retrying' THEN 1 ELSE 0 END`),
    });
}

/**
 * A replay was signalled: the delivery leaves the dead letters now, not when its workflow next records
 * its state, so lists and bulk counts taken right after do not see it (and replay it) again. Only a
 * still-parked row changes: one the workflow already moved on is left as it recorded it.
 */
export async function markReplayed(db: Knex, projectId: string, deliveryId: string): Promise<void> {
  await db('deliveries')
    .where({ project_id: projectId, delivery_id: deliveryId, status: 'dead_lettered' })
    .update({ status: 'retrying', replayed_at: db.fn.now(), replays: db.raw('replays + 1'), updated_at: db.fn.now() });
}

export async function findDelivery(db: Knex, projectId: string, deliveryId: string): Promise<DeliveryRow | undefined> {
  return db('deliveries').where({ project_id: projectId, delivery_id: deliveryId }).first();
}

export async function deliveriesOfEvent(db: Knex, projectId: string, eventId: string): Promise<DeliveryRow[]> {
  return db('deliveries').where({ project_id: projectId, event_id: eventId }).orderBy('created_at');
}

export interface DeadLetterFilter {
  endpointId?: string;
  eventType?: string;
  from?: string;
  to?: string;
}

// The dead letters themselves are parked Temporal runs; these rows let the API filter and page through
// them without scanning Temporal's visibility store, which knows projects only as a search attribute.
function deadLetters(db: Knex, projectId: string, filter: DeadLetterFilter): Knex.QueryBuilder {
  const query = db('deliveries').where({ project_id: projectId, status: 'dead_lettered' });
  if (filter.endpointId) query.andWhere('target_id', filter.endpointId);
  if (filter.eventType) query.andWhere('event_type', filter.eventType);
  if (filter.from) query.andWhere('updated_at', '>=', filter.from);
  if (filter.to) query.andWhere('updated_at', '<', filter.to);
  return query;
}

/** Newest first, one row more than asked (the page helper's look-ahead); the cursor is (updated_at, delivery_id). */
export async function listDeadLetters(
  db: Knex,
  projectId: string,
  filter: DeadLetterFilter,
  page: { limit: number; after?: [string, string] },
): Promise<Array<DeliveryRow & { cursor_updated_at: string }>> {
  const query = deadLetters(db, projectId, filter)
    .select('*')
    .select(db.raw(`to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_updated_at`));
  if (page.after) query.andWhereRaw('(updated_at, delivery_id) < (?::timestamptz, ?)', page.after);
  return query.orderBy([{ column: 'updated_at', order: 'desc' }, { column: 'delivery_id', order: 'desc' }]).limit(page.limit + 1);
}

/** Every matching dead letter's workflow id, for bulk replay; bounded so one call stays bounded. */
export async function deadLetterWorkflowIds(db: Knex, projectId: string, filter: DeadLetterFilter, limit: number): Promise<Array<Pick<DeliveryRow, 'delivery_id' | 'workflow_id'>>> {
  return deadLetters(db, projectId, filter).select('delivery_id', 'workflow_id').orderBy('updated_at').limit(limit);
}

export async function countDeadLetters(db: Knex, projectId: string, filter: DeadLetterFilter): Promise<number> {
  const [{ n }] = await deadLetters(db, projectId, filter).count({ n: '*' });
  return Number(n);
}

export type NewAttempt = Omit<DeliveryAttemptRow, 'id'>;

// 13 columns per row: well under Postgres' 65,535 bind parameters per statement.
const ATTEMPT_INSERT_CHUNK = 1_000;

/** One multi-row INSERT per thousand attempts: a batch's fan-out is logged in a round trip or two. */
export async function recordAttempts(db: Knex, rows: NewAttempt[]): Promise<void> {
  for (let start = 0; start < rows.length; start += ATTEMPT_INSERT_CHUNK) {
    await db('delivery_attempts').insert(rows.slice(start, start + ATTEMPT_INSERT_CHUNK));
  }
}

/** The attempt log a parked delivery shows in its history. */
export type AttemptLogEntry = Pick<DeliveryAttemptRow, 'attempt' | 'attempted_at' | 'status_code' | 'duration_ms' | 'response_excerpt' | 'error' | 'outcome'>;

export async function attemptLog(db: Knex, projectId: string, deliveryId: string): Promise<AttemptLogEntry[]> {
  return db('delivery_attempts')
    .select('attempt', 'attempted_at', 'status_code', 'duration_ms', 'response_excerpt', 'error', 'outcome')
    .where({ project_id: projectId, delivery_id: deliveryId })
    .orderBy('id');
}

/** An endpoint's attempts, newest first, one more than asked (the page helper's look-ahead). */
export async function endpointAttempts(
  db: Knex,
  projectId: string,
  endpointId: string,
  filter: { eventId?: string; outcome?: string; beforeId?: string; limit: number },
): Promise<DeliveryAttemptRow[]> {
  const query = db('delivery_attempts').where({ project_id: projectId, target_id: endpointId, channel: 'webhook' });
  if (filter.eventId !== undefined) query.andWhere('event_id', filter.eventId);
  if (filter.outcome !== undefined) query.andWhere('outcome', filter.outcome);
  if (filter.beforeId !== undefined) query.andWhere('id', '<', filter.beforeId);
  return query.orderBy('id', 'desc').limit(filter.limit + 1);
}

export async function eventAttempts(db: Knex, projectId: string, eventId: string, limit: number): Promise<DeliveryAttemptRow[]> {
  return db('delivery_attempts').where({ project_id: projectId, event_id: eventId }).orderBy('id').limit(limit);
}

/** Tracked deliveries of many events in one query (GraphQL's batched loading). */
export async function deliveriesOfEvents(db: Knex, projectId: string, eventIds: readonly string[]): Promise<DeliveryRow[]> {
  return db('deliveries').where('project_id', projectId).whereIn('event_id', eventIds).orderBy('created_at');
}

/** Attempts of many deliveries, or of many events, in one query (GraphQL's batched loading). */
export async function attemptsOf(
  db: Knex,
  projectId: string,
  by: 'delivery_id' | 'event_id',
  ids: readonly string[],
): Promise<DeliveryAttemptRow[]> {
  return db('delivery_attempts').where('project_id', projectId).whereIn(by, ids).orderBy([{ column: 'attempted_at' }, { column: 'id' }]);
}

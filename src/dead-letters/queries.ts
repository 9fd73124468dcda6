import type { Knex } from 'knex';

// The dead letters themselves are parked Temporal runs; these rows mirror their state (written by the
// delivery workflow's activities) so the API can filter and page through them without scanning
// Temporal's visibility store, which has no notion of projects beyond a search attribute.

export interface DeadLetterFilter {
  endpointId?: string;
  eventType?: string;
  from?: string;
  to?: string;
}

export interface DeadLetterRow {
  delivery_id: string;
  project_id: string;
  channel: 'webhook' | 'email';
  target_id: string;
  event_id: string;
  event_type: string;
  workflow_id: string;
  status: string;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

function filtered(db: Knex, projectId: string, filter: DeadLetterFilter): Knex.QueryBuilder {
  const query = db('deliveries').where({ project_id: projectId, status: 'dead_lettered' });
  if (filter.endpointId) query.andWhere('target_id', filter.endpointId);
  if (filter.eventType) query.andWhere('event_type', filter.eventType);
  if (filter.from) query.andWhere('updated_at', '>=', filter.from);
  if (filter.to) query.andWhere('updated_at', '<', filter.to);
  return query;
}

/** Newest first; the cursor is the last row's (updated_at, delivery_id). */
export async function listDeadLetters(
  db: Knex,
  projectId: string,
  filter: DeadLetterFilter,
  page: { limit: number; after?: { updatedAt: string; deliveryId: string } },
): Promise<DeadLetterRow[]> {
  const query = filtered(db, projectId, filter);
  if (page.after) {
    query.andWhereRaw('(updated_at, delivery_id) < (?::timestamptz, ?)', [page.after.updatedAt, page.after.deliveryId]);
  }
  return query.orderBy([{ column: 'updated_at', order: 'desc' }, { column: 'delivery_id', order: 'desc' }]).limit(page.limit);
}

/** Every matching dead letter's workflow id, for bulk replay; bounded so one call stays bounded. */
export async function deadLetterWorkflowIds(db: Knex, projectId: string, filter: DeadLetterFilter, limit: number) {
  const rows: Array<{ delivery_id: string; workflow_id: string }> = await filtered(db, projectId, filter)
    .select('delivery_id', 'workflow_id')
    .orderBy('updated_at')
    .limit(limit);
  return rows;
}

export async function countDeadLetters(db: Knex, projectId: string, filter: DeadLetterFilter): Promise<number> {
  const [{ n }] = await filtered(db, projectId, filter).count({ n: '*' });
  return Number(n);
}

export async function findDelivery(db: Knex, projectId: string, deliveryId: string): Promise<DeadLetterRow | undefined> {
  return db('deliveries').where({ project_id: projectId, delivery_id: deliveryId }).first();
}

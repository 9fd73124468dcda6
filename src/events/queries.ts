import type { Knex } from 'knex';

// Every query here is scoped by project_id, the leading column of each events index.

export interface TimeRange {
  /** Inclusive bounds on the event's (skew-corrected) timestamp. */
  from?: string;
  to?: string;
}

export interface EventFilter extends TimeRange {
  type?: string;
  userId?: string;
  /** Keyset position: [timestamp, id] of the last event of the previous page. */
  after?: string[];
  limit: number;
}

// The cursor carries the timestamp as Postgres prints it (microseconds): a JS Date would round it to
// milliseconds and pages could skip or repeat events.
const CURSOR_TIMESTAMP = `to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const EVENT_COLUMNS = [
  'id',
  'type',
  'user_id',
  'anonymous_id',
  'timestamp',
  'original_timestamp',
  'sent_at',
  'received_at',
  'properties',
  'context',
  'enrichment',
  'batch_id',
];

export interface EventRow {
  id: string;
  type: string;
  user_id: string | null;
  anonymous_id: string | null;
  timestamp: Date;
  original_timestamp: Date | null;
  sent_at: Date | null;
  received_at: Date;
  properties: Record<string, unknown>;
  context: Record<string, unknown>;
  enrichment: Record<string, unknown>;
  batch_id: string;
}

/** Newest first by (timestamp, id), fetching one row more than asked to know whether a next page exists. */
export async function listEvents(db: Knex, projectId: string, filter: EventFilter) {
  const query = db('events')
    .select(EVENT_COLUMNS)
    .select(db.raw(`${CURSOR_TIMESTAMP} AS cursor_timestamp`))
    .where('project_id', projectId)
    .orderBy([{ column: 'timestamp', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(filter.limit + 1);
  if (filter.type !== undefined) query.where('type', filter.type);
  if (filter.userId !== undefined) query.where('user_id', filter.userId);
  if (filter.from !== undefined) query.where('timestamp', '>=', filter.from);
  if (filter.to !== undefined) query.where('timestamp', '<=', filter.to);
  if (filter.after) query.whereRaw('(timestamp, id) < (?::timestamptz, ?)', filter.after);
  return (await query) as Array<EventRow & { cursor_timestamp: string }>;
}

export async function findEvent(db: Knex, projectId: string, id: string): Promise<EventRow | undefined> {
  return db('events').select(EVENT_COLUMNS).where({ project_id: projectId, id }).first();
}

export interface RejectedFilter extends TimeRange {
  type?: string;
  /** Keyset position: [rejected_at, batch_id, event_id] of the last row of the previous page. */
  after?: string[];
  limit: number;
}

export async function listRejectedEvents(db: Knex, projectId: string, filter: RejectedFilter) {
  const query = db('rejected_events')
    .select('event_id as id', 'type', 'batch_id', 'reasons', 'payload', 'rejected_at')
    .select(db.raw(`to_char(rejected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_timestamp`))
    .where('project_id', projectId)
    .orderBy([
      { column: 'rejected_at', order: 'desc' },
      { column: 'batch_id', order: 'desc' },
      { column: 'event_id', order: 'desc' },
    ])
    .limit(filter.limit + 1);
  if (filter.type !== undefined) query.where('type', filter.type);
  if (filter.from !== undefined) query.where('rejected_at', '>=', filter.from);
  if (filter.to !== undefined) query.where('rejected_at', '<=', filter.to);
  if (filter.after) query.whereRaw('(rejected_at, batch_id, event_id) < (?::timestamptz, ?, ?)', filter.after);
  return (await query) as Array<{
    id: string;
    type: string;
    batch_id: string;
    reasons: Array<{ field: string; message: string }>;
    payload: unknown;
    rejected_at: Date;
    cursor_timestamp: string;
  }>;
}

/** What a delivery sends of an event (the webhook's `data`, an email template's values): timestamps as ISO strings. */
export interface DeliverableEvent {
  id: string;
  type: string;
  user_id: string | null;
  anonymous_id: string | null;
  timestamp: string;
  received_at: string;
  properties: Record<string, unknown>;
  context: Record<string, unknown>;
  enrichment: Record<string, unknown>;
}

const DELIVERABLE_COLUMNS = ['id', 'type', 'user_id', 'anonymous_id', 'timestamp', 'received_at', 'properties', 'context', 'enrichment'];

function deliverable(row: Pick<EventRow, 'id' | 'type' | 'user_id' | 'anonymous_id' | 'timestamp' | 'received_at' | 'properties' | 'context' | 'enrichment'>): DeliverableEvent {
  return { ...row, timestamp: new Date(row.timestamp).toISOString(), received_at: new Date(row.received_at).toISOString() };
}

export async function loadDeliverableEvents(db: Knex, projectId: string, ids: string[]): Promise<DeliverableEvent[]> {
  const rows = await db('events').select(DELIVERABLE_COLUMNS).where('project_id', projectId).whereIn('id', ids);
  return rows.map(deliverable);
}

/**
 * A just-stored batch's events, read by the ctids persist returned (a TID scan: no index, no planner
 * estimate involved). The project and id of each row are checked, so a row that moved or was replaced
 * is never taken for ours; those few are read by id.
 */
export async function loadStoredEvents(db: Knex, projectId: string, ids: string[], rowRefs: string[]): Promise<DeliverableEvent[]> {
  const wanted = new Set(ids);
  // No project_id in the WHERE clause: with it, the planner may prefer a project index (see above).
  const rows = await db('events').select(['project_id', ...DELIVERABLE_COLUMNS]).whereRaw('ctid = ANY(?::tid[])', [rowRefs]);
  const found = rows.filter((row) => row.project_id === projectId && wanted.delete(row.id)).map(({ project_id, ...row }) => deliverable(row));
  return wanted.size === 0 ? found : [...found, ...(await loadDeliverableEvents(db, projectId, [...wanted]))];
}

export async function eventExists(db: Knex, projectId: string, id: string): Promise<boolean> {
  return Boolean(await db('events').where({ project_id: projectId, id }).first('id'));
}

/**
 * How many events match a filter (for totalCount). By type or unfiltered it is read from the hourly
 * rollups (stats keep them exact); a user or time filter counts the matching rows.
 */
export async function countEvents(db: Knex, projectId: string, filter: Omit<EventFilter, 'limit' | 'after'>): Promise<number> {
  if (filter.userId === undefined && filter.from === undefined && filter.to === undefined) {
    const rollup = db('event_counts_hourly').where('project_id', projectId);
    if (filter.type !== undefined) rollup.where('type', filter.type);
    const [{ n }] = await rollup.sum({ n: 'count' });
    return Number(n ?? 0);
  }
  const query = db('events').where('project_id', projectId);
  if (filter.type !== undefined) query.where('type', filter.type);
  if (filter.userId !== undefined) query.where('user_id', filter.userId);
  if (filter.from !== undefined) query.where('timestamp', '>=', filter.from);
  if (filter.to !== undefined) query.where('timestamp', '<=', filter.to);
  const [{ n }] = await query.count({ n: '*' });
  return Number(n);
}

import type { Knex } from 'knex';
import type { DeliveryChannel } from '../src/shared/delivery.ts';
import { matchesEventType } from '../src/webhooks/filters.ts';
import type { DeliveryTarget, EmailTarget, StoredEvent, WebhookTarget } from './deliver-once.ts';

// Reads the delivery activities need; writes to the attempt log and endpoint state live in
// src/webhooks/queries.ts, shared with the API.

const EVENT_COLUMNS = [
  'id', 'type', 'user_id', 'anonymous_id', 'timestamp', 'received_at', 'properties', 'context', 'enrichment',
];

export async function loadEvents(db: Knex, projectId: string, ids: string[]): Promise<StoredEvent[]> {
  const rows = await db('events').select(EVENT_COLUMNS).where('project_id', projectId).whereIn('id', ids);
  return rows.map(toStoredEvent);
}

/**
 * A just-stored batch's events, read by the ctids persist returned (a TID scan: no index, no planner
 * estimate involved). The project and id of each row are checked, so a row that moved or was replaced
 * is never taken for ours; those few are read by id.
 */
export async function loadStoredEvents(db: Knex, projectId: string, ids: string[], rowRefs: string[]): Promise<StoredEvent[]> {
  const wanted = new Set(ids);
  // No project_id in the WHERE clause: with it, the planner may prefer a project index (see above).
  const rows = await db('events').select(['project_id', ...EVENT_COLUMNS]).whereRaw('ctid = ANY(?::tid[])', [rowRefs]);
  const found = rows.filter((row) => row.project_id === projectId && wanted.delete(row.id)).map(({ project_id, ...row }) => toStoredEvent(row));
  return wanted.size === 0 ? found : [...found, ...(await loadEvents(db, projectId, [...wanted]))];
}

function toStoredEvent(row: Record<string, any>): StoredEvent {
  return {
    ...row,
    timestamp: new Date(row.timestamp).toISOString(),
    received_at: new Date(row.received_at).toISOString(),
  } as StoredEvent;
}

interface EndpointRow {
  id: string;
  url: string;
  event_types: string[];
  headers: Record<string, string>;
  retry_schedule: number[] | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  failing_since: Date | null;
}

interface RuleRow {
  id: string;
  event_types: string[];
  recipients: string[];
  recipient_property: string | null;
  subject_template: string;
  body_template: string;
}

function webhookTarget(row: EndpointRow, now: Date): WebhookTarget {
  const previousValid = row.previous_secret && row.previous_secret_expires_at && row.previous_secret_expires_at > now;
  return {
    channel: 'webhook',
    id: row.id,
    url: row.url,
    headers: row.headers ?? {},
    secrets: previousValid ? [row.secret, row.previous_secret as string] : [row.secret],
    retrySchedule: row.retry_schedule,
    failingSince: row.failing_since,
    matches: (type) => matchesEventType(row.event_types, type),
  };
}

function emailTarget(row: RuleRow): EmailTarget {
  return {
    channel: 'email',
    id: row.id,
    recipients: row.recipients,
    recipientProperty: row.recipient_property,
    subjectTemplate: row.subject_template,
    bodyTemplate: row.body_template,
    retrySchedule: null,
    matches: (type) => matchesEventType(row.event_types, type),
  };
}

/** Enabled endpoints and rules of the project (filter them with `matches`). */
export async function enabledTargetsFor(db: Knex, projectId: string): Promise<DeliveryTarget[]> {
  const [endpoints, rules] = await Promise.all([
    db('webhook_endpoints').where({ project_id: projectId, enabled: true }) as Promise<EndpointRow[]>,
    db('notification_rules').where({ project_id: projectId, enabled: true }) as Promise<RuleRow[]>,
  ]);
  const now = new Date();
  return [...endpoints.map((row) => webhookTarget(row, now)), ...rules.map(emailTarget)];
}

/**
 * Whether anything could receive this project's events. Run inside the persist transaction, so a
 * batch only carries its stored ids onward (into history) when there is somewhere to deliver them.
 */
export async function hasEnabledTargets(db: Knex, projectId: string): Promise<boolean> {
  const found = await db
    .select(db.raw('1'))
    .from('webhook_endpoints')
    .where({ project_id: projectId, enabled: true })
    .unionAll((union) => union.select(db.raw('1')).from('notification_rules').where({ project_id: projectId, enabled: true }))
    .limit(1);
  return found.length > 0;
}

/** A target by id whether enabled or not: an operator's replay is an explicit decision to send. */
export async function loadTarget(
  db: Knex,
  projectId: string,
  channel: DeliveryChannel,
  targetId: string,
): Promise<DeliveryTarget | undefined> {
  if (channel === 'webhook') {
    const row: EndpointRow | undefined = await db('webhook_endpoints').where({ project_id: projectId, id: targetId }).first();
    return row && webhookTarget(row, new Date());
  }
  const row: RuleRow | undefined = await db('notification_rules').where({ project_id: projectId, id: targetId }).first();
  return row && emailTarget(row);
}

export interface AttemptLogEntry {
  attempt: number;
  attempted_at: string;
  status_code: number | null;
  duration_ms: number;
  response_excerpt: string | null;
  error: string | null;
  outcome: string;
}

export async function attemptsOf(db: Knex, projectId: string, deliveryId: string): Promise<AttemptLogEntry[]> {
  return db('delivery_attempts')
    .select('attempt', 'attempted_at', 'status_code', 'duration_ms', 'response_excerpt', 'error', 'outcome')
    .where({ project_id: projectId, delivery_id: deliveryId })
    .orderBy('id');
}

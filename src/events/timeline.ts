import type { Knex } from 'knex';
import { deliveriesOfEvent, eventAttempts } from '../deliveries/records.ts';
import type { DeliveryAttemptRow, DeliveryRow } from '../deliveries/types.ts';
import { findEvent, type EventRow } from './queries.ts';

// An event's life in one answer (GET /v1/events/:id/timeline): received → validated or rejected →
// enriched → stored → each delivery attempt → where each delivery ended (delivered, parked as a dead
// letter, replayed, discarded). Read from the rows each step leaves behind; nothing is stored for it.

const MAX_ATTEMPTS = 500;
const MAX_REJECTIONS = 10;

export type StageKind =
  | 'received'
  | 'validated'
  | 'rejected'
  | 'enriched'
  | 'stored'
  | 'attempt'
  | 'parked'
  | 'replayed'
  | 'retrying'
  | 'dead_lettered'
  | 'delivered'
  | 'discarded'
  | 'expired';

export interface TimelineStage {
  kind: StageKind;
  /** When the step happened; null when no row records its own time (validation and enrichment run inside the batch). */
  at: Date | null;
  outcome: 'ok' | 'failed' | 'pending';
  summary: string;
  detail: Record<string, unknown>;
}

export interface EventTimeline {
  event_id: string;
  type: string;
  status: 'stored' | 'rejected';
  event: EventRow | null;
  batch: { id: string; workflow_id: string; received_at: Date; completed_at: Date; trace_id: string | null } | null;
  /** The run that stored the batch: several requests may share one run, which is traced under the first's trace. */
  run: { id: string; trace_id: string | null } | null;
  deliveries: Array<Omit<DeliveryRow, 'project_id'> & { target: string | null }>;
  stages: TimelineStage[];
  /** Every trace the event's work was recorded in: the accepting request's, its run's, its deliveries'. */
  trace_ids: string[];
}

interface BatchTraceRow {
  id: string;
  workflow_id: string;
  received_at: Date;
  completed_at: Date;
  trace_id: string | null;
}

interface RejectionRow {
  batch_id: string;
  type: string;
  reasons: unknown;
  payload: Record<string, unknown>;
  rejected_at: Date;
}

export async function eventTimeline(db: Knex, projectId: string, eventId: string): Promise<EventTimeline | undefined> {
  const [event, rejections] = await Promise.all([
    findEventWithStoredAt(db, projectId, eventId),
    db('rejected_events')
      .select<RejectionRow[]>('batch_id', 'type', 'reasons', 'payload', 'rejected_at')
      .where({ project_id: projectId, event_id: eventId })
      .orderBy('rejected_at')
      .limit(MAX_REJECTIONS),
  ]);
  if (!event && rejections.length === 0) return undefined;

  const batchId = event?.batch_id ?? rejections[0].batch_id;
  const batch = await findBatch(db, projectId, batchId);
  const runId = batch?.workflow_id.startsWith('batch:') ? batch.workflow_id.slice('batch:'.length) : undefined;
  const runBatch = runId && runId !== batchId ? await findBatch(db, projectId, runId) : batch;
  const [deliveries, attempts] = event ? await Promise.all([deliveriesOfEvent(db, projectId, eventId), eventAttempts(db, projectId, eventId, MAX_ATTEMPTS)]) : [[], []];
  const targets = await targetNames(db, projectId, [...new Set([...deliveries.map((row) => row.target_id), ...attempts.map((row) => row.target_id)])]);

  const stages: TimelineStage[] = [];
  const received = event?.received_at ?? batch?.received_at ?? null;
  stages.push({
    kind: 'received',
    at: received,
    outcome: 'ok',
    summary: `accepted in batch ${batchId}`,
    detail: { batch_id: batchId, sent_at: event?.sent_at ?? null, original_timestamp: event?.original_timestamp ?? null },
  });
  for (const rejection of rejections) {
    stages.push({ kind: 'rejected', at: rejection.rejected_at, outcome: 'failed', summary: 'failed validation', detail: { batch_id: rejection.batch_id, reasons: rejection.reasons } });
  }
  if (event) {
    stages.push({ kind: 'validated', at: null, outcome: 'ok', summary: `valid ${event.type} event`, detail: {} });
    stages.push({ kind: 'enriched', at: null, outcome: 'ok', summary: enrichmentSummary(event), detail: { enrichment: event.enrichment, timestamp: event.timestamp } });
    stages.push({ kind: 'stored', at: event.stored_at, outcome: 'ok', summary: 'stored in Postgres', detail: {} });
  }
  for (const attempt of attempts) stages.push(attemptStage(attempt, targets.get(attempt.target_id) ?? null));
  for (const delivery of deliveries) stages.push(...deliveryStages(delivery, targets.get(delivery.target_id) ?? null));
  stages.sort((a, b) => (a.at && b.at ? a.at.getTime() - b.at.getTime() : 0));

  const traceIds = [batch?.trace_id, runBatch?.trace_id, ...attempts.map((row) => row.trace_id)].filter((id): id is string => Boolean(id));
  return {
    event_id: eventId,
    type: event?.type ?? rejections[0].type,
    status: event ? 'stored' : 'rejected',
    event: event ? withoutStoredAt(event) : null,
    batch: batch ?? null,
    run: runId ? { id: runId, trace_id: runBatch?.trace_id ?? null } : null,
    deliveries: deliveries.map(({ project_id, ...delivery }) => ({ ...delivery, target: targets.get(delivery.target_id) ?? null })),
    stages,
    trace_ids: [...new Set(traceIds)],
  };
}

async function findEventWithStoredAt(db: Knex, projectId: string, eventId: string): Promise<(EventRow & { stored_at: Date }) | undefined> {
  const event = await findEvent(db, projectId, eventId);
  if (!event) return undefined;
  const { stored_at } = (await db('events').select('stored_at').where({ project_id: projectId, id: eventId }).first()) as { stored_at: Date };
  return { ...event, stored_at };
}

function withoutStoredAt({ stored_at, ...event }: EventRow & { stored_at: Date }): EventRow {
  return event;
}

function findBatch(db: Knex, projectId: string, batchId: string): Promise<BatchTraceRow | undefined> {
  return db('batches').select('id', 'workflow_id', 'received_at', 'completed_at', 'trace_id').where({ project_id: projectId, id: batchId }).first();
}

/** Endpoint URLs and notification rules' subjects, by id, to say where each delivery went. */
async function targetNames(db: Knex, projectId: string, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const [endpoints, rules] = await Promise.all([
    db('webhook_endpoints').select('id', 'url').where('project_id', projectId).whereIn('id', ids),
    db('notification_rules').select('id', 'subject_template').where('project_id', projectId).whereIn('id', ids),
  ]);
  return new Map([
    ...endpoints.map((row: { id: string; url: string }) => [row.id, row.url] as const),
    ...rules.map((row: { id: string; subject_template: string }) => [row.id, `rule “${row.subject_template}”`] as const),
  ]);
}

function enrichmentSummary(event: EventRow): string {
  const keys = Object.keys(event.enrichment);
  return keys.length ? `added ${keys.join(', ')}` : 'nothing to add';
}

function attemptStage(row: DeliveryAttemptRow, target: string | null): TimelineStage {
  return {
    kind: 'attempt',
    at: row.attempted_at,
    outcome: row.outcome === 'delivered' ? 'ok' : 'failed',
    summary: `${row.channel} attempt ${row.attempt}: ${row.outcome}${row.status_code ? ` (HTTP ${row.status_code})` : ''}`,
    detail: {
      channel: row.channel,
      target_id: row.target_id,
      target,
      delivery_id: row.delivery_id,
      attempt: row.attempt,
      status_code: row.status_code,
      duration_ms: row.duration_ms,
      response_excerpt: row.response_excerpt,
      error: row.error,
      outcome: row.outcome,
      trace_id: row.trace_id,
    },
  };
}

const DELIVERY_SUMMARY: Record<DeliveryRow['status'], { outcome: TimelineStage['outcome']; summary: string }> = {
  retrying: { outcome: 'pending', summary: 'retrying on schedule' },
  dead_lettered: { outcome: 'failed', summary: 'parked as a dead letter' },
  delivered: { outcome: 'ok', summary: 'delivered' },
  discarded: { outcome: 'failed', summary: 'discarded' },
  expired: { outcome: 'failed', summary: 'expired while parked' },
};

/**
 * Where a tracked delivery has been and stands now: parked (when it was, before a replay), replayed, and
 * its current state. A delivery parked now shows only that; its parking time is the state's time.
 */
function deliveryStages(row: DeliveryRow, target: string | null): TimelineStage[] {
  const detail = { channel: row.channel, target_id: row.target_id, target, delivery_id: row.delivery_id, workflow_id: row.workflow_id };
  const stages: TimelineStage[] = [];
  if (row.replayed_at) {
    // The last parking before the last replay is not kept when it was parked again since; say when it left.
    if (row.parked_at && row.parked_at < row.replayed_at) {
      stages.push({ kind: 'parked', at: row.parked_at, outcome: 'failed', summary: `${row.channel} parked as a dead letter`, detail });
    }
    stages.push({ kind: 'replayed', at: row.replayed_at, outcome: 'pending', summary: `${row.channel} replayed${row.replays > 1 ? ` (${row.replays} times)` : ''}`, detail });
  }
  const { outcome, summary } = DELIVERY_SUMMARY[row.status];
  stages.push({ kind: row.status, at: row.updated_at, outcome, summary: `${row.channel} ${summary}`, detail: { ...detail, last_error: row.last_error } });
  return stages;
}

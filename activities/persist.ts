import type { Knex } from 'knex';
import type { BatchSummary, ClientEnrichment, EventEnrichment, IngestEvent, PersistInput, PersistResult } from '../src/shared/batch.ts';
import { annotateBatch } from '../src/telemetry/spans.ts';
import { hasEnabledTargets } from '../src/deliveries/targets.ts';
import { EVENTS_STORED_CHANNEL } from '../src/live/channels.ts';
// Type names are ≤ 128 characters: 40 of them with their counts fit any NOTIFY payload.
const MAX_ANNOUNCED_TYPES = 40;

/**
 * Stores a batch's events, its rejections and its summary in one transaction.
 *
 * Idempotent by construction: events are keyed by (project, id) with ON CONFLICT DO NOTHING, so a
 * retried attempt after a crash stores nothing twice. A retry after a *committed* attempt would count
 * every event as a duplicate, so the summary committed with the first attempt is returned instead.
 */
export function createPersistActivity(db: Knex) {
  return async function persistBatch(input: PersistInput): Promise<PersistResult> {
    annotateBatch(input.batchId, [...input.events.map(({ event }) => event.id), ...input.rejected.map(({ id }) => id)]);
    return db.transaction(async (trx) => {
      const earlier = await trx('batches').select('summary').where('id', input.batchId).first();
      if (earlier) return (earlier.summary as { persist: PersistResult }).persist;

      // First occurrence wins inside a batch, matching what ON CONFLICT does across batches.
      const seen = new Set<string>();
      const unique = input.events.filter(({ event }) => !seen.has(event.id) && seen.add(event.id));
      const inserted = unique.length === 0 ? [] : await insertEvents(trx, input, unique);
      const storedIds = inserted.map(({ id }) => id);

      if (input.rejected.length > 0) {
        await trx('rejected_events')
          .insert(
            input.rejected.map((rejection) => ({
              project_id: input.projectId,
              batch_id: input.batchId,
              event_id: rejection.id,
              type: rejection.type,
              reasons: JSON.stringify(rejection.reasons),
              payload: JSON.stringify(rejection.payload),
            })),
          )
          .onConflict(['project_id', 'batch_id', 'event_id'])
          .ignore();
      }

      const deliverable = storedIds.length > 0 && (await hasEnabledTargets(trx, input.projectId));
      const result: PersistResult = {
        stored: storedIds.length,
        duplicates: input.events.length - storedIds.length,
        storedIds: deliverable ? storedIds : [],
        ...(deliverable ? { storedRowRefs: inserted.map(({ row_ref }) => row_ref) } : {}),
        deliverable,
      };
      const summary: Omit<BatchSummary, 'batchId'> & { persist: PersistResult } = {
        received: input.events.length + input.rejected.length,
        invalid: input.rejected.length,
        duplicates: result.duplicates,
        stored: result.stored,
        rejected: input.rejected.map(({ id, type, reasons }) => ({ id, type, reasons })),
        persist: result,
      };
      await trx('batches').insert({
        id: input.batchId,
        project_id: input.projectId,
        workflow_id: input.workflowId,
        received_at: input.receivedAt,
        summary: JSON.stringify(summary),
      });
      return result;
    });
  };
}

/** One stored event with every column it is written with. */
export interface EventInsertRow {
  batchId: string;
  receivedAt: string;
  sentAt?: string;
  event: IngestEvent;
  enrichment: EventEnrichment;
  client: ClientEnrichment;
}

/** One round trip for a whole batch or run: `unnest` turns column arrays into rows (bulk insert). */
export async function insertEventRows(trx: Knex.Transaction, projectId: string, rows: EventInsertRow[]) {
  const column = <T>(pick: (row: EventInsertRow) => T) => rows.map(pick);
  // One statement stores the events and keeps the stats rollups in step with what was really inserted
  // (a duplicate is neither stored nor counted). The rollup upserts go in key order, so concurrent runs
  // lock their rows in the same order and cannot deadlock.
  const result = await trx.raw(
    `WITH inserted AS (
       INSERT INTO events (project_id, batch_id, received_at, sent_at, id, type, user_id, anonymous_id,
                           timestamp, original_timestamp, properties, context, enrichment)
       SELECT ?::uuid, u.*
         FROM unnest(?::text[], ?::timestamptz[], ?::timestamptz[], ?::text[], ?::text[], ?::text[], ?::text[],
                     ?::timestamptz[], ?::timestamptz[], ?::jsonb[], ?::jsonb[], ?::jsonb[])
           AS u(batch_id, received_at, sent_at, id, type, user_id, anonymous_id, timestamp, original_timestamp,
                properties, context, enrichment)
       ON CONFLICT (project_id, id) DO NOTHING
       RETURNING id, ctid::text AS row_ref, project_id, type, user_id, timestamp
     ), counted AS (
       INSERT INTO event_counts_hourly (project_id, hour, type, count)
       SELECT project_id, date_trunc('hour', timestamp, 'UTC'), type, count(*) FROM inserted GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
       ON CONFLICT (project_id, hour, type) DO UPDATE SET count = event_counts_hourly.count + EXCLUDED.count
     ), users AS (
       INSERT INTO project_users (project_id, user_id)
       SELECT DISTINCT project_id, user_id FROM inserted WHERE user_id IS NOT NULL ORDER BY 1, 2
       ON CONFLICT DO NOTHING
     )
     SELECT id, row_ref FROM inserted`,
    [
      projectId,
      column((row) => row.batchId),
      column((row) => row.receivedAt),
      column((row) => row.sentAt ?? null),
      column(({ event }) => event.id),
      column(({ event }) => event.type),
      column(({ event }) => event.user_id ?? null),
      column(({ event }) => event.anonymous_id ?? null),
      column(({ enrichment }) => enrichment.timestamp),
      column(({ event }) => event.timestamp ?? null),
      column(({ event }) => JSON.stringify(event.properties ?? {})),
      column(({ event }) => JSON.stringify(event.context ?? {})),
      column(({ client, enrichment }) =>
        JSON.stringify({ ...client, ...(enrichment.urls ? { urls: enrichment.urls } : {}), ...(enrichment.utm ? { utm: enrichment.utm } : {}) }),
      ),
    ] as unknown as readonly Knex.RawBinding[],
  );
  const inserted = result.rows as Array<{ id: string; row_ref: string }>;
  if (inserted.length > 0) await announceStored(trx, projectId, rows, inserted);
  return inserted;
}

/**
 * Tells live subscribers (GraphQL `eventsStored`) what was stored, per type. NOTIFY is transactional: it
 * is delivered only if this transaction commits. Payloads stay far below Postgres' 8,000-byte limit:
 * past MAX_ANNOUNCED_TYPES types only the total is sent.
 */
async function announceStored(trx: Knex.Transaction, projectId: string, rows: EventInsertRow[], inserted: Array<{ id: string }>): Promise<void> {
  const storedIds = new Set(inserted.map(({ id }) => id));
  const counts: Record<string, number> = {};
  for (const { event } of rows) if (storedIds.has(event.id)) counts[event.type] = (counts[event.type] ?? 0) + 1;
  const types = Object.keys(counts);
  const payload = { project_id: projectId, stored: inserted.length, ...(types.length <= MAX_ANNOUNCED_TYPES ? { counts } : {}) };
  await trx.raw('SELECT pg_notify(?, ?)', [EVENTS_STORED_CHANNEL, JSON.stringify(payload)]);
}

function insertEvents(trx: Knex.Transaction, input: PersistInput, rows: PersistInput['events']) {
  return insertEventRows(
    trx,
    input.projectId,
    rows.map(({ event, enrichment }) => ({
      batchId: input.batchId,
      receivedAt: input.receivedAt,
      sentAt: input.sentAt,
      event,
      enrichment,
      client: input.client,
    })),
  );
}

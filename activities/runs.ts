import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import { deleteRun, loadRunRequests, runDigest } from '../src/ingest/queries.ts';
import type {
  AcceptedRequest,
  BatchRef,
  BatchSummary,
  ClientEnrichment,
  ClientInfo,
  EventEnrichment,
  IngestEvent,
  Rejection,
  RunEnrichmentSummary,
  RunPersistResult,
  ValidationResult,
} from '../src/shared/batch.ts';
import { annotateBatch } from '../src/telemetry/spans.ts';
import { hasEnabledTargets } from '../src/deliveries/targets.ts';
import { enrichEvent, eventClient, parseClient } from './enrich.ts';
import { insertEventRows, type EventInsertRow } from './persist.ts';
import type { createValidateActivity } from './validate.ts';

/** A run's accepted requests as read for processing, with what the enrich step computed for them. */
interface LoadedRun {
  requests: AcceptedRequest[];
  /** Aligned with the run's events, in request order: each event's client and its own enrichment. */
  enrichment?: { clients: ClientEnrichment[]; events: EventEnrichment[] };
}

/** The failure type for a reference that does not match what was accepted: retrying cannot help. */
export const RUN_MISMATCH = 'RunReferenceMismatch';

// Runs whose steps are under way in this worker: its three steps run back to back here, so the
// events are read from Postgres once per run. A miss (another worker, a restart) just reads again.
const CACHED_RUNS = 64;

/**
 * The steps of a run started with a reference (BatchRef): each reads the run's accepted requests from
 * Postgres (by run id, checked against the reference's count and digest) instead of from workflow
 * history, and only small results go back into history.
 */
export function createRunActivities(db: Knex, validateBatch: ReturnType<typeof createValidateActivity>) {
  const cache = new Map<string, Promise<LoadedRun | 'persisted'>>();

  function load(ref: BatchRef): Promise<LoadedRun | 'persisted'> {
    let loading = cache.get(ref.runId);
    if (!loading) {
      loading = read(ref);
      cache.set(ref.runId, loading);
      loading.catch(() => cache.delete(ref.runId));
      if (cache.size > CACHED_RUNS) cache.delete(cache.keys().next().value as string);
    }
    return loading;
  }

  async function read(ref: BatchRef): Promise<LoadedRun | 'persisted'> {
    const rows = await loadRunRequests(db, ref.runId);
    if (rows.length === 0) {
      // Deleted by this run's own persist step (a retry after it committed) — or never accepted.
      if (await db('batches').where('id', ref.batchIds[0]).first('id')) return 'persisted';
      throw ApplicationFailure.create({ type: RUN_MISMATCH, nonRetryable: true, message: `run ${ref.runId} has no accepted requests` });
    }
    const events = rows.reduce((sum, row) => sum + row.events.length, 0);
    const sameRequests = rows.length === ref.batchIds.length && rows.every((row, index) => row.batchId === ref.batchIds[index]);
    if (!sameRequests || events !== ref.eventCount || runDigest(rows.map((row) => row.digest)) !== ref.digest) {
      throw ApplicationFailure.create({
        type: RUN_MISMATCH,
        nonRetryable: true,
        message: `run ${ref.runId}: the accepted requests do not match the reference (${rows.length} requests, ${events} events)`,
      });
    }
    return { requests: rows.map(({ digest, ...request }) => request) };
  }

  function enrich(run: LoadedRun): NonNullable<LoadedRun['enrichment']> {
    if (run.enrichment) return run.enrichment;
    // Single-event requests from one client repeat the same User-Agent: parse each once per run.
    const parsedClients = new Map<string, ClientEnrichment>();
    const parse = (client: ClientInfo) => {
      const key = `${client.source ?? ''}\n${client.ip ?? ''}\n${client.userAgent ?? ''}`;
      let parsed = parsedClients.get(key);
      if (!parsed) parsedClients.set(key, (parsed = parseClient(client)));
      return parsed;
    };
    const clients = run.requests.flatMap((request) => request.events.map((event) => parse(eventClient(event, request.client))));
    const events = run.requests.flatMap((request) => request.events.map((event) => enrichEvent(event, request)));
    run.enrichment = { clients, events };
    return run.enrichment;
  }

  /** Validates every event of the run; rejection indexes count across its requests in order. */
  async function validateRun(ref: BatchRef): Promise<ValidationResult> {
    const run = await load(ref);
    if (run === 'persisted') return { rejected: [] };
    return validateBatch({ projectId: ref.projectId, events: run.requests.flatMap((request) => request.events) });
  }

  /** Enriches the run's events for persist; history gets counts only (the enrichment is stored with the events). */
  async function enrichRun(ref: BatchRef): Promise<RunEnrichmentSummary> {
    const run = await load(ref);
    if (run === 'persisted') return { events: ref.eventCount, clockSkewCorrected: 0, urlsParsed: 0 };
    const enrichment = enrich(run);
    let clockSkewCorrected = 0;
    let index = 0;
    for (const request of run.requests) {
      for (const event of request.events) {
        if (request.sentAt && event.timestamp && enrichment.events[index].timestamp !== new Date(event.timestamp).toISOString()) clockSkewCorrected += 1;
        index += 1;
      }
    }
    const urlsParsed = enrichment.events.reduce((sum, event) => sum + Object.keys(event.urls ?? {}).length, 0);
    return { events: index, clockSkewCorrected, urlsParsed };
  }

  /**
   * Stores the run's valid events, its rejections and one `batches` row per request (with that
   * request's own summary), and deletes the run's payload rows, in one transaction. Idempotent: a retry
   * after the commit finds the rows gone and returns the summary committed with the first attempt.
   */
  async function persistRun(input: { ref: BatchRef; rejected: Rejection[] }): Promise<RunPersistResult> {
    const { ref } = input;
    const loaded = await load(ref);
    try {
      return await db.transaction(async (trx) => {
        const earlier = await trx('batches').select('summary').where('id', ref.batchIds[0]).first();
        if (earlier) return (earlier.summary as { run: RunPersistResult }).run;
        if (loaded === 'persisted') throw new Error(`run ${ref.runId} was persisted but its summary is missing`);
        return store(trx, ref, loaded, input.rejected);
      });
    } finally {
      cache.delete(ref.runId);
    }
  }

  async function store(trx: Knex.Transaction, ref: BatchRef, run: LoadedRun, rejectedList: Rejection[]): Promise<RunPersistResult> {
    const enrichment = enrich(run);
    const rejected = new Map(rejectedList.map((rejection) => [rejection.index, rejection]));
    const rows: EventInsertRow[] = [];
    const seen = new Set<string>();
    const rejectedRows: Array<Record<string, unknown>> = [];
    let index = 0;
    run.requests.forEach((request) => {
      for (const event of request.events) {
        const rejection = rejected.get(index);
        if (rejection) {
          rejectedRows.push(rejectedRow(ref.projectId, request.batchId, rejection, event));
        } else if (!seen.has(event.id)) {
          // First occurrence wins inside a run, matching what ON CONFLICT does across runs.
          seen.add(event.id);
          rows.push({ ...request, event, enrichment: enrichment.events[index], client: enrichment.clients[index] });
        }
        index += 1;
      }
    });
    annotateBatch(ref.runId, run.requests.flatMap((request) => request.events.map((event) => event.id)));
    const inserted = rows.length === 0 ? [] : await insertEventRows(trx, ref.projectId, rows);
    if (rejectedRows.length > 0) {
      await trx('rejected_events').insert(rejectedRows).onConflict(['project_id', 'batch_id', 'event_id']).ignore();
    }

    const storedIds = new Set(inserted.map(({ id }) => id));
    const deliverable = inserted.length > 0 && (await hasEnabledTargets(trx, ref.projectId));
    const summaries = run.requests.map((request) => requestSummary(request, rejected, storedIds, run));
    const result: RunPersistResult = {
      stored: inserted.length,
      duplicates: ref.eventCount - rejected.size - inserted.length,
      storedIds: deliverable ? inserted.map(({ id }) => id) : [],
      ...(deliverable ? { storedRowRefs: inserted.map(({ row_ref }) => row_ref) } : {}),
      deliverable,
      summary: {
        batchId: ref.runId,
        received: ref.eventCount,
        invalid: rejected.size,
        duplicates: ref.eventCount - rejected.size - inserted.length,
        stored: inserted.length,
        rejected: rejectedList.map(({ id, type, reasons }) => ({ id, type, reasons })),
        batches: run.requests.length,
      },
    };
    await trx('batches').insert(
      run.requests.map((request, requestIndex) => ({
        id: request.batchId,
        project_id: ref.projectId,
        workflow_id: `batch:${ref.runId}`,
        received_at: request.receivedAt,
        trace_id: request.traceId ?? null,
        // The first request's row also keeps the run's result, so a retried persist returns it.
        summary: JSON.stringify(requestIndex === 0 ? { ...summaries[requestIndex], run: result } : summaries[requestIndex]),
      })),
    );
    await deleteRun(trx, ref.runId);
    return result;
  }

  return { validateRun, enrichRun, persistRun };
}

/** A request's own summary, as GET /v1/batches/:id reports it. */
function requestSummary(request: AcceptedRequest, rejected: Map<number, Rejection>, storedIds: Set<string>, run: LoadedRun) {
  const offset = eventOffset(run, request);
  const own = request.events.map((event, index) => ({ event, rejection: rejected.get(offset + index) }));
  const rejections = own.filter(({ rejection }) => rejection).map(({ rejection }) => rejection!);
  // An id stored by this run counts as stored for its first request only.
  let stored = 0;
  for (const { event, rejection } of own) {
    if (!rejection && storedIds.delete(event.id)) stored += 1;
  }
  const summary: Omit<BatchSummary, 'batchId' | 'deliveries' | 'batches'> = {
    received: request.events.length,
    invalid: rejections.length,
    duplicates: request.events.length - rejections.length - stored,
    stored,
    rejected: rejections.map(({ id, type, reasons }) => ({ id, type, reasons })),
  };
  return summary;
}

function eventOffset(run: LoadedRun, request: AcceptedRequest): number {
  let offset = 0;
  for (const candidate of run.requests) {
    if (candidate === request) return offset;
    offset += candidate.events.length;
  }
  return offset;
}

function rejectedRow(projectId: string, batchId: string, rejection: Rejection, event: IngestEvent) {
  return {
    project_id: projectId,
    batch_id: batchId,
    event_id: rejection.id,
    type: rejection.type,
    reasons: JSON.stringify(rejection.reasons),
    payload: JSON.stringify(event),
  };
}

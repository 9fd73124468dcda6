import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { AcceptedRequest, BatchRef, ClientInfo, IngestEvent } from '../shared/batch.ts';

// Every query on `ingest_requests` and `ingest_runs` (migrations/20261202000000_ingest_log.ts).

/** A request about to be accepted: its events serialized once, as they will be stored and digested. */
export interface PendingRequest {
  batchId: string;
  projectId: string;
  taskQueue: string;
  receivedAt: string;
  sentAt?: string;
  client: ClientInfo;
  eventCount: number;
  /** JSON array of the request's IngestEvents. */
  eventsJson: string;
  digest: Buffer;
  traceparent: string | null;
}

export function pendingRequest(
  request: Omit<PendingRequest, 'eventsJson' | 'digest' | 'eventCount' | 'traceparent'> & { events: IngestEvent[]; traceparent?: string | null },
): PendingRequest {
  const eventsJson = JSON.stringify(request.events);
  return {
    batchId: request.batchId,
    projectId: request.projectId,
    taskQueue: request.taskQueue,
    receivedAt: request.receivedAt,
    sentAt: request.sentAt,
    client: request.client,
    eventCount: request.events.length,
    eventsJson,
    digest: createHash('sha256').update(eventsJson).digest(),
    traceparent: request.traceparent ?? null,
  };
}

/**
 * Appends requests in one statement (the caller's group commit). A request whose batch id is already
 * accepted, or already stored (a retry with the same Idempotency-Key after its run finished), adds
 * nothing: the retry is answered with the same ids and is never processed twice.
 */
export async function insertRequests(db: Knex, requests: PendingRequest[]): Promise<void> {
  const column = <T>(pick: (request: PendingRequest) => T) => requests.map(pick);
  await db.raw(
    `INSERT INTO ingest_requests (batch_id, project_id, task_queue, received_at, sent_at, client, events, event_count, digest, traceparent)
     SELECT u.* FROM unnest(?::text[], ?::uuid[], ?::text[], ?::timestamptz[], ?::timestamptz[], ?::jsonb[], ?::jsonb[], ?::int[], ?::bytea[], ?::text[])
       AS u(batch_id, project_id, task_queue, received_at, sent_at, client, events, event_count, digest, traceparent)
      WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = u.batch_id)
     ON CONFLICT (batch_id) DO NOTHING`,
    [
      column((request) => request.batchId),
      column((request) => request.projectId),
      column((request) => request.taskQueue),
      column((request) => request.receivedAt),
      column((request) => request.sentAt ?? null),
      column((request) => JSON.stringify(request.client)),
      column((request) => request.eventsJson),
      column((request) => request.eventCount),
      column((request) => request.digest),
      column((request) => request.traceparent),
    ] as unknown as readonly Knex.RawBinding[],
  );
}

export interface RunLimits {
  /** Most events one run carries (one bulk insert). */
  maxEvents: number;
  /** Most requests one run carries (its batch ids ride in the run's input and search attribute). */
  maxRequests: number;
}

/** Requests looked at per claim; runs beyond it wait for the next claim. */
const CLAIM_SCAN = 5_000;

/**
 * Groups unassigned requests, per project and in acceptance order, into runs, and records them, in one
 * transaction. SKIP LOCKED lets several API processes claim at once without ever claiming a request
 * twice. A run is named after its first request.
 */
/** A run to start: its reference, and the traces of the requests it gathers. */
export interface ClaimedRun {
  ref: BatchRef;
  traceparents: Array<string | null>;
}

export async function claimRuns(db: Knex, taskQueue: string, limits: RunLimits): Promise<ClaimedRun[]> {
  return db.transaction(async (trx) => {
    let rows: Array<{ batch_id: string; project_id: string; event_count: number; digest: Buffer; traceparent: string | null }> = await trx('ingest_requests')
      .select('batch_id', 'project_id', 'event_count', 'digest', 'traceparent')
      .where('task_queue', taskQueue)
      .whereNull('run_id')
      .orderBy('seq')
      .limit(CLAIM_SCAN)
      .forUpdate()
      .skipLocked();
    if (rows.length === 0) return [];

    // A retry (same Idempotency-Key) accepted in the instant its first copy's run committed is already
    // stored: drop it here rather than start a run that would find its batch done.
    const done = await trx.raw(
      `DELETE FROM ingest_requests r USING batches b WHERE r.batch_id = b.id AND r.batch_id = ANY(?) RETURNING r.batch_id`,
      [rows.map((row) => row.batch_id)],
    );
    if (done.rows.length > 0) {
      const stored = new Set(done.rows.map((row: { batch_id: string }) => row.batch_id));
      rows = rows.filter((row) => !stored.has(row.batch_id));
      if (rows.length === 0) return [];
    }

    const open = new Map<string, ClaimedRun & { digests: Buffer[] }>();
    const runs: Array<ClaimedRun & { digests: Buffer[] }> = [];
    for (const row of rows) {
      let run = open.get(row.project_id);
      if (run && (run.ref.eventCount + row.event_count > limits.maxEvents || run.ref.batchIds.length >= limits.maxRequests)) run = undefined;
      if (!run) {
        run = { ref: { runId: row.batch_id, projectId: row.project_id, batchIds: [], eventCount: 0, digest: '' }, digests: [], traceparents: [] };
        open.set(row.project_id, run);
        runs.push(run);
      }
      run.ref.batchIds.push(row.batch_id);
      run.ref.eventCount += row.event_count;
      run.digests.push(row.digest);
      run.traceparents.push(row.traceparent);
    }
    for (const run of runs) run.ref.digest = runDigest(run.digests);

    await trx.raw(
      `UPDATE ingest_requests r SET run_id = u.run_id
         FROM unnest(?::text[], ?::text[]) AS u(batch_id, run_id)
        WHERE r.batch_id = u.batch_id`,
      [runs.flatMap((run) => run.ref.batchIds), runs.flatMap((run) => run.ref.batchIds.map(() => run.ref.runId))],
    );
    await trx('ingest_runs').insert(
      runs.map(({ ref }) => ({
        id: ref.runId,
        project_id: ref.projectId,
        request_count: ref.batchIds.length,
        event_count: ref.eventCount,
        digest: Buffer.from(ref.digest, 'hex'),
        task_queue: taskQueue,
      })),
    );
    return runs.map(({ ref, traceparents }) => ({ ref, traceparents }));
  });
}

export function runDigest(requestDigests: Buffer[]): string {
  const hash = createHash('sha256');
  for (const digest of requestDigests) hash.update(digest);
  return hash.digest('hex');
}

export async function markRunsStarted(db: Knex, runIds: string[]): Promise<void> {
  if (runIds.length === 0) return;
  await db('ingest_runs').whereIn('id', runIds).whereNull('started_at').update({ started_at: db.fn.now() });
}

/**
 * Runs recorded but never confirmed started, older than `olderThanSeconds`: their starter died between
 * its claim and the workflow start (or Temporal refused). Starting them again is safe: the workflow id
 * is the run id, so a run that did start is attached to, never run twice.
 */
export async function unstartedRuns(db: Knex, taskQueue: string, olderThanSeconds: number, limit: number): Promise<ClaimedRun[]> {
  const runs: Array<{ id: string; project_id: string; event_count: number; digest: Buffer }> = await db('ingest_runs')
    .select('id', 'project_id', 'event_count', 'digest')
    .where('task_queue', taskQueue)
    .whereNull('started_at')
    .andWhere('created_at', '<', db.raw(`now() - make_interval(secs => ?)`, [olderThanSeconds]))
    .orderBy('created_at')
    .limit(limit);
  if (runs.length === 0) return [];
  const members: Array<{ run_id: string; batch_id: string; traceparent: string | null }> = await db('ingest_requests')
    .select('run_id', 'batch_id', 'traceparent')
    .whereIn('run_id', runs.map((run) => run.id))
    .orderBy('seq');
  return runs.map((run) => {
    const own = members.filter((member) => member.run_id === run.id);
    return {
      ref: {
        runId: run.id,
        projectId: run.project_id,
        batchIds: own.map((member) => member.batch_id),
        eventCount: run.event_count,
        digest: run.digest.toString('hex'),
      },
      traceparents: own.map((member) => member.traceparent),
    };
  });
}

/** Age in ms of the oldest accepted request not yet started as part of a run (0 when none): the ingest lag. */
export async function oldestWaitingRequestAgeMs(db: Knex, taskQueue: string): Promise<number> {
  const row = await db.raw(
    `SELECT GREATEST(
       COALESCE((SELECT extract(epoch FROM now() - received_at) * 1000 FROM ingest_requests
                  WHERE task_queue = ? AND run_id IS NULL ORDER BY task_queue, seq LIMIT 1), 0),
       COALESCE((SELECT extract(epoch FROM now() - created_at) * 1000 FROM ingest_runs
                  WHERE task_queue = ? AND started_at IS NULL ORDER BY task_queue, created_at LIMIT 1), 0)
     ) AS age_ms`,
    [taskQueue, taskQueue],
  );
  return Math.round(Number(row.rows[0].age_ms));
}

/** A run's requests, in acceptance order; empty once the run was persisted (its rows are deleted then). */
export async function loadRunRequests(db: Knex, runId: string): Promise<Array<AcceptedRequest & { digest: Buffer }>> {
  const rows: Array<{ batch_id: string; received_at: Date; sent_at: Date | null; client: ClientInfo; events: IngestEvent[]; digest: Buffer; traceparent: string | null }> =
    await db('ingest_requests').select('batch_id', 'received_at', 'sent_at', 'client', 'events', 'digest', 'traceparent').where('run_id', runId).orderBy('seq');
  return rows.map((row) => ({
    batchId: row.batch_id,
    receivedAt: row.received_at.toISOString(),
    ...(row.sent_at ? { sentAt: row.sent_at.toISOString() } : {}),
    client: row.client,
    events: row.events,
    digest: row.digest,
    ...(row.traceparent ? { traceId: row.traceparent.split('-')[1] } : {}),
  }));
}

/** Drops a persisted run's payload rows, inside the transaction that stored its events. */
export async function deleteRun(trx: Knex.Transaction, runId: string): Promise<void> {
  await trx('ingest_requests').where('run_id', runId).delete();
  await trx('ingest_runs').where('id', runId).delete();
}

/** Where an accepted request stands before its run stored it: waiting for a run, or in one. */
export async function findAcceptedRequest(
  db: Knex,
  projectId: string,
  batchId: string,
): Promise<{ run_id: string | null; received_at: Date; started_at: Date | null } | undefined> {
  return db('ingest_requests as r')
    .leftJoin('ingest_runs as u', 'u.id', 'r.run_id')
    .select('r.run_id', 'r.received_at', 'u.started_at')
    .where({ 'r.project_id': projectId, 'r.batch_id': batchId })
    .first();
}

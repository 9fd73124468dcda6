import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { delay } from '../src/dev/process.ts';
import { round } from './proc-stats.ts';

// What reached Postgres for one phase's project: how long the backlog took to drain, the accept → stored
// latency per event (stored_at − the client's scheduled send time, in SQL), and the loss check of the
// ids the API acknowledged against the rows stored.

export interface DrainResult {
  stored: number;
  expected: number;
  /** Seconds from the end of the load to the moment every accepted event was stored (or we gave up). */
  waitedSeconds: number;
  complete: boolean;
  gaveUp: string | undefined;
}

/**
 * Waits until every accepted event is stored, progress stalls for `stallSeconds`, or time runs out.
 * It polls the project's `batches` rows (one per finished persist, written in the same transaction as
 * its events): counting a million fresh, not yet vacuumed event rows every second would itself load
 * Postgres. The events are counted once the batches are all there.
 */
export async function waitForStored(
  db: pg.Pool,
  projectId: string,
  expected: { events: number; batches: number },
  options: { timeoutSeconds: number; stallSeconds: number; log: (message: string) => void; extra?: () => Promise<boolean> },
): Promise<DrainResult> {
  const started = performance.now();
  const count = async (table: 'events' | 'batches') =>
    Number((await db.query(`SELECT count(*) AS n FROM ${table} WHERE project_id = $1`, [projectId])).rows[0].n);
  let batches = -1;
  let lastChange = performance.now();
  let lastLog = performance.now();
  for (;;) {
    const now = await count('batches');
    if (now !== batches) lastChange = performance.now();
    batches = now;
    const waited = (performance.now() - started) / 1000;
    if (batches >= expected.batches && (!options.extra || (await options.extra()))) {
      const stored = await count('events');
      if (stored >= expected.events) {
        return { stored, expected: expected.events, waitedSeconds: round(waited, 1), complete: true, gaveUp: undefined };
      }
    }
    const stalled = (performance.now() - lastChange) / 1000 > options.stallSeconds;
    if (stalled || waited > options.timeoutSeconds) {
      return {
        stored: await count('events'),
        expected: expected.events,
        waitedSeconds: round(waited, 1),
        complete: false,
        gaveUp: stalled ? `no progress for ${options.stallSeconds} s` : `timed out after ${options.timeoutSeconds} s`,
      };
    }
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      options.log(`  draining: ${batches}/${expected.batches} batches stored after ${Math.round(waited)} s`);
    }
    await delay(1_000);
  }
}

export interface StoredStats {
  stored: number;
  /** stored_at − scheduled send time, ms (percentile_cont over every event of the phase). */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  firstStoredAtMs: number;
  lastStoredAtMs: number;
  /** Stored ÷ (last stored_at − first scheduled send): the end-to-end rate including the drain. */
  storedPerSecond: number;
  /** Median of the per-second stored counts while the load ran (first and last 2 s left out). */
  medianStoredPerSecondDuringLoad: number;
  storedPerSecondTimeline: number[];
  /** Events persistBatch found already stored (retries after a crash, duplicated ids). */
  duplicatesSeenByPersist: number;
  invalid: number;
  batches: number;
}

export async function storedStats(db: pg.Pool, projectId: string, loadStartMs: number, loadEndMs: number): Promise<StoredStats> {
  const summary = (
    await db.query(
      `SELECT count(*) AS stored,
              percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency) AS pct,
              max(latency) AS max,
              extract(epoch FROM min(stored_at)) * 1000 AS first_ms,
              extract(epoch FROM max(stored_at)) * 1000 AS last_ms
         FROM (SELECT stored_at, extract(epoch FROM stored_at) * 1000 - (properties->>'bench_sent_ms')::float8 AS latency
                 FROM events WHERE project_id = $1) AS per_event`,
      [projectId],
    )
  ).rows[0];
  const timeline = (
    await db.query(
      `SELECT floor(extract(epoch FROM stored_at) - $2::float8 / 1000)::int AS second, count(*) AS n
         FROM events WHERE project_id = $1 GROUP BY 1 ORDER BY 1`,
      [projectId, loadStartMs],
    )
  ).rows as Array<{ second: number; n: number }>;
  const batches = (
    await db.query(
      `SELECT count(*) AS batches, coalesce(sum((summary->>'duplicates')::int), 0) AS duplicates,
              coalesce(sum((summary->>'invalid')::int), 0) AS invalid
         FROM batches WHERE project_id = $1`,
      [projectId],
    )
  ).rows[0];

  const perSecond: number[] = [];
  for (const { second, n } of timeline) if (second >= 0) perSecond[second] = Number(n);
  const filled = Array.from(perSecond, (n) => n ?? 0);
  const loadSeconds = Math.floor((loadEndMs - loadStartMs) / 1000);
  const steady = filled.slice(2, Math.max(3, loadSeconds - 2)).sort((a, b) => a - b);
  const stored = Number(summary.stored);
  const pct = (summary.pct ?? [0, 0, 0]) as number[];
  return {
    stored,
    latencyMs: { p50: round(pct[0]!, 1), p95: round(pct[1]!, 1), p99: round(pct[2]!, 1), max: round(Number(summary.max ?? 0), 1) },
    firstStoredAtMs: Number(summary.first_ms),
    lastStoredAtMs: Number(summary.last_ms),
    storedPerSecond: stored > 0 ? Math.round(stored / ((Number(summary.last_ms) - loadStartMs) / 1000)) : 0,
    medianStoredPerSecondDuringLoad: steady.length > 0 ? steady[Math.floor(steady.length / 2)]! : 0,
    storedPerSecondTimeline: filled,
    duplicatesSeenByPersist: Number(batches.duplicates),
    invalid: Number(batches.invalid),
    batches: Number(batches.batches),
  };
}

export interface LossCheck {
  acceptedIds: number;
  distinctAcceptedIds: number;
  /** The same id acknowledged twice. */
  duplicateAcceptedIds: number;
  storedRows: number;
  /** Acknowledged with a 202 but not in Postgres: lost. */
  missing: number;
  /** In Postgres without a 202 (e.g. the client gave up waiting while the start still went through). */
  storedNotAccepted: number;
  ok: boolean;
}

/** Loads the acknowledged ids (one per line) into a temp table and compares both ways. */
export async function lossCheck(db: pg.Pool, projectId: string, idsFile: string): Promise<LossCheck> {
  const client = await db.connect();
  try {
    // A bound, so a bad plan can never hang the benchmark; and fresh statistics, without which the
    // anti-joins below can pick a nested loop over a non-unique index and run for many minutes.
    await client.query(`SET statement_timeout = '300s'`);
    await client.query('ANALYZE events');
    await client.query('CREATE TEMP TABLE bench_accepted_ids (id text NOT NULL) ON COMMIT PRESERVE ROWS');
    await pipeline(createReadStream(idsFile), client.query(copyFrom('COPY bench_accepted_ids (id) FROM STDIN')));
    await client.query('ANALYZE bench_accepted_ids');
    const row = (
      await client.query(
        `SELECT (SELECT count(*) FROM bench_accepted_ids) AS accepted,
                (SELECT count(DISTINCT id) FROM bench_accepted_ids) AS distinct_accepted,
                (SELECT count(*) FROM events WHERE project_id = $1) AS stored,
                (SELECT count(*) FROM (SELECT DISTINCT id FROM bench_accepted_ids) a
                  WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.project_id = $1 AND e.id = a.id)) AS missing,
                (SELECT count(*) FROM events e WHERE e.project_id = $1
                  AND NOT EXISTS (SELECT 1 FROM bench_accepted_ids a WHERE a.id = e.id)) AS stored_not_accepted`,
        [projectId],
      )
    ).rows[0];
    const result = {
      acceptedIds: Number(row.accepted),
      distinctAcceptedIds: Number(row.distinct_accepted),
      duplicateAcceptedIds: Number(row.accepted) - Number(row.distinct_accepted),
      storedRows: Number(row.stored),
      missing: Number(row.missing),
      storedNotAccepted: Number(row.stored_not_accepted),
    };
    return { ...result, ok: result.missing === 0 && result.duplicateAcceptedIds === 0 };
  } finally {
    await client.query('DROP TABLE IF EXISTS bench_accepted_ids').catch(() => undefined);
    await client.query('RESET statement_timeout').catch(() => undefined);
    client.release();
  }
}

export interface PostgresCounters {
  walBytes: number;
  walFullPageImages: number;
  checkpoints: number;
  eventsAutovacuums: number;
  eventsAutoanalyzes: number;
}

/** Server-wide counters whose growth over a phase says what Postgres did besides the inserts (PG ≥ 17). */
export async function postgresCounters(db: pg.Pool): Promise<PostgresCounters | undefined> {
  try {
    const row = (
      await db.query(
        `SELECT (SELECT wal_bytes FROM pg_stat_wal) AS wal_bytes,
                (SELECT wal_fpi FROM pg_stat_wal) AS wal_fpi,
                (SELECT num_timed + num_requested FROM pg_stat_checkpointer) AS checkpoints,
                (SELECT coalesce(sum(autovacuum_count), 0) FROM pg_stat_user_tables WHERE relname = 'events') AS autovacuums,
                (SELECT coalesce(sum(autoanalyze_count), 0) FROM pg_stat_user_tables WHERE relname = 'events') AS autoanalyzes`,
      )
    ).rows[0];
    return {
      walBytes: Number(row.wal_bytes),
      walFullPageImages: Number(row.wal_fpi),
      checkpoints: Number(row.checkpoints),
      eventsAutovacuums: Number(row.autovacuums),
      eventsAutoanalyzes: Number(row.autoanalyzes),
    };
  } catch {
    return undefined;
  }
}

/** What Postgres did over a phase: WAL written per stored event, checkpoints, autovacuum/analyze runs on events. */
export function postgresActivity(before: PostgresCounters | undefined, after: PostgresCounters | undefined, storedEvents: number) {
  if (!before || !after) return undefined;
  return {
    walBytesPerEvent: storedEvents > 0 ? Math.round((after.walBytes - before.walBytes) / storedEvents) : undefined,
    walFullPageImages: after.walFullPageImages - before.walFullPageImages,
    checkpoints: after.checkpoints - before.checkpoints,
    eventsAutovacuums: after.eventsAutovacuums - before.eventsAutovacuums,
    eventsAutoanalyzes: after.eventsAutoanalyzes - before.eventsAutoanalyzes,
  };
}

export interface StatementCost {
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
  /** Execution time per stored event, µs (wall time inside Postgres, a proxy for its CPU). */
  microsPerEvent: number;
}

export async function resetStatementStats(db: pg.Pool): Promise<void> {
  await db.query('SELECT pg_stat_statements_reset()');
}

/** The statements that took the most execution time since the last reset (the benchmark's own left out). */
export async function statementCosts(db: pg.Pool, storedEvents: number, limit = 10): Promise<StatementCost[]> {
  const rows = (
    await db.query(
      `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls, total_exec_time, mean_exec_time, rows
         FROM pg_stat_statements
        WHERE query NOT ILIKE '%pg_stat_statements%' AND query NOT ILIKE '%bench_accepted_ids%'
          AND query NOT ILIKE 'SELECT count(*) AS n FROM%' AND query NOT ILIKE '%pg_stat_wal%'
        ORDER BY total_exec_time DESC LIMIT $1`,
      [limit],
    )
  ).rows as Array<{ query: string; calls: string; total_exec_time: number; mean_exec_time: number; rows: string }>;
  return rows.map((row) => ({
    query: row.query.length > 160 ? `${row.query.slice(0, 157)}...` : row.query,
    calls: Number(row.calls),
    totalMs: Math.round(row.total_exec_time),
    meanMs: round(row.mean_exec_time, 2),
    rows: Number(row.rows),
    microsPerEvent: storedEvents > 0 ? Math.round((row.total_exec_time * 1000) / storedEvents) : 0,
  }));
}

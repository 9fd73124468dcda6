import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { v7 as uuidv7 } from 'uuid';
import { enrichBatch } from '../activities/enrich.ts';
import type { IngestEvent } from '../src/shared/batch.ts';
import { benchEvent, BENCH_USER_AGENT } from './events.ts';
import { round } from './proc-stats.ts';

// (a) The raw Postgres insert ceiling: the rows EventFlow stores, written straight into a scratch table
// of identical shape (same columns, defaults, primary key, indexes and foreign key as `events`) with no
// API, Temporal or worker in between. Everything else in the stack shares the same cores and disk, so
// this is the ceiling the stored-events rate can at best approach.

export const SCRATCH_TABLE = 'bench_scratch_events';
const UNNEST_BATCH = 1_000;
const COPY_BATCH = 10_000;
const TEMPLATE_ROWS = 1_000;

export interface InsertRate {
  method: string;
  connections: number;
  rowsPerStatement: number;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

export interface PostgresCeiling {
  /** Average size of the row's JSONB text (properties + context + enrichment), bytes. */
  jsonBytesPerRow: number;
  unnest: InsertRate;
  copy: InsertRate[];
  settings: Record<string, string>;
}

interface RowTemplate {
  type: string;
  user_id: string;
  timestamp: string;
  original_timestamp: string;
  properties: string;
  context: string;
  enrichment: string;
}

/** Rows shaped exactly like the worker's: the same events, enriched by the worker's own enrichBatch. */
async function rowTemplates(): Promise<RowTemplate[]> {
  const now = Date.now();
  const events: IngestEvent[] = Array.from({ length: TEMPLATE_ROWS }, (_, index) => ({ id: '', ...benchEvent(index, now) }));
  const receivedAt = new Date(now).toISOString();
  const enrichment = await enrichBatch({ receivedAt, sentAt: receivedAt, client: { ip: '127.0.0.1', userAgent: BENCH_USER_AGENT }, events });
  return events.map((event, index) => {
    const enriched = enrichment.events[index]!;
    return {
      type: event.type,
      user_id: event.user_id!,
      timestamp: enriched.timestamp,
      original_timestamp: event.timestamp!,
      properties: JSON.stringify(event.properties),
      context: JSON.stringify(event.context),
      enrichment: JSON.stringify({ ...enrichment.client, ...(enriched.urls ? { urls: enriched.urls } : {}) }),
    };
  });
}

// The statement persistBatch runs (activities/persist.ts), aimed at the scratch table.
const UNNEST_INSERT = `INSERT INTO ${SCRATCH_TABLE} (project_id, batch_id, received_at, sent_at, id, type, user_id, anonymous_id,
                         timestamp, original_timestamp, properties, context, enrichment)
     SELECT $1::uuid, $2, $3::timestamptz, $4::timestamptz, u.*
       FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[],
                   $11::jsonb[], $12::jsonb[], $13::jsonb[])
         AS u(id, type, user_id, anonymous_id, timestamp, original_timestamp, properties, context, enrichment)
     ON CONFLICT (project_id, id) DO NOTHING`;

function unnestParams(projectId: string, templates: RowTemplate[]): unknown[] {
  const now = new Date().toISOString();
  const rows = templates.slice(0, UNNEST_BATCH);
  return [
    projectId,
    uuidv7(),
    now,
    now,
    rows.map(() => uuidv7()),
    rows.map((row) => row.type),
    rows.map((row) => row.user_id),
    rows.map(() => null),
    rows.map((row) => row.timestamp),
    rows.map((row) => row.original_timestamp),
    rows.map((row) => row.properties),
    rows.map((row) => row.context),
    rows.map((row) => row.enrichment),
  ];
}

/** COPY text format: tab-separated, `\N` for NULL, backslash escapes. */
function copyText(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

function copyChunk(projectId: string, templates: RowTemplate[], rows: number): string {
  const now = new Date().toISOString();
  const batchId = uuidv7();
  const lines: string[] = [];
  for (let index = 0; index < rows; index++) {
    const row = templates[index % templates.length]!;
    lines.push(
      [projectId, batchId, now, now, uuidv7(), row.type, row.user_id, null, row.timestamp, row.original_timestamp, row.properties, row.context, row.enrichment]
        .map(copyText)
        .join('\t'),
    );
  }
  return lines.join('\n') + '\n';
}

const COPY_STATEMENT = `COPY ${SCRATCH_TABLE} (project_id, batch_id, received_at, sent_at, id, type, user_id, anonymous_id,
  timestamp, original_timestamp, properties, context, enrichment) FROM STDIN`;

async function timed(
  databaseUrl: string,
  connections: number,
  seconds: number,
  statement: (client: pg.Client) => Promise<number>,
): Promise<{ rows: number; seconds: number }> {
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      return client;
    }),
  );
  try {
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const counts = await Promise.all(
      clients.map(async (client) => {
        let rows = 0;
        while (performance.now() < deadline) rows += await statement(client);
        return rows;
      }),
    );
    return { rows: counts.reduce((sum, count) => sum + count, 0), seconds: (performance.now() - started) / 1000 };
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

function rate(method: string, connections: number, rowsPerStatement: number, result: { rows: number; seconds: number }): InsertRate {
  return {
    method,
    connections,
    rowsPerStatement,
    rows: result.rows,
    seconds: round(result.seconds, 1),
    rowsPerSecond: Math.round(result.rows / result.seconds),
  };
}

export async function measurePostgresCeiling(
  databaseUrl: string,
  projectId: string,
  seconds: number,
  log: (message: string) => void,
): Promise<PostgresCeiling> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP TABLE IF EXISTS ${SCRATCH_TABLE}`);
    // LIKE … INCLUDING ALL copies columns, defaults, primary key and indexes; foreign keys never come
    // along, so the one `events` has is added by hand: its check is part of every insert's cost.
    await admin.query(`CREATE TABLE ${SCRATCH_TABLE} (LIKE events INCLUDING ALL)`);
    await admin.query(
      `ALTER TABLE ${SCRATCH_TABLE} ADD CONSTRAINT ${SCRATCH_TABLE}_project_fk FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE`,
    );
    const templates = await rowTemplates();
    const jsonBytesPerRow = Math.round(
      templates.reduce((sum, row) => sum + row.properties.length + row.context.length + row.enrichment.length, 0) / templates.length,
    );

    log(`(a) Postgres ceiling: INSERT … SELECT FROM unnest, ${UNNEST_BATCH} rows per statement, 2 connections, ${seconds} s`);
    const unnest = rate(
      'INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING',
      2,
      UNNEST_BATCH,
      await timed(databaseUrl, 2, seconds, async (client) => {
        const result = await client.query(UNNEST_INSERT, unnestParams(projectId, templates));
        return result.rowCount ?? 0;
      }),
    );
    await admin.query(`TRUNCATE ${SCRATCH_TABLE}`);

    const copy: InsertRate[] = [];
    for (const connections of [1, 2]) {
      log(`(a) Postgres ceiling: COPY FROM STDIN, ${COPY_BATCH} rows per statement, ${connections} connection(s), ${seconds} s`);
      copy.push(
        rate(
          'COPY FROM STDIN (text)',
          connections,
          COPY_BATCH,
          await timed(databaseUrl, connections, seconds, async (client) => {
            await pipeline(Readable.from([copyChunk(projectId, templates, COPY_BATCH)]), client.query(copyFrom(COPY_STATEMENT)));
            return COPY_BATCH;
          }),
        ),
      );
      await admin.query(`TRUNCATE ${SCRATCH_TABLE}`);
    }

    const settings: Record<string, string> = {};
    for (const name of ['fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'max_connections']) {
      settings[name] = (await admin.query(`SHOW ${name}`)).rows[0][name];
    }
    return { jsonBytesPerRow, unnest, copy, settings };
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${SCRATCH_TABLE}`).catch(() => undefined);
    await admin.end();
  }
}

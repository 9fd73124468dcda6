import type pg from 'pg';

const SEED_CHUNK = 100_000;

/**
 * Stores `count` events straight into Postgres for the read-side benchmarks (the ingestion path is
 * measured by run.ts; here only the stored volume matters): 30 days, 12 types, 50,000 users. Fills the
 * stats rollups the way the migration does, then analyzes, so queries see a settled table.
 */
export async function seedEvents(db: pg.Pool, projectId: string, count: number): Promise<void> {
  for (let from = 0; from < count; from += SEED_CHUNK) {
    const to = Math.min(count, from + SEED_CHUNK) - 1;
    await db.query(
      `INSERT INTO events (project_id, id, type, user_id, timestamp, received_at, properties, batch_id)
       SELECT $1, 'seed-' || n, 'type_' || (n % 12), 'user-' || (n % 50000),
              now() - (n % 2592000) * interval '1 second', now(), jsonb_build_object('n', n, 'plan', 'pro'), 'seed'
         FROM generate_series($2::int, $3::int) AS n`,
      [projectId, from, to],
    );
  }
  await db.query(
    `INSERT INTO event_counts_hourly (project_id, hour, type, count)
     SELECT project_id, date_trunc('hour', timestamp, 'UTC'), type, count(*) FROM events WHERE project_id = $1 GROUP BY 1, 2, 3
     ON CONFLICT (project_id, hour, type) DO UPDATE SET count = event_counts_hourly.count + EXCLUDED.count`,
    [projectId],
  );
  await db.query(`INSERT INTO project_users (project_id, user_id) SELECT DISTINCT project_id, user_id FROM events WHERE project_id = $1 AND user_id IS NOT NULL ON CONFLICT DO NOTHING`, [projectId]);
  await db.query('VACUUM ANALYZE events');
}

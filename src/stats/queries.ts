import type { Knex } from 'knex';

const HOURS = 24;
const TOP_TYPES = 10;
const HOUR_MS = 3_600_000;

export interface ProjectStats {
  total: number;
  today: number;
  last_7_days: number;
  unique_users: number;
  top_event_types: Array<{ type: string; count: number }>;
  counts_by_type: Record<string, number>;
  hourly_last_24h: Array<{ hour: string; count: number }>;
}

/**
 * Counts over the project's events by their (skew-corrected) timestamp. Day and hour boundaries are
 * UTC whatever the database session's time zone is (three-argument date_trunc).
 */
export async function projectStats(db: Knex, projectId: string): Promise<ProjectStats> {
  const currentHour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const hours = Array.from({ length: HOURS }, (_, index) => currentHour - (HOURS - 1 - index) * HOUR_MS);
  const [totals, byType, hourly] = await Promise.all([
    db.raw(
      `SELECT count(*) AS total,
              count(*) FILTER (WHERE timestamp >= date_trunc('day', now(), 'UTC')) AS today,
              count(*) FILTER (WHERE timestamp >= now() - interval '7 days') AS last_7_days,
              count(DISTINCT user_id) AS unique_users
         FROM events WHERE project_id = ?`,
      [projectId],
    ),
    db.raw(`SELECT type, count(*) AS count FROM events WHERE project_id = ? GROUP BY type ORDER BY count DESC, type`, [projectId]),
    db.raw(
      `SELECT date_trunc('hour', timestamp, 'UTC') AS hour, count(*) AS count
         FROM events
        WHERE project_id = ? AND timestamp >= ? AND timestamp < ?
        GROUP BY 1`,
      [projectId, new Date(hours[0]), new Date(currentHour + HOUR_MS)],
    ),
  ]);

  const types = byType.rows as Array<{ type: string; count: number }>;
  const countsByHour = new Map((hourly.rows as Array<{ hour: Date; count: number }>).map((row) => [row.hour.getTime(), row.count]));
  const { total, today, last_7_days, unique_users } = totals.rows[0];
  return {
    total,
    today,
    last_7_days,
    unique_users,
    top_event_types: types.slice(0, TOP_TYPES),
    counts_by_type: Object.fromEntries(types.map((row) => [row.type, row.count])),
    hourly_last_24h: hours.map((hour) => ({ hour: new Date(hour).toISOString(), count: countsByHour.get(hour) ?? 0 })),
  };
}

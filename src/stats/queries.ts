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
 * Counts over the project's events by their (skew-corrected) timestamp, read from the hourly rollups
 * and the project's user set (kept by the statement that stores events), so the cost follows the number
 * of hours and types, not of events. Day and hour boundaries are UTC; "last 7 days" counts whole hours,
 * from the start of the hour 168 hours ago.
 */
export async function projectStats(db: Knex, projectId: string): Promise<ProjectStats> {
  const currentHour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const hours = Array.from({ length: HOURS }, (_, index) => currentHour - (HOURS - 1 - index) * HOUR_MS);
  const [totals, users, byType, hourly] = await Promise.all([
    db.raw(
      `SELECT coalesce(sum(count), 0)::bigint AS total,
              coalesce(sum(count) FILTER (WHERE hour >= date_trunc('day', now(), 'UTC')), 0)::bigint AS today,
              coalesce(sum(count) FILTER (WHERE hour >= ?), 0)::bigint AS last_7_days
         FROM event_counts_hourly WHERE project_id = ?`,
      [new Date(currentHour - 7 * 24 * HOUR_MS), projectId],
    ),
    db.raw(`SELECT count(*) AS unique_users FROM project_users WHERE project_id = ?`, [projectId]),
    db.raw(`SELECT type, sum(count)::bigint AS count FROM event_counts_hourly WHERE project_id = ? GROUP BY type ORDER BY count DESC, type`, [projectId]),
    db.raw(
      `SELECT hour, sum(count)::bigint AS count FROM event_counts_hourly
        WHERE project_id = ? AND hour >= ? AND hour < ? GROUP BY hour`,
      [projectId, new Date(hours[0]), new Date(currentHour + HOUR_MS)],
    ),
  ]);

  const types = (byType.rows as Array<{ type: string; count: string | number }>).map((row) => ({ type: row.type, count: Number(row.count) }));
  const countsByHour = new Map((hourly.rows as Array<{ hour: Date; count: string | number }>).map((row) => [row.hour.getTime(), Number(row.count)]));
  const { total, today, last_7_days } = totals.rows[0];
  return {
    total: Number(total),
    today: Number(today),
    last_7_days: Number(last_7_days),
    unique_users: Number(users.rows[0].unique_users),
    top_event_types: types.slice(0, TOP_TYPES),
    counts_by_type: Object.fromEntries(types.map((row) => [row.type, row.count])),
    hourly_last_24h: hours.map((hour) => ({ hour: new Date(hour).toISOString(), count: countsByHour.get(hour) ?? 0 })),
  };
}

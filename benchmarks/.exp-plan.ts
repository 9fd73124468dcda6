import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { createDatabase, migrateToLatest } from '../src/db/connection.ts';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.ts';
import { getFreePort } from '../src/dev/process.ts';
const dir = await mkdtemp(join(tmpdir(), 'eventflow-plan-'));
const pgs = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await getFreePort() });
const knex = createDatabase(pgs.url, 2); await migrateToLatest(knex);
const c = new pg.Client({ connectionString: pgs.url }); await c.connect();
const project = uuidv7(); await c.query('INSERT INTO projects (id, name) VALUES ($1, $2)', [project, 'p']);
const props = JSON.stringify({ bench_sent_ms: 1, url: 'https://shop.example.com/products/1?utm_source=a', title: 'x'.repeat(40), referrer: 'https://www.example.org/blog', plan: 'pro', cart_value: 12.3 });
let last: string[] = [];
if (process.argv[2] === 'empty') await c.query('ANALYZE events');
if (process.argv[2] === 'small') { for (let b = 0; b < 4; b++) await c.query(`INSERT INTO events (project_id, batch_id, received_at, id, type, timestamp, properties) SELECT $1, 'b', now(), u.id, 'page_view', now(), $3::jsonb FROM unnest($2::text[]) AS u(id)`, [project, Array.from({ length: 500 }, () => uuidv7()), props]); await c.query('ANALYZE events'); }
for (let b = 0; b < 320; b++) {
  const ids = Array.from({ length: 500 }, () => uuidv7()); last = ids;
  await c.query(`INSERT INTO events (project_id, batch_id, received_at, id, type, timestamp, properties) SELECT $1, 'b', now(), u.id, 'page_view', now(), $3::jsonb FROM unnest($2::text[]) AS u(id)`, [project, ids, props]);
}
const q = async (label: string) => {
  const params = last.map((_, i) => `$${i + 2}`).join(', ');
  const t = performance.now();
  const plan = await c.query(`EXPLAIN (ANALYZE, COSTS OFF) select "id", "properties" from "events" where "project_id" = $1 and "id" in (${params})`, [project, ...last]);
  console.log(label, Math.round(performance.now() - t), 'ms'); console.log(plan.rows.map((r) => '   ' + String(r['QUERY PLAN']).replace(/'\{[^}]*\}'/g, "'{...}'")).join('\n'));
};
await q('before ANALYZE');
await c.query('ANALYZE events');
await q('after ANALYZE');
await c.end(); await knex.destroy(); await pgs.stop();

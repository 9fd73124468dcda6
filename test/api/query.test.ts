import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, type Stack, type TestProject } from '../helpers/stack.ts';

const HOUR = 3_600_000;

describe('querying events and stats, scoped to the caller’s project', () => {
  let stack: Stack;
  let project: TestProject;
  let other: TestProject;
  const now = Date.now();
  // Ages in hours; no sent_at, so each stored timestamp is exactly the one sent.
  const seeded = [
    { age: 0.25, type: 'page_view', user_id: 'alice' },
    { age: 1.5, type: 'page_view', user_id: 'bob' },
    { age: 2.5, type: 'signup', user_id: 'alice' },
    { age: 5, type: 'page_view', user_id: undefined },
    { age: 30, type: 'purchase', user_id: 'carol' },
    { age: 24 * 3, type: 'page_view', user_id: 'alice' },
    { age: 24 * 10, type: 'signup', user_id: 'dave' },
  ].map((event, index) => ({
    ...event,
    id: `q-${index}-${randomUUID()}`,
    timestamp: new Date(now - event.age * HOUR).toISOString(),
  }));
  // Two events sharing one timestamp: the id breaks the tie, and pagination must not split or repeat them.
  const tieTimestamp = new Date(now - 7 * HOUR).toISOString();
  seeded.push(
    { age: 7, type: 'tie', user_id: 'erin', id: `q-tie-a-${randomUUID()}`, timestamp: tieTimestamp },
    { age: 7, type: 'tie', user_id: 'erin', id: `q-tie-b-${randomUUID()}`, timestamp: tieTimestamp },
  );
  const newestFirst = [...seeded].sort((a, b) => b.timestamp.localeCompare(a.timestamp) || b.id.localeCompare(a.id));

  before(async () => {
    stack = await startStack();
    project = await stack.createProject('query');
    other = await stack.createProject('query-other');
    const body = seeded.map(({ id, type, user_id, timestamp }) => ({ id, type, timestamp, ...(user_id ? { user_id } : {}), properties: { n: id } }));
    const accepted = await stack.request('POST', '/v1/events', { key: project.adminKey, body });
    assert.equal(accepted.status, 202);
    await stack.waitFor(async () => {
      const batch = await stack.request('GET', `/v1/batches/${accepted.body.batch_id}`, { key: project.adminKey });
      return batch.body.status === 'completed';
    });
    // Noise in another project that must never show up.
    const noise = await stack.request('POST', '/v1/events', { key: other.adminKey, body: [{ type: 'page_view', user_id: 'alice' }] });
    await stack.waitFor(async () => (await stack.request('GET', `/v1/batches/${noise.body.batch_id}`, { key: other.adminKey })).body.status === 'completed');
  });
  after(() => stack?.stop());

  const get = (path: string, key = project.adminKey) => stack.request('GET', path, { key });

  test('lists events newest first with the documented fields', async () => {
    const response = await get('/v1/events');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.data.map((event: any) => event.id), newestFirst.map((event) => event.id));
    assert.equal(response.body.next_cursor, null);
    const [first] = response.body.data;
    assert.deepEqual(Object.keys(first).sort(), [
      'anonymous_id', 'batch_id', 'context', 'enrichment', 'id', 'original_timestamp', 'properties',
      'received_at', 'sent_at', 'timestamp', 'type', 'user_id',
    ]);
    assert.equal(first.timestamp, newestFirst[0].timestamp);
    assert.equal(first.sent_at, null);
    assert.deepEqual(first.properties, { n: first.id });
  });

  test('filters by type, user_id and time range (inclusive)', async () => {
    const byType = await get('/v1/events?type=signup');
    assert.deepEqual(byType.body.data.map((event: any) => event.id), newestFirst.filter((event) => event.type === 'signup').map((event) => event.id));

    const byUser = await get('/v1/events?user_id=alice');
    assert.deepEqual(byUser.body.data.map((event: any) => event.id), newestFirst.filter((event) => event.user_id === 'alice').map((event) => event.id));

    const from = seeded[2].timestamp;
    const to = seeded[0].timestamp;
    const range = await get(`/v1/events?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    assert.deepEqual(range.body.data.map((event: any) => event.id), [seeded[0].id, seeded[1].id, seeded[2].id]);

    const combined = await get(`/v1/events?type=page_view&user_id=alice&from=${encodeURIComponent(new Date(now - 2 * HOUR).toISOString())}`);
    assert.deepEqual(combined.body.data.map((event: any) => event.id), [seeded[0].id]);
  });

  test('pages with an opaque cursor, each event exactly once and in order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response: any = await get(`/v1/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(response.status, 200);
      assert.ok(response.body.data.length <= 2);
      seen.push(...response.body.data.map((event: any) => event.id));
      cursor = response.body.next_cursor;
      pages += 1;
    } while (cursor && pages < 20);
    assert.deepEqual(seen, newestFirst.map((event) => event.id));
    assert.equal(pages, Math.ceil(newestFirst.length / 2));

    // Filters and cursors combine.
    const first = await get('/v1/events?type=page_view&limit=1');
    const second = await get(`/v1/events?type=page_view&limit=1&cursor=${first.body.next_cursor}`);
    assert.deepEqual(
      [first.body.data[0].id, second.body.data[0].id],
      newestFirst.filter((event) => event.type === 'page_view').slice(0, 2).map((event) => event.id),
    );
  });

  test('400 invalid_query for bad parameters, listing each', async () => {
    for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'from=yesterday', 'to=2026-13-01T00:00:00Z', 'cursor=not-a-cursor', 'colour=red', 'type=a&type=b']) {
      const response = await get(`/v1/events?${query}`);
      assert.equal(response.status, 400, query);
      assert.equal(response.body.error.code, 'invalid_query');
      assert.ok(response.body.error.details.length > 0, query);
    }
    const several = await get('/v1/events?limit=0&from=nope');
    assert.deepEqual(several.body.error.details.map((detail: any) => detail.field).sort(), ['from', 'limit']);
    assert.equal((await get('/v1/events?limit=1000')).status, 200);
  });

  test('GET /v1/events/:id returns one event, or 404', async () => {
    const response = await get(`/v1/events/${seeded[4].id}`);
    assert.equal(response.status, 200);
    assert.equal(response.body.type, 'purchase');
    assert.equal(response.body.user_id, 'carol');
    const missing = await get(`/v1/events/${randomUUID()}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
  });

  test('another project sees none of it', async () => {
    const list = await get('/v1/events', other.adminKey);
    assert.equal(list.status, 200);
    assert.equal(list.body.data.length, 1);
    assert.ok(!list.body.data.some((event: any) => seeded.some((mine) => mine.id === event.id)));
    assert.equal((await get(`/v1/events/${seeded[0].id}`, other.adminKey)).status, 404);
    assert.equal((await get('/v1/events/rejected', other.adminKey)).body.data.length, 0);
    assert.equal((await get('/v1/stats', other.adminKey)).body.total, 1);
  });

  test('stats count the project’s events', async () => {
    const response = await get('/v1/stats');
    assert.equal(response.status, 200);
    const stats = response.body;
    const midnight = new Date(now);
    midnight.setUTCHours(0, 0, 0, 0);
    const since = (ms: number) => seeded.filter((event) => Date.parse(event.timestamp) >= ms).length;

    assert.equal(stats.total, seeded.length);
    assert.equal(stats.today, since(midnight.getTime()));
    assert.equal(stats.last_7_days, since(now - 7 * 24 * HOUR));
    assert.equal(stats.unique_users, 5);
    assert.deepEqual(stats.counts_by_type, { page_view: 4, signup: 2, purchase: 1, tie: 2 });
    assert.deepEqual(stats.top_event_types, [
      { type: 'page_view', count: 4 },
      { type: 'signup', count: 2 },
      { type: 'tie', count: 2 },
      { type: 'purchase', count: 1 },
    ]);

    assert.equal(stats.hourly_last_24h.length, 24);
    const hours = stats.hourly_last_24h.map((bucket: any) => Date.parse(bucket.hour));
    for (let index = 1; index < hours.length; index++) assert.equal(hours[index] - hours[index - 1], HOUR);
    assert.equal(hours[23], Math.floor(Date.now() / HOUR) * HOUR, 'the last bucket is the current hour');
    const inWindow = seeded.filter((event) => Date.parse(event.timestamp) >= hours[0]).length;
    assert.equal(stats.hourly_last_24h.reduce((sum: number, bucket: any) => sum + bucket.count, 0), inWindow);
    assert.ok(stats.hourly_last_24h.some((bucket: any) => bucket.count === 0), 'empty hours are zero-filled');
  });

  test('stats come from rollups kept by the statement that stores events: a resent event is not counted twice', async () => {
    const before = (await get('/v1/stats')).body;
    const body = seeded.slice(0, 3).map(({ id, type, user_id, timestamp }) => ({ id, type, timestamp, ...(user_id ? { user_id } : {}) }));
    const resent = await stack.request('POST', '/v1/events', { key: project.adminKey, body });
    await stack.waitFor(async () => (await get(`/v1/batches/${resent.body.batch_id}`)).body.status === 'completed');
    const after = (await get('/v1/stats')).body;
    assert.equal(after.total, before.total);
    assert.deepEqual(after.counts_by_type, before.counts_by_type);
    assert.equal(after.unique_users, before.unique_users);
    const [{ rows }] = [await stack.db.raw('SELECT sum(count)::int AS n FROM event_counts_hourly WHERE project_id = ?', [project.id])];
    assert.equal(rows[0].n, seeded.length);
  });
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { createDatabase } from '../../src/db/connection.ts';
import { generateSecret } from '../../src/deliveries/channels/webhook/signing.ts';
import { disableEndpoint, markEndpointFailing, markEndpointHealthy } from '../../src/deliveries/endpoints.ts';
import { recordAttempts, upsertDelivery, type NewAttempt } from '../../src/deliveries/records.ts';
import { createTestProject } from '../helpers/projects.ts';

let db: Knex;
let projectId: string;

before(async () => {
  db = createDatabase(process.env.DATABASE_URL as string, 2);
  projectId = await createTestProject(db, 'webhook-queries');
});

after(() => db.destroy());

async function createEndpoint(): Promise<string> {
  const id = randomUUID();
  await db('webhook_endpoints').insert({
    id,
    project_id: projectId,
    url: 'https://receiver.example.com/hook',
    event_types: ['*'],
    secret: generateSecret(),
  });
  return id;
}

function attempt(targetId: string, n: number): NewAttempt {
  return {
    project_id: projectId,
    channel: 'webhook',
    target_id: targetId,
    event_id: `evt_${n}`,
    delivery_id: `msg_${n}`,
    attempt: 1,
    attempted_at: new Date(),
    status_code: 500,
    duration_ms: 12,
    response_excerpt: 'oops',
    error: 'HTTP 500',
    outcome: 'retryable',
    trace_id: null,
  };
}

test('attempts are inserted in bulk, past one statement chunk', async () => {
  const endpointId = await createEndpoint();
  const rows = Array.from({ length: 1_234 }, (_, n) => attempt(endpointId, n));
  await recordAttempts(db, rows);
  await recordAttempts(db, []);
  const [{ count }] = await db('delivery_attempts').where({ target_id: endpointId }).count({ count: '*' });
  assert.equal(Number(count), 1_234);
});

test('the failing window starts once and keeps its first start', async () => {
  const endpointId = await createEndpoint();
  const first = new Date('2026-11-20T10:00:00Z');
  assert.equal((await markEndpointFailing(db, endpointId, first)).toISOString(), first.toISOString());
  const later = await markEndpointFailing(db, endpointId, new Date('2026-11-21T10:00:00Z'));
  assert.equal(later.toISOString(), first.toISOString());

  await markEndpointHealthy(db, endpointId);
  const row = await db('webhook_endpoints').where({ id: endpointId }).first();
  assert.equal(row.failing_since, null);
});

test('disabling records why and when, and keeps the first reason', async () => {
  const endpointId = await createEndpoint();
  await disableEndpoint(db, endpointId, 'the endpoint answered 410 Gone');
  await disableEndpoint(db, endpointId, 'something later');
  const row = await db('webhook_endpoints').where({ id: endpointId }).first();
  assert.equal(row.enabled, false);
  assert.equal(row.disabled_reason, 'the endpoint answered 410 Gone');
  assert.ok(row.disabled_at instanceof Date);
});

test('a delivery row is upserted on its delivery id', async () => {
  const endpointId = await createEndpoint();
  const deliveryId = `msg_${randomUUID()}`;
  const row = {
    delivery_id: deliveryId,
    project_id: projectId,
    channel: 'webhook' as const,
    target_id: endpointId,
    event_id: 'evt_upsert',
    event_type: 'order.created',
    workflow_id: `delivery:webhook:${endpointId}:evt_upsert`,
    status: 'retrying' as const,
    last_error: 'HTTP 500',
  };
  await upsertDelivery(db, row);
  await upsertDelivery(db, { ...row, status: 'delivered', last_error: null });
  const rows = await db('deliveries').where({ delivery_id: deliveryId });
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 'delivered');
  assert.equal(rows[0].last_error, null);
});

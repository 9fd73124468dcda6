import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from '../helpers/stack.ts';
import { closedPort } from '../helpers/ports.ts';


describe('health and readiness with everything up', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack?.stop());

  test('GET /health needs no key', async () => {
    const response = await stack.request('GET', '/health');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: 'ok' });
  });

  test('GET /ready checks Postgres and Temporal', async () => {
    const response = await stack.request('GET', '/ready');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: 'ready', checks: { postgres: 'ok', temporal: 'ok' } });
  });

  test('GET /metrics serves Prometheus metrics without a key, counting ingestion', async () => {
    const project = await stack.createProject('metrics');
    assert.equal((await stack.request('POST', '/v1/events', { key: project.adminKey, body: [{ type: 'a' }, { type: 'b' }] })).status, 202);
    assert.equal((await stack.request('POST', '/v1/events', { key: project.adminKey, body: [{ type: 5 }] })).status, 400);
    const response = await stack.request('GET', '/metrics');
    assert.equal(response.status, 200);
    assert.match(response.body, /^eventflow_events_accepted_total [1-9]\d*$/m);
    assert.match(response.body, /^eventflow_events_rejected_total\{reason="invalid_events"\} [1-9]\d*$/m);
    assert.match(response.body, /^eventflow_ingest_duration_seconds_count\{status="202"\} [1-9]\d*$/m);
  });

  test('wrong methods on the probes answer 405', async () => {
    const response = await stack.request('POST', '/health');
    assert.equal(response.status, 405);
    assert.equal(response.body.error.code, 'method_not_allowed');
  });
});

describe('when Temporal is unreachable', () => {
  let stack: Stack;
  let project: { adminKey: string };
  before(async () => {
    stack = await startStack({ temporalAddress: `127.0.0.1:${await closedPort()}` });
    project = await stack.createProject('no-temporal');
  });
  after(() => stack?.stop());

  test('ingestion still accepts: the events wait in Postgres, their run not started until Temporal answers', async () => {
    const response = await stack.request('POST', '/v1/events', { key: project.adminKey, body: { type: 'kept' } });
    assert.equal(response.status, 202);
    assert.ok(response.ms < 2_000, `answered in ${Math.round(response.ms)} ms`);
    const row = await stack.db('ingest_requests').where('batch_id', response.body.batch_id).first();
    assert.equal(row.events[0].id, response.body.ids[0]);
    // Claimed into a run whose start Temporal never confirmed: the starter's sweep retries it.
    const run = await stack.waitFor(async () => {
      const claimed = await stack.db('ingest_requests').where('batch_id', response.body.batch_id).first('run_id');
      return claimed.run_id ? stack.db('ingest_runs').where('id', claimed.run_id).first() : undefined;
    });
    assert.equal(run.started_at, null);
    const status = await stack.request('GET', `/v1/batches/${response.body.batch_id}`, { key: project.adminKey });
    assert.equal(status.status, 200);
    assert.equal(status.body.status, 'accepted');
  });

  test('bad input is still a 400, not a 503', async () => {
    const response = await stack.request('POST', '/v1/events', { key: project.adminKey, body: { nope: true } });
    assert.equal(response.status, 400);
  });

  test('/ready answers 503 not_ready naming Temporal, within its time limit', async () => {
    const response = await stack.request('GET', '/ready');
    assert.equal(response.status, 503);
    assert.equal(response.body.error.code, 'not_ready');
    assert.match(response.body.error.message, /temporal is down/);
    assert.deepEqual(response.body.error.details.map((detail: any) => detail.component), ['temporal']);
    assert.ok(response.ms < 3_500, `answered in ${Math.round(response.ms)} ms`);
  });

  test('the status of a batch Postgres does not know is a 503 too', async () => {
    const response = await stack.request('GET', '/v1/batches/01a20160-0000-7000-8000-000000000000', { key: project.adminKey });
    assert.equal(response.status, 503);
    assert.equal(response.body.error.code, 'temporal_unavailable');
  });
});

describe('before the boot-time Temporal connection succeeded', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ withoutTemporal: true });
  });
  after(() => stack?.stop());

  test('ingestion accepts at once and /ready says Temporal is not connected', async () => {
    const project = await stack.createProject('not-connected');
    const response = await stack.request('POST', '/v1/events', { key: project.adminKey, body: { type: 'early' } });
    assert.equal(response.status, 202);
    assert.ok(response.ms < 1_000);

    const ready = await stack.request('GET', '/ready');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body.error.details, [{ component: 'temporal', message: 'not connected yet' }]);
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { closedPort } from '../helpers/ports.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { startStack, type Stack, type TestProject } from '../helpers/stack.ts';

// GET /v1/events/:id/timeline and /trace (the dashboard's event view), POST /v1/traces (browser spans)
// and GET /v1/dashboard/config: their answers, and what they do with garbage and strangers.

describe('an event’s timeline, its trace, and the browser span intake', () => {
  let stack: Stack;
  let project: TestProject;
  let other: TestProject;
  let receiver: Receiver;
  const storedId = `tl-ok-${randomUUID()}`;
  const rejectedId = `tl-bad-${randomUUID()}`;

  before(async () => {
    stack = await startStack({ env: { WEBHOOK_RETRY_SCHEDULE: '1', TEMPORAL_UI_URL: 'http://127.0.0.1:8233/' } });
    project = await stack.createProject('timeline');
    other = await stack.createProject('timeline-other');
    receiver = await startReceiver();
    const key = project.adminKey;
    assert.equal((await stack.request('POST', '/v1/webhooks', { key, body: { url: receiver.url, event_types: ['order.*'] } })).status, 201);
    const schema = { type: 'object', required: ['total'], properties: { total: { type: 'number' } } };
    assert.equal((await stack.request('PUT', '/v1/schemas/order.created', { key, body: { schema } })).status, 201);
    const accepted = await stack.request('POST', '/v1/events', {
      key,
      body: [
        { id: storedId, type: 'order.created', user_id: 'ada', properties: { total: 5 } },
        { id: rejectedId, type: 'order.created', user_id: 'ada', properties: { total: 'five' } },
      ],
    });
    assert.equal(accepted.status, 202);
    await stack.waitFor(async () => (await stack.request('GET', `/v1/batches/${accepted.body.batch_id}`, { key })).body.status === 'completed');
    await stack.waitFor(async () => receiver.requests.length > 0);
  });
  after(async () => {
    await receiver?.close();
    await stack?.stop();
  });

  const get = (path: string, key = project.adminKey) => stack.request('GET', path, { key });

  test('a stored event: received → validated → enriched → stored → its delivery attempt, with run links', async () => {
    let timeline: any;
    await stack.waitFor(async () => {
      timeline = (await get(`/v1/events/${storedId}/timeline`)).body;
      return timeline.stages?.some((stage: any) => stage.kind === 'attempt');
    });
    assert.equal(timeline.status, 'stored');
    assert.equal(timeline.type, 'order.created');
    assert.equal(timeline.event.id, storedId);
    const kinds = timeline.stages.map((stage: any) => stage.kind);
    assert.deepEqual(kinds.slice(0, 4), ['received', 'validated', 'enriched', 'stored']);
    const attempt = timeline.stages.find((stage: any) => stage.kind === 'attempt');
    assert.equal(attempt.outcome, 'ok');
    assert.equal(attempt.detail.status_code, 200);
    assert.equal(attempt.detail.target, receiver.url);
    assert.equal(typeof attempt.detail.duration_ms, 'number');
    assert.match(timeline.links.batch, /^http:\/\/127\.0\.0\.1:8233\/namespaces\/[^/]+\/workflows\/batch%3A/);
    // Accepted without tracing (the in-process API has no SDK): no trace to show, said plainly.
    assert.deepEqual(timeline.trace_ids, []);
    const trace = await get(`/v1/events/${storedId}/trace`);
    assert.equal(trace.status, 404);
    assert.equal(trace.body.error.code, 'trace_not_found');
  });

  test('a rejected event has a timeline too: received → rejected, with the reasons', async () => {
    const response = await get(`/v1/events/${rejectedId}/timeline`);
    assert.equal(response.status, 200);
    assert.equal(response.body.status, 'rejected');
    assert.equal(response.body.event, null);
    const rejected = response.body.stages.find((stage: any) => stage.kind === 'rejected');
    assert.equal(rejected.outcome, 'failed');
    assert.match(JSON.stringify(rejected.detail.reasons), /total/);
    assert.ok(!response.body.stages.some((stage: any) => stage.kind === 'stored'));
  });

  test('the trace is read from the trace store named by JAEGER_QUERY_URL; without one, or when it is down, 503', async () => {
    // Give the event's batch a trace id, as a traced API would have.
    const traceId = randomBytes(16).toString('hex');
    const event = await stack.db('events').where({ project_id: project.id, id: storedId }).first('batch_id');
    await stack.db('batches').where({ project_id: project.id, id: event.batch_id }).update({ trace_id: traceId });
    if (process.env.JAEGER_QUERY_URL) {
      const unknown = await get(`/v1/events/${storedId}/trace`);
      assert.equal(unknown.status, 200);
      assert.deepEqual(unknown.body.missing, [traceId], 'Jaeger does not have it (yet): said, not failed');
      assert.deepEqual(unknown.body.spans, []);
    }
    for (const jaeger of ['', `http://127.0.0.1:${await closedPort()}`]) {
      const api = await startStack({ withoutTemporal: true, env: { JAEGER_QUERY_URL: jaeger } });
      try {
        const response = await api.request('GET', `/v1/events/${storedId}/trace`, { key: project.adminKey });
        assert.equal(response.status, 503, `with JAEGER_QUERY_URL="${jaeger}"`);
        assert.equal(response.body.error.code, 'tracing_unavailable');
      } finally {
        await api.stop();
      }
    }
  });

  test('unknown ids, other projects’ events and garbage ids are 404s; no key is 401', async () => {
    for (const path of ['timeline', 'trace']) {
      assert.equal((await get(`/v1/events/nope-${randomUUID()}/${path}`)).status, 404);
      assert.equal((await get(`/v1/events/${storedId}/${path}`, other.adminKey)).status, 404, 'another project’s event is not found');
      assert.equal((await get(`/v1/events/${encodeURIComponent('x'.repeat(5000))}/${path}`)).status, 404);
      assert.equal((await get(`/v1/events/%00bad/${path}`)).status < 500, true);
      assert.equal((await stack.request('GET', `/v1/events/${storedId}/${path}`)).status, 401);
    }
  });

  test('POST /v1/traces forwards OTLP/JSON for callers who may read, and refuses garbage with a reason', async () => {
    const key = project.adminKey;
    const spans = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'eventflow-dashboard' } }] }, scopeSpans: [] }] };
    const accepted = await stack.request('POST', '/v1/traces', { key, body: spans });
    assert.equal(accepted.status, process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? 200 : 503);

    assert.equal((await stack.request('POST', '/v1/traces', { body: spans })).status, 401);
    const garbage: Array<[unknown, string]> = [
      [{}, 'invalid_body'],
      [{ resourceSpans: 'x' }, 'invalid_body'],
      [{ resourceSpans: [1, 2] }, 'invalid_body'],
      [{ resourceSpans: Array.from({ length: 65 }, () => ({})) }, 'invalid_body'],
      ['{"resourceSpans": [', 'invalid_json'],
    ];
    for (const [body, code] of garbage) {
      const response = await stack.request('POST', '/v1/traces', { key, body });
      assert.equal(response.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(response.body.error.code, code);
    }
    const wrongType = await stack.request('POST', '/v1/traces', { key, body: 'x', headers: { 'content-type': 'application/x-protobuf' } });
    assert.equal(wrongType.status, 415);
  });

  test('GET /v1/dashboard/config needs no key and tells only what the app needs', async () => {
    const response = await stack.request('GET', '/v1/dashboard/config');
    assert.equal(response.status, 200);
    assert.deepEqual(Object.keys(response.body).sort(), ['signup', 'tracing']);
    assert.equal((await stack.request('POST', '/v1/dashboard/config', { body: {} })).status, 405);
  });
});

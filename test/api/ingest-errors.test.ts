import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { startStack, type Stack, type TestProject } from '../helpers/stack.ts';

describe('POST /v1/events rejects bad requests whole, with one error shape', () => {
  let stack: Stack;
  let project: TestProject;

  before(async () => {
    stack = await startStack();
    project = await stack.createProject('ingest-errors');
  });
  after(() => stack?.stop());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    stack.request('POST', '/v1/events', { key: project.adminKey, body, headers });

  function assertError(response: { status: number; body: any }, status: number, code: string) {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body.error.code, code);
    assert.equal(typeof response.body.error.message, 'string');
    assert.ok(Array.isArray(response.body.error.details));
  }

  test('401 without a key, with an unknown key, and with a revoked key', async () => {
    assertError(await stack.request('POST', '/v1/events', { body: { type: 'a' } }), 401, 'unauthorized');
    assertError(await stack.request('POST', '/v1/events', { key: `efk_${randomUUID()}`, body: { type: 'a' } }), 401, 'unauthorized');
    assertError(
      await stack.request('POST', '/v1/events', { headers: { 'X-API-Key': 'nope' }, body: { type: 'a' } }),
      401,
      'unauthorized',
    );

    const created = await stack.request('POST', `/v1/projects/${project.id}/keys`, { key: project.adminKey, body: { kind: 'write' } });
    const writeKey = created.body.key;
    assert.equal((await stack.request('POST', '/v1/events', { key: writeKey, body: { type: 'a' } })).status, 202);
    const revoked = await stack.request('DELETE', `/v1/projects/${project.id}/keys/${created.body.id}`, { key: project.adminKey });
    assert.equal(revoked.status, 204);
    assertError(await stack.request('POST', '/v1/events', { key: writeKey, body: { type: 'a' } }), 401, 'unauthorized');
  });

  test('403 for a write key on anything but ingestion', async () => {
    const created = await stack.request('POST', `/v1/projects/${project.id}/keys`, { key: project.adminKey, body: { kind: 'write' } });
    const key = created.body.key;
    for (const [method, path] of [
      ['GET', '/v1/events'],
      ['GET', '/v1/events/rejected'],
      ['GET', '/v1/stats'],
      ['GET', '/v1/schemas'],
      ['GET', `/v1/batches/${randomUUID()}`],
      ['GET', `/v1/projects/${project.id}`],
      ['GET', `/v1/projects/${project.id}/keys`],
    ]) {
      assertError(await stack.request(method, path, { key }), 403, 'forbidden');
    }
    assertError(await stack.request('PUT', '/v1/schemas/x', { key, body: { type: 'object' } }), 403, 'forbidden');
  });

  test('400 invalid_json for a malformed or empty body', async () => {
    assertError(await post('{"type": "a",'), 400, 'invalid_json');
    assertError(await post('not json at all'), 400, 'invalid_json');
    assertError(await post(''), 400, 'invalid_json');
  });

  test('400 invalid_events naming the field: unknown field, bad type, bad id, bad timestamp, bad properties', async () => {
    const cases: Array<[unknown, string]> = [
      [{ type: 'a', colour: 'red' }, 'colour'],
      [{ type: 42 }, 'type'],
      [{ type: '' }, 'type'],
      [{ type: 'x'.repeat(129) }, 'type'],
      [{ properties: {} }, 'type'],
      [{ type: 'a', id: '' }, 'id'],
      [{ type: 'a', id: 'i'.repeat(129) }, 'id'],
      [{ type: 'a', user_id: 'u'.repeat(257) }, 'user_id'],
      [{ type: 'a', timestamp: 'yesterday' }, 'timestamp'],
      [{ type: 'a', timestamp: '2026-01-01T23:59:60Z' }, 'timestamp'],
      [{ type: 'a', properties: [1, 2] }, 'properties'],
      [{ type: 'a', context: 'web' }, 'context'],
      [{ type: 'a', properties: { note: 'nul \u0000 inside' } }, 'properties'],
      [{ type: 'a', properties: { broken: '\ud800' } }, 'properties'],
    ];
    for (const [event, field] of cases) {
      const response = await post([event]);
      assertError(response, 400, 'invalid_events');
      assert.ok(
        response.body.error.details.some((detail: any) => detail.index === 0 && detail.field === field),
        `${JSON.stringify(event).slice(0, 80)} → ${JSON.stringify(response.body.error.details)}`,
      );
    }
  });

  test('every bad event is listed with its index, and nothing of the request is accepted', async () => {
    const goodId = `never-${randomUUID()}`;
    const response = await post({
      batch: [{ id: goodId, type: 'ok' }, { type: 1 }, { type: 'ok' }, { type: 'ok', extra: true }, {}, 'not an event'],
    });
    assertError(response, 400, 'invalid_events');
    const details = response.body.error.details as Array<{ index: number; field: string; message: string }>;
    assert.deepEqual([...new Set(details.map((detail) => detail.index))], [1, 3, 4, 5]);
    assert.deepEqual(
      details.map(({ index, field }) => [index, field]),
      [[1, 'type'], [3, 'extra'], [4, 'type'], [5, 'event']],
    );
    for (const detail of details) assert.ok(detail.message.length > 0);

    // A later, valid batch completes; the good event of the rejected request was never started.
    const later = await post({ type: 'ok' });
    assert.equal(later.status, 202);
    await stack.waitFor(async () => (await stack.request('GET', `/v1/batches/${later.body.batch_id}`, { key: project.adminKey })).body.status === 'completed');
    assert.equal((await stack.request('GET', `/v1/events/${goodId}`, { key: project.adminKey })).status, 404);
  });

  test('400 invalid_body for a bad envelope, an empty batch or a non-object body', async () => {
    assertError(await post({ batch: [{ type: 'a' }], sent_at: '2026-01-01T00:00:00Z', extra: 1 }), 400, 'invalid_body');
    assertError(await post({ batch: [{ type: 'a' }], sent_at: 'soon' }), 400, 'invalid_body');
    const notArray = await post({ batch: { type: 'a' } });
    assertError(notArray, 400, 'invalid_body');
    assert.equal(notArray.body.error.details[0].field, 'batch');
    assertError(await post({ batch: [] }), 400, 'invalid_body');
    assertError(await post([]), 400, 'invalid_body');
    assertError(await post('"just a string"'), 400, 'invalid_body');
    assertError(await post('null'), 400, 'invalid_body');
  });

  test('400 for events nested too deep to store', async () => {
    let deep: unknown = 'bottom';
    for (let level = 0; level < 200; level++) deep = { d: deep };
    const response = await post({ type: 'deep', properties: deep });
    assertError(response, 400, 'invalid_events');
    assert.equal(response.body.error.details[0].field, 'properties');

    // Far deeper than any stack allows, still within the body limit: still a 400, never a 500.
    const hostile = `{"type":"deep","properties":${'{"d":'.repeat(50_000)}1${'}'.repeat(50_000)}}`;
    const answer = await post(hostile);
    assert.equal(answer.status, 400, JSON.stringify(answer.body).slice(0, 200));
  });

  test('400 for an Idempotency-Key over 128 characters', async () => {
    assertError(await post({ type: 'a' }, { 'Idempotency-Key': 'k'.repeat(129) }), 400, 'invalid_idempotency_key');
  });

  test('413 payload_too_large for a body over 512 KiB, declared or streamed', async () => {
    const padding = 'x'.repeat(1_000);
    const events = Array.from({ length: 600 }, (_, index) => ({ type: 'big', properties: { index, padding } }));
    assertError(await post(events), 413, 'payload_too_large');

    // Chunked, without Content-Length: the limit must hold while reading the stream.
    const streamed = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const url = new URL('/v1/events', stack.baseUrl);
      const req = httpRequest(
        url,
        { method: 'POST', headers: { authorization: `Bearer ${project.adminKey}`, 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.write('[');
      for (let index = 0; index < 600; index++) req.write(`${index ? ',' : ''}{"type":"big","properties":{"padding":"${padding}"}}`);
      req.end(']');
    });
    assertError(streamed, 413, 'payload_too_large');
  });

  test('413 too_many_events above 2,000 events', async () => {
    const events = Array.from({ length: 2_001 }, () => ({ type: 'tiny' }));
    assertError(await post(events), 413, 'too_many_events');
    assert.equal((await post(events.slice(0, 2_000))).status, 202, '2,000 is still fine');
  });

  test('413 payload_too_large for one event over 32 KiB, naming it', async () => {
    const response = await post([{ type: 'ok' }, { type: 'huge', properties: { blob: 'x'.repeat(33 * 1024) } }]);
    assertError(response, 413, 'payload_too_large');
    assert.equal(response.body.error.details[0].index, 1);
    // Just under the limit is fine.
    assert.equal((await post({ type: 'fits', properties: { blob: 'x'.repeat(32 * 1024 - 100) } })).status, 202);
  });

  test('415 unless the body is JSON; JSON media types with parameters are fine', async () => {
    assertError(await post('type=a', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
    assertError(await post('{"type":"a"}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    assertError(
      await stack.request('POST', '/v1/events', { key: project.adminKey, body: '{"type":"a"}', headers: { 'content-type': '' } }),
      415,
      'unsupported_media_type',
    );
    assert.equal((await post('{"type":"a"}', { 'content-type': 'application/json; charset=utf-8' })).status, 202);
    assert.equal((await post('{"type":"a"}', { 'content-type': 'application/vnd.eventflow+json' })).status, 202);
  });

  test('NUL characters in paths, queries and bodies are a 4xx, never a 500', async () => {
    const key = project.adminKey;
    for (const [method, path, body] of [
      ['GET', '/v1/events/a%00b', undefined],
      ['GET', '/v1/events?type=a%00b', undefined],
      ['GET', '/v1/events?user_id=%00', undefined],
      ['GET', '/v1/batches/a%00b', undefined],
      ['GET', '/v1/schemas/a%00b', undefined],
      ['PUT', '/v1/schemas/a%00b', { type: 'object' }],
      ['PUT', '/v1/schemas/nul', { type: 'object', description: 'a\u0000b' }],
      ['POST', '/v1/projects', { name: 'a\u0000b' }],
      ['POST', `/v1/projects/${project.id}/keys`, { kind: 'write', name: 'a\u0000b' }],
    ] as const) {
      const response = await stack.request(method, path, { key: path === '/v1/projects' ? stack.adminKey : key, body });
      assert.ok(response.status >= 400 && response.status < 500, `${method} ${path} → ${response.status} ${JSON.stringify(response.body)}`);
      assert.equal(typeof response.body.error.code, 'string');
    }
  });

  test('unknown routes answer 404 and wrong methods 405, as JSON', async () => {
    assertError(await stack.request('GET', '/v1/nothing-here', { key: project.adminKey }), 404, 'not_found');
    assertError(await stack.request('GET', '/nothing'), 404, 'not_found');
    const wrong = await stack.request('DELETE', '/v1/events', { key: project.adminKey });
    assertError(wrong, 405, 'method_not_allowed');
    assert.match(wrong.headers.get('allow') ?? '', /POST/);
  });
});

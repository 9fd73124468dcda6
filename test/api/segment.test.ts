import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import Rudder from '@rudderstack/rudder-sdk-node';
import { startStack, type Stack, type TestProject } from '../helpers/stack.ts';

// Segment's HTTP Tracking API driven by the real SDKs from npm (Segment's analytics-node, RudderStack's
// rudder-sdk-node), by requests shaped as analytics.js sends them from a browser, and by garbage.

const CHROME_ON_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

interface SentBatch {
  batch: Array<{ messageId: string; type: string; timestamp: string }>;
  sentAt: string;
}

/**
 * A proxy in front of the API whose first answer is a 503. With `forwardFirst` the API got that first
 * request and accepted it — the response was lost on the way back, as far as the client can tell — so
 * the client's retry delivers the same messages a second time.
 */
async function startFlakyProxy(target: string, { forwardFirst }: { forwardFirst: boolean }) {
  let requests = 0;
  const server: Server = createServer(async (req, res) => {
    requests += 1;
    const first = requests === 1;
    const body = Buffer.concat(await req.toArray());
    const upstream = !first || forwardFirst ? await forward(target + req.url, req.method!, req.headers, body) : undefined;
    if (first || !upstream) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"proxy","message":"first answer lost","details":[]}}');
      return;
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function forward(url: string, method: string, headers: IncomingHttpHeaders, body: Buffer) {
  const passed = ['authorization', 'content-type', 'content-encoding', 'user-agent'].filter((name) => typeof headers[name] === 'string');
  return fetch(url, { method, headers: Object.fromEntries(passed.map((name) => [name, headers[name] as string])), body: new Uint8Array(body) });
}

describe('Segment HTTP Tracking API at /segment/v1', () => {
  let stack: Stack;
  let project: TestProject;
  let writeKey: string;

  before(async () => {
    stack = await startStack();
    project = await stack.createProject('segment');
    writeKey = await createKey(project, 'write');
  });
  after(() => stack?.stop());

  async function createKey(owner: TestProject, kind: 'write' | 'read' | 'admin'): Promise<string> {
    const created = await stack.request('POST', `/v1/projects/${owner.id}/keys`, { key: owner.adminKey, body: { kind } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.key;
  }

  async function storedRows(projectId: string, ids: string[]) {
    return stack.waitFor(async () => {
      const rows = await stack.db('events').where({ project_id: projectId }).whereIn('id', ids);
      return rows.length === ids.length ? new Map(rows.map((row) => [row.id as string, row])) : undefined;
    });
  }

  /** Every stored batch of a project, once `count` of them are there. */
  async function batchSummaries(projectId: string, count: number) {
    return stack.waitFor(async () => {
      const rows = await stack.db('batches').where({ project_id: projectId });
      return rows.length >= count ? rows.map((row) => row.summary as { stored: number; duplicates: number }) : undefined;
    });
  }

  test('@segment/analytics-node: track, identify, page, screen, group and alias, batched and flushed, each stored once with the mapping', async () => {
    const analytics = new Analytics({ writeKey, host: stack.baseUrl, path: '/segment/v1/batch' });
    const sent: SentBatch[] = [];
    const failures: unknown[] = [];
    analytics.on('http_request', ({ body }) => sent.push(JSON.parse(body) as SentBatch));
    analytics.on('error', (error) => failures.push(error));

    // 16 tracks: one more than the default flushAt (15), so one batch leaves by itself and the rest at close.
    for (let n = 0; n < 16; n += 1) analytics.track({ userId: 'seg-user', event: 'Order Completed', properties: { order: n } });
    analytics.identify({ userId: 'seg-user', traits: { plan: 'pro', email: 'seg@example.com' } });
    analytics.page({
      userId: 'seg-user',
      name: 'Pricing',
      category: 'Docs',
      properties: { url: 'https://shop.example/pricing' },
      context: {
        ip: '203.0.113.5',
        userAgent: CHROME_ON_MAC,
        page: { url: 'https://shop.example/pricing?utm_source=ads', referrer: 'https://search.example/?q=shop' },
        campaign: { name: 'spring', source: 'newsletter', medium: 'email' },
      },
    });
    analytics.screen({ userId: 'seg-user', name: 'Home' });
    analytics.group({ userId: 'seg-user', groupId: 'acme', traits: { name: 'Acme', employees: 40 } });
    analytics.alias({ userId: 'seg-user', previousId: 'anon-seg' });
    await analytics.closeAndFlush();
    assert.deepEqual(failures, []);

    assert.ok(sent.length >= 2, `the SDK batched the 21 messages itself (${sent.length} requests)`);
    assert.equal(sent[0].batch.length, 15, 'a full default batch left without a flush');
    const messages = sent.flatMap((request) => request.batch.map((message) => ({ ...message, sentAt: request.sentAt })));
    assert.equal(messages.length, 21);
    const rows = await storedRows(project.id, messages.map((message) => message.messageId));
    assert.equal(rows.size, 21, 'every message stored once, under its messageId');

    const byType = (type: string) => [...rows.values()].filter((row) => row.type === type);
    const tracks = byType('Order Completed');
    assert.equal(tracks.length, 16);
    const track = tracks[0];
    const trackMessage = messages.find((message) => message.messageId === track.id)!;
    assert.equal(track.user_id, 'seg-user');
    assert.equal(typeof track.properties.order, 'number');
    assert.equal(track.context.library.name, '@segment/analytics-node');
    assert.equal(track.enrichment.source, 'segment', 'the event records the API it came through');
    assert.equal(track.enrichment.user_agent, 'analytics-node-next/latest');
    assert.equal(track.enrichment.ip, '127.0.0.1');
    // sentAt drives the clock-skew correction exactly like sent_at.
    assert.equal(track.original_timestamp.toISOString(), new Date(trackMessage.timestamp).toISOString());
    assert.equal(track.sent_at.toISOString(), new Date(trackMessage.sentAt).toISOString());
    const skew = Date.parse(trackMessage.sentAt) - Date.parse(trackMessage.timestamp);
    assert.equal(track.timestamp.getTime(), track.received_at.getTime() - skew);

    assert.deepEqual(byType('identify')[0].properties, { plan: 'pro', email: 'seg@example.com' });
    const page = byType('page')[0];
    assert.deepEqual(page.properties, { url: 'https://shop.example/pricing', name: 'Pricing', category: 'Docs' });
    assert.equal(page.enrichment.ip, '203.0.113.5', "the message's context.ip, not the server's address");
    assert.match(page.enrichment.browser, /^Chrome 126/);
    assert.match(page.enrichment.os, /^Mac OS/);
    assert.deepEqual(page.enrichment.urls['context.page.url'], { host: 'shop.example', path: '/pricing', utm: { source: 'ads' } });
    assert.equal(page.enrichment.urls['context.page.referrer'].host, 'search.example');
    assert.deepEqual(page.enrichment.urls.url, { host: 'shop.example', path: '/pricing' });
    assert.deepEqual(page.enrichment.utm, { campaign: 'spring', source: 'newsletter', medium: 'email' }, 'context.campaign wins over the URL');
    assert.deepEqual(byType('screen')[0].properties, { name: 'Home' });
    assert.deepEqual(byType('group')[0].properties, { name: 'Acme', employees: 40, group_id: 'acme' });
    const alias = byType('alias')[0];
    assert.equal(alias.user_id, 'seg-user');
    assert.deepEqual(alias.properties, { previous_id: 'anon-seg' });

    // The native read API shows the same event.
    const viaApi = await stack.request('GET', `/v1/events/${encodeURIComponent(page.id)}`, { key: project.adminKey });
    assert.equal(viaApi.status, 200);
    assert.equal(viaApi.body.enrichment.source, 'segment');
  });

  test('@segment/analytics-node retries after a 503, and its retry is stored once (the messageId is the event id)', async () => {
    const own = await stack.createProject('segment-retry');
    const proxy = await startFlakyProxy(stack.baseUrl, { forwardFirst: true });
    try {
      const analytics = new Analytics({ writeKey: await createKey(own, 'write'), host: proxy.url, path: '/segment/v1/batch' });
      const sent: SentBatch[] = [];
      const failures: unknown[] = [];
      analytics.on('http_request', ({ body }) => sent.push(JSON.parse(body) as SentBatch));
      analytics.on('error', (error) => failures.push(error));
      for (let n = 0; n < 3; n += 1) analytics.track({ userId: 'retry-user', event: 'Retried', properties: { n } });
      await analytics.closeAndFlush({ timeout: 30_000 });
      assert.deepEqual(failures, []);

      assert.equal(proxy.requests(), 2, 'the 503 was retried once');
      assert.deepEqual(sent[1].batch.map((message) => message.messageId), sent[0].batch.map((message) => message.messageId), 'the retry resends the same messages');
      const ids = sent[0].batch.map((message) => message.messageId);
      await storedRows(own.id, ids);
      // Both copies reached EventFlow; the second was recognised as the first's duplicates.
      const summaries = await batchSummaries(own.id, 2);
      assert.equal(summaries.reduce((sum, summary) => sum + summary.stored, 0), 3);
      assert.equal(summaries.reduce((sum, summary) => sum + summary.duplicates, 0), 3);
      assert.equal(Number((await stack.db('events').where({ project_id: own.id }).count({ n: '*' }))[0].n), 3);
    } finally {
      await proxy.close();
    }
  });

  test('@rudderstack/rudder-sdk-node: every call, gzip\'ed, batched and flushed, through a 503 it retries, stored once', async () => {
    const own = await stack.createProject('segment-rudder');
    const proxy = await startFlakyProxy(stack.baseUrl, { forwardFirst: false });
    try {
      const errors: unknown[] = [];
      const rudder = new Rudder(await createKey(own, 'write'), {
        dataPlaneUrl: `${proxy.url}/segment`,
        logLevel: 'none',
        errorHandler: (error) => errors.push(error),
      });
      const id = (name: string) => `rudder-${name}-${randomUUID()}`;
      const ids = { identify: id('identify'), track: id('track'), page: id('page'), screen: id('screen'), group: id('group'), alias: id('alias') };
      const timestamp = new Date(Date.now() - 60_000);
      rudder.identify({ userId: 'r-user', traits: { plan: 'team' }, messageId: ids.identify } as Rudder.IdentifyParams);
      rudder.track({ userId: 'r-user', event: 'Signed Up', properties: { via: 'rudder' }, timestamp, messageId: ids.track } as Rudder.TrackParams);
      rudder.page({ anonymousId: 'r-anon', name: 'Landing', properties: { path: '/' }, messageId: ids.page } as Rudder.PageParams);
      rudder.screen({ userId: 'r-user', name: 'Settings', messageId: ids.screen } as Rudder.ScreenParams);
      rudder.group({ userId: 'r-user', groupId: 'r-group', traits: { tier: 'gold' }, messageId: ids.group } as Rudder.GroupParams);
      rudder.alias({ userId: 'r-user', previousId: 'r-anon', messageId: ids.alias } as Rudder.AliasParams);
      await rudder.flush();
      assert.deepEqual(errors, []);
      assert.ok(proxy.requests() >= 3, `the first batch was retried after its 503 (${proxy.requests()} requests)`);

      const rows = await storedRows(own.id, Object.values(ids));
      assert.equal(Number((await stack.db('events').where({ project_id: own.id }).count({ n: '*' }))[0].n), 6, 'nothing stored twice');
      const track = rows.get(ids.track);
      assert.equal(track.type, 'Signed Up');
      assert.deepEqual(track.properties, { via: 'rudder' });
      assert.equal(track.original_timestamp.toISOString(), timestamp.toISOString(), 'RudderStack sends timestamp as originalTimestamp');
      assert.equal(track.context.library.name, 'analytics-node');
      assert.equal(track.enrichment.source, 'segment');
      assert.deepEqual(rows.get(ids.identify).properties, { plan: 'team' });
      assert.deepEqual(rows.get(ids.identify).context.traits, { plan: 'team' });
      assert.equal(rows.get(ids.page).anonymous_id, 'r-anon');
      assert.deepEqual(rows.get(ids.page).properties, { path: '/', name: 'Landing' });
      assert.equal(rows.get(ids.screen).type, 'screen');
      assert.deepEqual(rows.get(ids.group).properties, { tier: 'gold', group_id: 'r-group' });
      assert.deepEqual(rows.get(ids.alias).properties, { previous_id: 'r-anon' });
    } finally {
      await proxy.close();
    }
  });

  describe('from a browser (requests as analytics.js sends them)', () => {
    const origin = 'https://shop.example';
    const browserMessage = (type: string, extra: Record<string, unknown> = {}) => ({
      type,
      userId: null,
      anonymousId: 'browser-anon',
      messageId: `ajs-next-${randomUUID()}`,
      timestamp: new Date().toISOString(),
      sentAt: new Date().toISOString(),
      writeKey,
      integrations: {},
      properties: {},
      context: {
        library: { name: 'analytics.js', version: 'npm:next-1.81.0' },
        userAgent: CHROME_ON_MAC,
        locale: 'en-GB',
        page: { path: '/spring', referrer: '', search: '?utm_source=ads&utm_campaign=spring', title: 'Spring', url: 'https://shop.example/spring?utm_source=ads&utm_campaign=spring' },
        campaign: { source: 'ads', name: 'spring' },
      },
      _metadata: { bundled: ['Segment.io'], unbundled: [], bundledIds: [] },
      ...extra,
    });

    test('a preflight from any origin is answered for text/plain and application/json posts, without credentials', async () => {
      for (const path of ['/segment/v1/t', '/segment/v1/batch', '/segment/v1/b', '/segment/v1/page']) {
        const response = await fetch(`${stack.baseUrl}${path}`, {
          method: 'OPTIONS',
          headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
        });
        assert.equal(response.status, 204, path);
        assert.equal(response.headers.get('access-control-allow-origin'), '*');
        assert.match(response.headers.get('access-control-allow-methods') ?? '', /POST/);
        assert.equal(response.headers.get('access-control-allow-headers'), 'content-type');
        assert.equal(response.headers.get('access-control-allow-credentials'), null);
        assert.equal(response.headers.get('set-cookie'), null);
      }
    });

    test('a single call posted as text/plain with the key in the body is stored, its context enriching it', async () => {
      const message = browserMessage('track', { event: 'Clicked Buy', properties: { sku: 'A-1' } });
      const response = await stack.request('POST', '/segment/v1/t', { body: JSON.stringify(message), headers: { 'content-type': 'text/plain', Origin: origin } });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.success, true);
      assert.equal(response.body.accepted, 1);
      assert.equal(response.headers.get('access-control-allow-origin'), '*');

      const row = (await storedRows(project.id, [message.messageId])).get(message.messageId);
      assert.equal(row.type, 'Clicked Buy');
      assert.equal(row.user_id, null);
      assert.equal(row.anonymous_id, 'browser-anon');
      assert.equal(row.sent_at.toISOString(), message.sentAt);
      assert.match(row.enrichment.browser, /^Chrome 126/, "the browser's context.userAgent");
      assert.deepEqual(row.enrichment.utm, { source: 'ads', campaign: 'spring' });
      assert.equal(row.enrichment.urls['context.page.url'].path, '/spring');
      assert.equal(row.context.locale, 'en-GB');
      assert.equal(row.context.integrations, undefined, 'integrations route Segment\'s destinations: not stored');
    });

    test('the batching dispatcher\'s /b, the long paths and every call type', async () => {
      const batch = ['identify', 'page', 'screen', 'group', 'alias'].map((type) =>
        browserMessage(type, { userId: 'browser-user', groupId: 'g-1', previousId: 'browser-anon', traits: { vip: true } }),
      );
      const response = await stack.request('POST', '/segment/v1/b', {
        body: JSON.stringify({ writeKey, batch, sentAt: new Date().toISOString() }),
        headers: { 'content-type': 'text/plain', Origin: origin },
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.accepted, 5);
      const single = browserMessage('identify', { userId: 'browser-user', traits: { name: 'Ada' } });
      const long = await stack.request('POST', '/segment/v1/identify', { body: single, headers: { Origin: origin } });
      assert.equal(long.status, 200, JSON.stringify(long.body));
      const rows = await storedRows(project.id, [...batch.map((message) => message.messageId), single.messageId]);
      assert.deepEqual([...rows.values()].map((row) => row.type).sort(), ['alias', 'group', 'identify', 'identify', 'page', 'screen']);
    });
  });

  describe('bad input gets the native API\'s errors and nothing is accepted', () => {
    let garbage: TestProject;
    let garbageKey: string;

    before(async () => {
      garbage = await stack.createProject('segment-garbage');
      garbageKey = await createKey(garbage, 'write');
    });

    const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
    const send = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      stack.request('POST', path, { body, headers: { authorization: basic(garbageKey), ...headers } });
    const message = (extra: Record<string, unknown> = {}) => ({ type: 'track', event: 'Good', userId: 'g-user', ...extra });

    function assertError(response: { status: number; body: any }, status: number, code: string, field?: string) {
      assert.equal(response.status, status, JSON.stringify(response.body));
      assert.equal(response.body.error.code, code, JSON.stringify(response.body));
      assert.equal(typeof response.body.error.message, 'string');
      assert.ok(Array.isArray(response.body.error.details));
      if (field !== undefined) assert.ok(response.body.error.details.some((detail: { field?: string }) => detail.field === field), JSON.stringify(response.body.error.details));
    }

    test('401 without a key, with an unknown one, an empty Basic username or a bad body writeKey; 403 for a read key', async () => {
      assertError(await stack.request('POST', '/segment/v1/batch', { body: { batch: [message()] } }), 401, 'unauthorized');
      assertError(await send('/segment/v1/batch', { batch: [message()] }, { authorization: basic(`efk_${randomUUID()}`) }), 401, 'unauthorized');
      assertError(await send('/segment/v1/batch', { batch: [message()] }, { authorization: `Basic ${Buffer.from(':x').toString('base64')}` }), 401, 'unauthorized');
      assertError(await stack.request('POST', '/segment/v1/t', { body: { ...message(), writeKey: 42 } }), 401, 'unauthorized');
      const unauthorized = await stack.request('POST', '/segment/v1/t', { body: message(), headers: { Origin: 'https://x.example' } });
      assert.equal(unauthorized.headers.get('access-control-allow-origin'), '*', 'a browser can read the refusal');
      const readKey = await createKey(garbage, 'read');
      assertError(await send('/segment/v1/batch', { batch: [message()] }, { authorization: basic(readKey) }), 403, 'forbidden');
      assertError(await stack.request('POST', '/segment/v1/track', { body: { ...message(), writeKey: readKey } }), 403, 'forbidden');
    });

    test('400 invalid_json for a body that is not JSON; 415 for another media type or encoding', async () => {
      assertError(await send('/segment/v1/batch', '{"batch": [', { 'content-type': 'text/plain' }), 400, 'invalid_json');
      assertError(await send('/segment/v1/track', 'event=Good&userId=u', { 'content-type': 'application/x-www-form-urlencoded' }), 400, 'invalid_json');
      assertError(await send('/segment/v1/batch', '', {}), 400, 'invalid_json');
      assertError(await send('/segment/v1/batch', JSON.stringify({ batch: [message()] }), { 'content-type': 'multipart/form-data' }), 415, 'unsupported_media_type');
      assertError(await send('/segment/v1/batch', JSON.stringify({ batch: [message()] }), { 'content-encoding': 'deflate' }), 415, 'unsupported_media_type');
    });

    test('gzip: a corrupt body is a 400, one that inflates past the batch limit a 413', async () => {
      const gzipped = gzipSync(JSON.stringify({ batch: [message()] }));
      assertError(await send('/segment/v1/batch', gzipped.subarray(0, gzipped.length - 12), { 'content-encoding': 'gzip' }), 400, 'invalid_body', 'body');
      assertError(await send('/segment/v1/batch', Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' }), 400, 'invalid_body', 'body');
      const bomb = gzipSync(`{"batch": [${JSON.stringify(message())}]${' '.repeat(600_000)}}`);
      assert.ok(bomb.length < 5_000);
      assertError(await send('/segment/v1/batch', bomb, { 'content-encoding': 'gzip' }), 413, 'payload_too_large', 'body');
    });

    test('413 for a message over 32 KB and for a batch over 500 KB', async () => {
      const big = message({ properties: { blob: 'x'.repeat(33 * 1024) } });
      assertError(await send('/segment/v1/track', big), 413, 'payload_too_large', 'message');
      assertError(await send('/segment/v1/batch', { batch: [message(), big] }), 413, 'payload_too_large', 'message');
      const almost = message({ properties: { blob: 'x'.repeat(30 * 1024) } });
      assertError(await send('/segment/v1/batch', { batch: Array.from({ length: 17 }, () => almost) }), 413, 'payload_too_large', 'body');
    });

    test('400 invalid_events naming the message and its field as sent: types, required fields, unknown call types', async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [message({ event: undefined }), 'event'],
        [message({ event: '' }), 'event'],
        [message({ event: 'e'.repeat(129) }), 'event'],
        [message({ type: 'purchase' }), 'type'],
        [message({ type: undefined }), 'type'],
        [message({ userId: 42 }), 'userId'],
        [message({ userId: undefined }), 'userId'],
        [message({ userId: 'u'.repeat(257) }), 'userId'],
        [message({ anonymousId: ['a'] }), 'anonymousId'],
        [message({ messageId: 'm'.repeat(129) }), 'messageId'],
        [message({ properties: [1, 2] }), 'properties'],
        [message({ context: 'web' }), 'context'],
        [message({ timestamp: 'yesterday' }), 'timestamp'],
        [message({ timestamp: 1767225600000 }), 'timestamp'],
        [message({ originalTimestamp: '2026-01-01T23:59:60Z' }), 'originalTimestamp'],
        [{ type: 'identify', userId: 'u', traits: 'pro' }, 'traits'],
        [{ type: 'group', userId: 'u' }, 'groupId'],
        [{ type: 'alias', userId: 'u' }, 'previousId'],
        [{ type: 'alias', previousId: 'p', anonymousId: 'a' }, 'userId'],
        [message({ properties: { note: 'nul \u0000 here' } }), 'properties'],
      ];
      for (const [bad, field] of cases) {
        const response = await send('/segment/v1/batch', { batch: [message(), bad] });
        assertError(response, 400, 'invalid_events', field);
        assert.ok(response.body.error.details.every((detail: { index: number }) => detail.index === 1), JSON.stringify(response.body.error.details));
      }
      assertError(await send('/segment/v1/batch', [message()]), 400, 'invalid_body', 'body');
      assertError(await send('/segment/v1/batch', { batch: [] }), 400, 'invalid_body', 'batch');
      assertError(await send('/segment/v1/batch', { batch: [message()], sentAt: 'later' }), 400, 'invalid_body', 'sentAt');
      assertError(await send('/segment/v1/track', [message()]), 400, 'invalid_body');
      assertError(await send('/segment/v1/track', message({ type: 'page' })), 400, 'invalid_events', 'type');
      assertError(await send('/segment/v1/page', { name: 'No identity' }), 400, 'invalid_events', 'userId');
    });

    test('none of the refused requests was accepted; a good one after them is', async () => {
      const { n } = (await stack.db('ingest_requests').where({ project_id: garbage.id }).count({ n: '*' }))[0];
      assert.equal(Number(n), 0, 'nothing accepted');
      assert.equal(Number((await stack.db('batches').where({ project_id: garbage.id }).count({ n: '*' }))[0].n), 0);
      assert.equal(Number((await stack.db('events').where({ project_id: garbage.id }).count({ n: '*' }))[0].n), 0);
      const messageId = `good-${randomUUID()}`;
      const response = await send('/segment/v1/track', message({ messageId }));
      assert.equal(response.status, 200, JSON.stringify(response.body));
      await storedRows(garbage.id, [messageId]);
    });
  });
});

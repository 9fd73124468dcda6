import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeWebhookAgents, parseRetryAfter, sendWebhook, USER_AGENT } from '../../../src/deliveries/channels/webhook/send.ts';

// One real receiver on 127.0.0.1; the path picks the behaviour, so each test states what it sends.
interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      seen.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = Number(path.match(/^\/status\/(\d{3})/)?.[1] ?? 200);
      if (path.startsWith('/slow')) {
        setTimeout(() => res.writeHead(200).end('late'), 1_000).unref();
        return;
      }
      if (path.startsWith('/big')) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('x'.repeat(10_000));
        return;
      }
      if (path.startsWith('/nul')) {
        res.writeHead(200).end('ok\u0000done');
        return;
      }
      const headers: Record<string, string> = {};
      if (status === 429) headers['retry-after'] = '2';
      if (status === 503) headers['retry-after'] = new Date(Date.now() + 30_000).toUTCString();
      if (status === 302) headers.location = `${base}/status/200`;
      res.writeHead(status, headers).end(`answer ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await closeWebhookAgents();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const allowList = ['127.0.0.1'];
const signature = { 'webhook-id': 'msg_test', 'webhook-timestamp': '1700000000', 'webhook-signature': 'v1,abc' };

function send(path: string, overrides: Partial<Parameters<typeof sendWebhook>[0]> = {}) {
  return sendWebhook({ url: `${base}${path}`, headers: signature, body: '{"ok":true}', timeoutMs: 2_000, allowList, ...overrides });
}

test('2xx is delivered, with the body and our headers as sent', async () => {
  const result = await send('/status/200');
  assert.equal(result.outcome, 'delivered');
  assert.equal(result.statusCode, 200);
  assert.equal(result.responseExcerpt, 'answer 200');
  assert.equal(result.error, undefined);
  assert.ok(result.durationMs >= 0);
  const request = seen.at(-1)!;
  assert.equal(request.body, '{"ok":true}');
  assert.equal(request.headers['content-type'], 'application/json');
  assert.equal(request.headers['user-agent'], USER_AGENT);
  assert.equal(request.headers['webhook-id'], 'msg_test');
});

test('custom endpoint headers pass through but never replace signature or content-type', async () => {
  const result = await send('/status/204', {
    headers: {
      'X-Tenant': 'acme',
      'Content-Type': 'text/plain',
      'Webhook-Signature': 'v1,forged',
      ...signature,
    },
    customHeaders: { authorization: 'Bearer t0k3n', 'webhook-id': 'msg_forged', 'content-type': 'text/html', host: 'evil' },
  });
  assert.equal(result.outcome, 'delivered');
  const request = seen.at(-1)!;
  assert.equal(request.headers['x-tenant'], 'acme');
  assert.equal(request.headers.authorization, 'Bearer t0k3n');
  assert.equal(request.headers['content-type'], 'application/json');
  assert.equal(request.headers['webhook-signature'], 'v1,abc');
  assert.equal(request.headers['webhook-id'], 'msg_test');
  assert.notEqual(request.headers.host, 'evil');
});

test('500 is retryable', async () => {
  const result = await send('/status/500');
  assert.equal(result.outcome, 'retryable');
  assert.equal(result.statusCode, 500);
  assert.equal(result.error, 'HTTP 500');
  assert.equal(result.retryAfterMs, undefined);
});

test('400 is permanent, 410 is gone', async () => {
  assert.equal((await send('/status/400')).outcome, 'permanent');
  assert.equal((await send('/status/401')).outcome, 'permanent');
  assert.equal((await send('/status/404')).outcome, 'permanent');
  const gone = await send('/status/410');
  assert.equal(gone.outcome, 'gone');
  assert.equal(gone.statusCode, 410);
});

test('408, 409 and 425 are retryable', async () => {
  for (const status of [408, 409, 425]) {
    const result = await send(`/status/${status}`);
    assert.equal(result.outcome, 'retryable', `HTTP ${status}`);
    assert.equal(result.statusCode, status);
  }
});

test('429 with Retry-After: 2 asks for a 2 s wait; 503 with an HTTP date too', async () => {
  const limited = await send('/status/429');
  assert.equal(limited.outcome, 'retryable');
  assert.equal(limited.retryAfterMs, 2_000);
  const unavailable = await send('/status/503');
  assert.equal(unavailable.outcome, 'retryable');
  assert.ok(unavailable.retryAfterMs! > 25_000 && unavailable.retryAfterMs! <= 30_000, String(unavailable.retryAfterMs));
});

test('a redirect is not followed and counts as a retryable failure', async () => {
  const before = seen.length;
  const result = await send('/status/302');
  assert.equal(result.outcome, 'retryable');
  assert.equal(result.statusCode, 302);
  assert.match(result.error!, /redirect to .*\/status\/200 not followed/);
  assert.equal(seen.length, before + 1, 'the Location was not requested');
});

test('a receiver slower than the timeout is a retryable timeout', async () => {
  const result = await send('/slow', { timeoutMs: 200 });
  assert.equal(result.outcome, 'retryable');
  assert.equal(result.statusCode, undefined);
  assert.match(result.error!, /timeout/);
  assert.ok(result.durationMs >= 190 && result.durationMs < 900, String(result.durationMs));
});

test('the response excerpt is capped at 1 KiB and cleaned of NUL bytes', async () => {
  const big = await send('/big');
  assert.equal(big.responseExcerpt!.length, 1024);
  const nul = await send('/nul');
  assert.equal(nul.responseExcerpt, 'okdone');
});

test('a refused connection is retryable', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const result = await sendWebhook({ url: `http://127.0.0.1:${port}/hook`, headers: signature, body: '{}', timeoutMs: 2_000, allowList });
  assert.equal(result.outcome, 'retryable');
  assert.match(result.error!, /ECONNREFUSED/);
});

test('an SSRF refusal is permanent and sends nothing', async () => {
  const before = seen.length;
  const literal = await send('/status/200', { allowList: [] });
  assert.equal(literal.outcome, 'permanent');
  assert.match(literal.error!, /^unsafe_url: /);
  // A name is checked where the connection is made, on the address actually dialled.
  const port = new URL(base).port;
  const byName = await sendWebhook({ url: `http://localhost:${port}/status/200`, headers: signature, body: '{}', timeoutMs: 2_000, allowList: [] });
  assert.equal(byName.outcome, 'permanent');
  assert.match(byName.error!, /^unsafe_url: .*localhost resolves to it/);
  assert.equal(seen.length, before);
});

test('Retry-After parses delay-seconds and HTTP dates, and ignores junk', () => {
  const now = Date.parse('2026-11-22T00:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter('Sun, 22 Nov 2026 00:00:10 GMT', now), 10_000);
  assert.equal(parseRetryAfter('Sat, 21 Nov 2026 00:00:10 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

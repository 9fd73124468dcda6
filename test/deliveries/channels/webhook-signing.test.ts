import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { generateSecret, signatureHeaders, webhookId } from '../../../src/deliveries/channels/webhook/signing.ts';
import { closeWebhookAgents, sendWebhook } from '../../../src/deliveries/channels/webhook/send.ts';

/** A receiver that verifies every request with the reference Standard Webhooks library. */
async function startVerifyingReceiver(receiverSecrets: string[]) {
  const verdicts: Array<{ verifiedWith: number[]; headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verifiedWith: number[] = [];
      receiverSecrets.forEach((secret, index) => {
        try {
          new Webhook(secret).verify(body, req.headers as Record<string, string>);
          verifiedWith.push(index);
        } catch (error) {
          if (!(error instanceof WebhookVerificationError)) throw error;
        }
      });
      verdicts.push({ verifiedWith, headers: req.headers, body });
      res.writeHead(verifiedWith.length > 0 ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    verdicts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const allowList = ['127.0.0.1'];
const body = JSON.stringify({ type: 'order.created', timestamp: '2026-11-22T00:00:00.000Z', data: { id: 'evt_1', amount: 42 } });

test('a receiver verifies a delivery with the reference Standard Webhooks library', async (t) => {
  const secret = generateSecret();
  const receiver = await startVerifyingReceiver([secret]);
  t.after(() => receiver.close());
  t.after(closeWebhookAgents);

  const id = webhookId('2f0c6f1e-0000-4000-8000-000000000001', 'evt_1');
  const headers = signatureHeaders({ id, timestampSeconds: Math.floor(Date.now() / 1000), body, secrets: [secret] });
  const result = await sendWebhook({ url: receiver.url, headers: { ...headers }, body, timeoutMs: 5_000, allowList });

  assert.equal(result.outcome, 'delivered');
  assert.deepEqual(receiver.verdicts[0]!.verifiedWith, [0]);
  assert.equal(receiver.verdicts[0]!.headers['webhook-id'], id);
  assert.equal(receiver.verdicts[0]!.body, body);
});

test('during a rotation both secrets are signed, so a receiver holding either one verifies', async (t) => {
  const previous = generateSecret();
  const current = generateSecret();
  const holdsOld = await startVerifyingReceiver([previous]);
  const holdsNew = await startVerifyingReceiver([current]);
  t.after(() => holdsOld.close());
  t.after(() => holdsNew.close());
  t.after(closeWebhookAgents);

  const headers = signatureHeaders({
    id: webhookId('endpoint', 'evt_2'),
    timestampSeconds: Math.floor(Date.now() / 1000),
    body,
    secrets: [current, previous],
  });
  assert.equal(headers['webhook-signature'].split(' ').length, 2);
  assert.match(headers['webhook-signature'], /^v1,\S+ v1,\S+$/);

  for (const receiver of [holdsOld, holdsNew]) {
    const result = await sendWebhook({ url: receiver.url, headers: { ...headers }, body, timeoutMs: 5_000, allowList });
    assert.equal(result.outcome, 'delivered');
    assert.deepEqual(receiver.verdicts[0]!.verifiedWith, [0]);
  }
});

test('a signature made with another secret or over another body does not verify', () => {
  const secret = generateSecret();
  const headers = signatureHeaders({ id: 'msg_x', timestampSeconds: Math.floor(Date.now() / 1000), body, secrets: [secret] });
  assert.throws(() => new Webhook(generateSecret()).verify(body, { ...headers }), WebhookVerificationError);
  assert.throws(() => new Webhook(secret).verify(body + ' ', { ...headers }), WebhookVerificationError);
  assert.doesNotThrow(() => new Webhook(secret).verify(body, { ...headers }));
});

test('webhook ids are deterministic per (target, event) and distinct otherwise', () => {
  const id = webhookId('endpoint-a', 'evt_1');
  assert.match(id, /^msg_[a-z2-7]{26}$/);
  assert.equal(webhookId('endpoint-a', 'evt_1'), id);
  assert.notEqual(webhookId('endpoint-b', 'evt_1'), id);
  assert.notEqual(webhookId('endpoint-a', 'evt_2'), id);
});

test('secrets are whsec_ + base64 of 32 random bytes', () => {
  const secret = generateSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(secret.slice('whsec_'.length), 'base64').length, 32);
  assert.notEqual(generateSecret(), secret);
});

test('the timestamp header is whole seconds and signing needs a secret', () => {
  const headers = signatureHeaders({ id: 'msg_y', timestampSeconds: 1_700_000_000.9, body, secrets: [generateSecret()] });
  assert.equal(headers['webhook-timestamp'], '1700000000');
  assert.throws(() => signatureHeaders({ id: 'msg_y', timestampSeconds: 1, body, secrets: [] }));
});

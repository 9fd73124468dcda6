import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { closeMailer, createMailer, sendEmail, type Mailer } from '../../../src/deliveries/channels/email/send.ts';
import { renderEmail } from '../../../src/deliveries/channels/email/render.ts';

// A real SMTP server on an ephemeral port. Recipients at reject.example.com get a 550, at
// busy.example.com a 451, which is how real servers say "never" and "later".
let server: SMTPServer;
let mailer: Mailer;
let port: number;
const inbox: Array<{ envelopeTo: string[]; mail: ParsedMail }> = [];

before(async () => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.endsWith('@reject.example.com')) {
        callback(Object.assign(new Error('No such user here'), { responseCode: 550 }));
      } else if (address.address.endsWith('@busy.example.com')) {
        callback(Object.assign(new Error('Mailbox busy, try later'), { responseCode: 451 }));
      } else {
        callback();
      }
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          inbox.push({ envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address), mail });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.server.address() as AddressInfo).port;
  mailer = createMailer(`smtp://127.0.0.1:${port}`, 'EventFlow <alerts@eventflow.test>');
});

after(async () => {
  closeMailer(mailer);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('a rendered notification arrives with its subject, both bodies and the delivery id', async () => {
  const rendered = renderEmail(
    { subject: 'New order {{ event.id }}', body: '<p>Hello {{ properties.name }}, total {{ properties.total }}</p>' },
    { id: 'evt_42', type: 'order.created', properties: { name: '<b>Ann</b>', total: 12 } },
  );
  const result = await sendEmail(mailer, { to: ['ann@example.com', 'ops@example.com'], ...rendered, deliveryId: 'msg_abc123' });

  assert.equal(result.outcome, 'delivered', result.error);
  assert.equal(result.statusCode, 250);
  assert.match(result.responseExcerpt!, /^250/);
  const { envelopeTo, mail } = inbox.at(-1)!;
  assert.deepEqual(envelopeTo, ['ann@example.com', 'ops@example.com']);
  assert.equal(mail.subject, 'New order evt_42');
  assert.equal(mail.html, '<p>Hello &lt;b&gt;Ann&lt;/b&gt;, total 12</p>');
  assert.equal(mail.text?.trim(), 'Hello <b>Ann</b>, total 12');
  assert.equal(mail.messageId, '<msg_abc123@eventflow.test>');
  assert.equal(mail.headers.get('x-eventflow-delivery-id'), 'msg_abc123');
  assert.equal(mail.from?.value[0]?.address, 'alerts@eventflow.test');
});

test('a replay of the same delivery carries the same Message-ID', async () => {
  const message = { to: ['ann@example.com'], subject: 's', html: '<p>x</p>', text: 'x', deliveryId: 'msg_replayed' };
  await sendEmail(mailer, message);
  await sendEmail(mailer, message);
  const ids = inbox.slice(-2).map(({ mail }) => mail.messageId);
  assert.deepEqual(ids, ['<msg_replayed@eventflow.test>', '<msg_replayed@eventflow.test>']);
});

test('SMTP 550 for every recipient is permanent', async () => {
  const result = await sendEmail(mailer, { to: ['nobody@reject.example.com'], subject: 's', html: 'h', text: 't', deliveryId: 'msg_550' });
  assert.equal(result.outcome, 'permanent');
  assert.equal(result.statusCode, 550);
  assert.match(result.error!, /EENVELOPE/);
  assert.match(result.responseExcerpt!, /^550/);
});

test('SMTP 451 is retryable', async () => {
  const result = await sendEmail(mailer, { to: ['someone@busy.example.com'], subject: 's', html: 'h', text: 't', deliveryId: 'msg_451' });
  assert.equal(result.outcome, 'retryable');
  assert.equal(result.statusCode, 451);
});

test('a partly rejected mail is delivered to the rest and says who was rejected', async () => {
  const result = await sendEmail(mailer, {
    to: ['ann@example.com', 'nobody@reject.example.com'],
    subject: 's',
    html: 'h',
    text: 't',
    deliveryId: 'msg_partial',
  });
  assert.equal(result.outcome, 'delivered');
  assert.match(result.error!, /nobody@reject\.example\.com/);
  assert.deepEqual(inbox.at(-1)!.envelopeTo, ['ann@example.com']);
});

test('an unreachable SMTP server is retryable', async () => {
  const closed = new SMTPServer({ logger: false });
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const unreachable = createMailer(`smtp://127.0.0.1:${deadPort}`, 'alerts@eventflow.test');
  try {
    const result = await sendEmail(unreachable, { to: ['ann@example.com'], subject: 's', html: 'h', text: 't', deliveryId: 'msg_down' });
    assert.equal(result.outcome, 'retryable');
    assert.match(result.error!, /ECONNREFUSED|ECONNECTION|ESOCKET/);
  } finally {
    closeMailer(unreachable);
  }
});

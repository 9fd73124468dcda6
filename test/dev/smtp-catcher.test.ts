import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { startSmtpCatcher, type CaughtMessage, type SmtpCatcher } from '../../src/dev/smtp-catcher.ts';

describe('smtp catcher', () => {
  let catcher: SmtpCatcher;

  before(async () => {
    catcher = await startSmtpCatcher({ smtpPort: 0, httpPort: 0 });
  });
  after(() => catcher.stop());

  it('lists a mail sent over SMTP in GET /api/messages with its subject and text', async () => {
    const transport = nodemailer.createTransport(catcher.smtpUrl);
    await transport.sendMail({
      from: 'EventFlow <eventflow@localhost>',
      to: 'ops@example.test',
      bcc: 'audit@example.test',
      subject: 'Endpoint disabled',
      text: 'Deliveries to https://hooks.example.test failed for 5 days.',
      html: '<p>Deliveries failed for 5 days.</p>',
    });
    transport.close();

    const response = await fetch(`${catcher.inboxUrl}/api/messages`);
    assert.equal(response.status, 200);
    const messages = (await response.json()) as CaughtMessage[];
    assert.equal(messages.length, 1);
    const [message] = messages;
    assert.equal(message?.subject, 'Endpoint disabled');
    assert.equal(message?.text.trim(), 'Deliveries to https://hooks.example.test failed for 5 days.');
    assert.equal(message?.html, '<p>Deliveries failed for 5 days.</p>');
    assert.match(message?.from ?? '', /eventflow@localhost/);
    assert.deepEqual(message?.to.sort(), ['audit@example.test', 'ops@example.test']);
    assert.ok(!Number.isNaN(Date.parse(message?.date ?? '')));
  });

  it('empties the inbox on DELETE /api/messages', async () => {
    const response = await fetch(`${catcher.inboxUrl}/api/messages`, { method: 'DELETE' });
    assert.equal(response.status, 204);
    assert.deepEqual(await (await fetch(`${catcher.inboxUrl}/api/messages`)).json(), []);
    assert.equal(catcher.messages().length, 0);
  });

  it('shows mail in the HTML inbox with markup escaped', async () => {
    const transport = nodemailer.createTransport(catcher.smtpUrl);
    await transport.sendMail({ from: 'a@localhost', to: 'b@localhost', subject: '<script>x</script>', text: 'hi' });
    transport.close();
    const page = await (await fetch(catcher.inboxUrl)).text();
    assert.match(page, /&#60;script&#62;x&#60;\/script&#62;/);
    assert.doesNotMatch(page, /<script>x<\/script>/);
  });
});

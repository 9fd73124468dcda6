import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TemplateError,
  checkTemplates,
  isEmailAddress,
  parseTemplate,
  renderEmail,
  renderTemplate,
  resolveRecipients,
  type TemplateEvent,
} from '../../../src/deliveries/channels/email/render.ts';

const event: TemplateEvent = {
  id: 'evt_1',
  type: 'order.created',
  user_id: 'user_9',
  timestamp: '2026-11-22T10:00:00.000Z',
  properties: {
    name: '<script>alert("x")</script>',
    email: 'buyer@example.com',
    total: 42.5,
    paid: true,
    items: [{ sku: 'A-1' }, { sku: 'B-2' }],
    nothing: null,
  },
  context: { locale: 'en-GB' },
};

test('placeholders resolve dotted paths into the event, its properties and context', () => {
  const rendered = renderEmail(
    {
      subject: 'Order {{ event.id }} ({{event.type}})',
      body: '<p>Total {{ properties.total }}, paid {{ properties.paid }}, first {{ properties.items.0.sku }}, locale {{ context.locale }}</p>',
    },
    event,
  );
  assert.equal(rendered.subject, 'Order evt_1 (order.created)');
  assert.equal(rendered.html, '<p>Total 42.5, paid true, first A-1, locale en-GB</p>');
  assert.equal(rendered.text, 'Total 42.5, paid true, first A-1, locale en-GB');
});

test('values are HTML-escaped in the HTML body, and left readable in the text part', () => {
  const rendered = renderEmail({ subject: 'Hi {{ properties.name }}', body: '<b>Hello {{ properties.name }}</b>' }, event);
  assert.equal(rendered.html, '<b>Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</b>');
  assert.ok(!rendered.html.includes('<script>'));
  assert.equal(rendered.text, 'Hello <script>alert("x")</script>');
  assert.equal(rendered.subject, 'Hi <script>alert("x")</script>');
});

test('templates cannot reach code: prototype paths render empty', () => {
  const html = renderTemplate(
    '[{{constructor.constructor}}][{{ event.constructor }}][{{ properties.__proto__ }}][{{ event.id.length }}][{{ toString }}]',
    { event, properties: event.properties },
  );
  assert.equal(html, '[][][][][]');
});

test('anything but a dotted path inside braces is a template error, not code', () => {
  for (const bad of [
    '{{ process.exit() }}',
    '{{ constructor.constructor("return process")() }}',
    '{{ a + b }}',
    '{{{ properties.name }}}',
    '{{}}',
    'Hello {{ properties.name',
    'Hello {{#each items}}x{{/each}}',
  ]) {
    assert.throws(() => parseTemplate(bad), TemplateError, bad);
  }
  assert.throws(() => checkTemplates({ subject: 'ok', body: 'Hi {{ name' }), TemplateError);
  assert.doesNotThrow(() => checkTemplates({ subject: 'Order {{ event.id }}', body: '<p>{{ properties.email }}</p>' }));
});

test('missing and null values render empty; objects render as JSON', () => {
  assert.equal(renderTemplate('[{{ properties.missing.deep }}][{{ properties.nothing }}]', { properties: event.properties }), '[][]');
  assert.equal(renderTemplate('{{ properties.items.1 }}', { properties: event.properties }), '{"sku":"B-2"}');
});

test('the subject is one line: CR/LF from values cannot inject headers', () => {
  const hostile: TemplateEvent = { ...event, properties: { title: 'Hello\r\nBcc: victim@example.com\r\n\r\nbody' } };
  const rendered = renderEmail({ subject: 'Re: {{ properties.title }}', body: 'x' }, hostile);
  assert.ok(!/[\r\n]/.test(rendered.subject));
  assert.equal(rendered.subject, 'Re: Hello Bcc: victim@example.com body');
});

test('recipients: the fixed list plus a valid address from the event, deduplicated', () => {
  assert.deepEqual(
    resolveRecipients({ recipients: ['ops@example.com', 'Buyer@Example.com'], recipient_property: 'properties.email' }, event),
    ['ops@example.com', 'Buyer@Example.com'],
  );
  assert.deepEqual(resolveRecipients({ recipients: [], recipient_property: 'event.properties.email' }, event), ['buyer@example.com']);
  assert.deepEqual(resolveRecipients({ recipients: ['ops@example.com'], recipient_property: 'properties.name' }, event), ['ops@example.com']);
  assert.deepEqual(resolveRecipients({ recipients: [], recipient_property: 'properties.missing' }, event), []);
  const injected: TemplateEvent = { ...event, properties: { email: 'a@example.com\r\nBcc: b@example.com' } };
  assert.deepEqual(resolveRecipients({ recipients: [], recipient_property: 'properties.email' }, injected), []);
});

test('email validation accepts ordinary addresses and refuses junk', () => {
  assert.equal(isEmailAddress('first.last+tag@sub.example.co.uk'), true);
  for (const bad of ['', 'no-at-sign', 'a@b', 'a b@example.com', 'a@example.com\n', 42, null]) {
    assert.equal(isEmailAddress(bad), false, String(bad));
  }
});

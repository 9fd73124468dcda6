import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ensureDashboardBuilt } from '../../src/dev/dashboard.ts';
import { REPO_ROOT } from '../../src/dev/dev-env.ts';
import { waitUntil } from '../../src/dev/process.ts';
import { createLogger } from '../../src/logging.ts';
import { DESKTOP, launchChromium, openPage, PHONE, type WatchedPage } from '../helpers/browser.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { startServices, type Services } from '../helpers/services.ts';

// The dashboard as a person uses it: headless Chromium against the API and worker processes (with the
// harness's Postgres, Temporal, SMTP and Jaeger), clicking through the built app the API serves. Each
// flow ends with a screenshot (test-results/screenshots) and no console errors.

const JAEGER = process.env.JAEGER_QUERY_URL;
const PASSWORD = 'correct horse battery staple';

const stops: Array<() => Promise<unknown>> = [];
let browser: Browser;
let services: Services;
let owner: WatchedPage;
let writeKey: string;
const ownerEmail = `owner-${randomUUID()}@example.com`;

before(async () => {
  await ensureDashboardBuilt(createLogger('dashboard-build', 'warn'));
  browser = await launchChromium();
  services = await startServices(
    { after: (stop) => stops.unshift(stop) },
    // Quick retries, so a failing endpoint parks its delivery within seconds.
    { AUTH_SIGNUP: 'open', AUTH_SECURE_COOKIES: 'false', WEBHOOK_RETRY_SCHEDULE: '1,1' },
  );
  owner = await openPage(browser);
});

after(async () => {
  await browser?.close();
  for (const stop of stops) await stop();
});

/** Fails with every console error or page error the page had since the last check. */
function assertNoConsoleErrors(watched: WatchedPage): void {
  const problems = watched.problems.splice(0);
  assert.deepEqual(problems, [], 'no console errors or page errors');
}

async function sendEvents(events: Array<Record<string, unknown>>): Promise<string[]> {
  const response = await fetch(`${services.apiUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${writeKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch: events }),
  });
  assert.equal(response.status, 202, await response.clone().text());
  return ((await response.json()) as { ids: string[] }).ids;
}

async function go(page: Page, path: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: path, exact: true }).click();
}

test('register, create a write key, send events: the overview and the live feed show them', async () => {
  const { page } = owner;
  await page.goto(`${services.apiUrl}/dashboard/`);
  await page.getByRole('button', { name: 'No account? Register' }).click();
  await page.getByLabel('Name').fill('Owner');
  await page.getByLabel('Email').fill(ownerEmail);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Register', exact: true }).click();
  await page.getByTestId('signed-in-as').filter({ hasText: ownerEmail }).waitFor();
  await page.getByTestId('stat-total-events').filter({ hasText: /^0$/ }).waitFor();

  // A write key, made in the dashboard, shown once.
  await go(page, 'API keys');
  await page.getByLabel('Name').fill('browser test');
  await page.getByLabel('Kind').selectOption('write');
  await page.getByRole('button', { name: 'Create key' }).click();
  writeKey = (await page.getByTestId('api-key-secret').innerText()).trim();
  assert.match(writeKey, /^\S{20,}$/);

  await go(page, 'Overview');
  await page.getByTestId('stat-total-events').filter({ hasText: /^0$/ }).waitFor();
  await page.getByText('Waiting for the first event…').waitFor();
  await sendEvents([
    { type: 'signup', user_id: 'ada', properties: { plan: 'pro' } },
    { type: 'signup', user_id: 'grace' },
    { type: 'page_view', user_id: 'ada', properties: { path: '/pricing' } },
  ]);
  // No reload: the eventsStored subscription refreshes the numbers and the feed.
  await page.getByTestId('stat-total-events').filter({ hasText: /^3$/ }).waitFor();
  assert.equal(await page.getByTestId('stat-today').innerText(), '3');
  assert.equal(await page.getByTestId('stat-unique-users').innerText(), '2');
  const feed = page.getByTestId('live-feed');
  await feed.getByRole('link', { name: 'page_view' }).waitFor();
  assert.equal(await feed.getByRole('link', { name: 'signup' }).count(), 2);
  // The charts drew (canvas elements with their accessible names).
  assert.equal(await page.getByRole('img', { name: 'Most frequent event types' }).count(), 1);
  await owner.screenshot('overview');
  assertNoConsoleErrors(owner);
});

test('a webhook made in the dashboard: secret shown once, a test event, and its attempts in the log', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const { page } = owner;
  await go(page, 'Webhooks');
  const form = page.getByRole('form', { name: 'Add a webhook endpoint' });
  await form.getByLabel('URL').fill(receiver.url);
  await form.getByLabel('Event types').fill('order.*');
  await form.getByRole('button', { name: 'Create endpoint' }).click();
  assert.match(await page.getByTestId('webhook-secret').innerText(), /^whsec_/);
  await page.getByRole('button', { name: 'Done' }).click();
  assert.equal(await page.getByTestId('webhook-secret').count(), 0, 'the secret is not shown again');

  const row = page.getByTestId('webhook-row').filter({ hasText: receiver.url });
  await row.getByRole('button', { name: 'Send test event' }).click();
  await row.getByRole('status').filter({ hasText: /200/ }).waitFor();
  assert.equal(JSON.parse(receiver.requests[0]!.body).type, 'eventflow.test');

  const [orderId] = await sendEvents([{ type: 'order.created', user_id: 'ada', properties: { total: 42 } }]);
  await waitUntil(async () => (receiver.requests.some((request) => request.body.includes(orderId!)) ? true : undefined), { what: 'the order webhook', timeoutMs: 30_000 });
  await row.getByRole('button', { name: 'Show attempts' }).click();
  await waitUntil(
    async () => {
      if ((await row.getByTestId('attempt-row').filter({ hasText: orderId! }).count()) > 0) return true;
      await row.getByRole('button', { name: /^Refresh/ }).click();
      return undefined;
    },
    { what: 'the attempt in the log', timeoutMs: 20_000, intervalMs: 500 },
  );
  assert.match(await row.getByTestId('attempt-row').filter({ hasText: orderId! }).innerText(), /200/);
  await owner.screenshot('webhooks');
  assertNoConsoleErrors(owner);
});

test("a failing endpoint's events are parked, then replayed from the dead-letter page: each arrives once", async (t) => {
  let healthy = false;
  const receiver = await startReceiver(() => ({ status: healthy ? 200 : 500, body: healthy ? 'ok' : 'down' }));
  t.after(() => receiver.close());
  const { page } = owner;
  await go(page, 'Webhooks');
  const form = page.getByRole('form', { name: 'Add a webhook endpoint' });
  await form.getByLabel('URL').fill(receiver.url);
  await form.getByLabel('Event types').fill('invoice.*');
  await form.getByRole('button', { name: 'Create endpoint' }).click();
  await page.getByRole('button', { name: 'Done' }).click();

  const ids = await sendEvents([
    { type: 'invoice.paid', user_id: 'ada', properties: { amount: 1 } },
    { type: 'invoice.paid', user_id: 'grace', properties: { amount: 2 } },
  ]);
  await go(page, 'Dead letters');
  const rowOf = (id: string) => page.getByTestId('dead-letter-row').filter({ hasText: id });
  // Three attempts 1 s apart (WEBHOOK_RETRY_SCHEDULE=1,1), then parked.
  await waitUntil(
    async () => {
      if ((await rowOf(ids[0]!).count()) > 0 && (await rowOf(ids[1]!).count()) > 0) return true;
      await page.getByRole('button', { name: /^Refresh/ }).click();
      return undefined;
    },
    { what: 'both dead letters listed', timeoutMs: 45_000, intervalMs: 1_000 },
  );
  await owner.screenshot('dead-letters');
  healthy = true;

  // One selected and replayed …
  await rowOf(ids[0]!).getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Replay selected' }).click();
  // … the other by "replay all matching", which shows the dry run's count and asks first.
  await page.getByLabel('Event type').fill('invoice.paid');
  await page.getByRole('form', { name: 'Filter dead letters' }).getByRole('button', { name: 'Apply filters' }).click();
  await waitUntil(
    async () => {
      if ((await rowOf(ids[0]!).count()) === 0) return true;
      await page.getByRole('button', { name: /^Refresh/ }).click();
      return undefined;
    },
    { what: 'the replayed dead letter to leave the list', timeoutMs: 30_000, intervalMs: 1_000 },
  );
  await page.getByRole('button', { name: 'Replay all matching' }).click();
  const dialog = page.getByRole('dialog', { name: 'Replay all matching dead letters?' });
  assert.equal(await dialog.getByTestId('bulk-replay-count').innerText(), '1');
  await dialog.getByRole('button', { name: 'Replay all' }).click();
  await page.getByRole('status').filter({ hasText: /Replayed 1 of 1/ }).waitFor();

  const delivered = (id: string) => receiver.requests.filter((request) => request.body.includes(id) && request.at > 0);
  await waitUntil(async () => (ids.every((id) => delivered(id).length >= 4) ? true : undefined), { what: 'both replays delivered', timeoutMs: 30_000 });
  // Give a duplicate time to show up, then count: 3 failed attempts and exactly one more, each under one webhook-id.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  for (const id of ids) {
    const requests = delivered(id);
    assert.equal(requests.length, 4, `event ${id}: three failures, then delivered once`);
    assert.equal(new Set(requests.map((request) => request.headers['webhook-id'])).size, 1, 'one webhook-id across retries and the replay');
  }

  // The event's timeline tells the story: three failed attempts, parked, replayed, a good attempt, delivered.
  await page.goto(`${services.apiUrl}/dashboard/events/${encodeURIComponent(ids[0]!)}`);
  await page.locator('[data-testid=timeline-stage][data-kind=delivered]').waitFor({ timeout: 20_000 });
  const kinds = await page.getByTestId('timeline-stage').evaluateAll((items) => items.map((item) => item.getAttribute('data-kind')));
  const story = kinds.filter((kind) => kind !== 'received' && kind !== 'validated' && kind !== 'enriched' && kind !== 'stored');
  assert.deepEqual(story, ['attempt', 'attempt', 'attempt', 'parked', 'replayed', 'attempt', 'delivered']);
  await owner.screenshot('event-timeline-replayed');
  assertNoConsoleErrors(owner);
});

test("an event's timeline shows its stages and its trace waterfall from the API and the worker", { skip: !JAEGER && 'no jaeger binary' }, async () => {
  const { page } = owner;
  await go(page, 'Events');
  await page.getByRole('textbox', { name: 'Type' }).fill('page_view');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=event-row]').length === 1);
  await page.getByTestId('event-row').getByRole('link', { name: 'page_view' }).click();

  const stages = page.getByTestId('timeline-stage');
  await page.locator('[data-testid=timeline-stage][data-kind=stored]').waitFor();
  const kinds = await stages.evaluateAll((items) => items.map((item) => item.getAttribute('data-kind')));
  assert.deepEqual(kinds.slice(0, 4), ['received', 'validated', 'enriched', 'stored']);

  const waterfall = page.getByTestId('trace-waterfall');
  await waterfall.getByText('RunActivity:persistRun').waitFor({ timeout: 30_000 });
  const text = await waterfall.innerText();
  assert.match(text, /eventflow-api/);
  assert.match(text, /eventflow-worker/);
  assert.match(text, /POST/, 'the ingest request span is there');
  await owner.screenshot('event-timeline');
  assertNoConsoleErrors(owner);
});

test("a click in the dashboard and the API work it causes share one trace", { skip: !JAEGER && 'no jaeger binary' }, async () => {
  const { page } = owner;
  await go(page, 'Overview');
  await page.getByTestId('stat-total-events').waitFor();
  // The browser's spans reach Jaeger through POST /v1/traces; the API's through its own exporter.
  const shared = await waitUntil(
    async () => {
      const response = await fetch(`${JAEGER}/api/traces?service=eventflow-dashboard&limit=50&lookback=1h`);
      const body = (await response.json()) as { data: Array<{ traceID: string; processes: Record<string, { serviceName: string }>; spans: Array<{ operationName: string }> }> };
      return body.data.find((trace) => Object.values(trace.processes).some((process) => process.serviceName === 'eventflow-api'));
    },
    { what: 'a dashboard trace with API spans', timeoutMs: 30_000, intervalMs: 1_000 },
  );
  const names = shared.spans.map((span) => span.operationName);
  assert.ok(names.some((name) => /^(HTTP )?(GET|POST)$/.test(name)), `the browser's fetch span is in the trace: ${names.join(', ')}`);
  assert.ok(names.some((name) => /^graphql |^(GET|POST) \/v1/.test(name)), `the API's work is in the trace: ${names.join(', ')}`);
  assertNoConsoleErrors(owner);
});

test('an in-app notification rule: the bell counts the notification live, and it can be marked read', async () => {
  const { page } = owner;
  await go(page, 'Notification rules');
  await page.getByRole('button', { name: 'New rule' }).click();
  await page.getByLabel('Channel').selectOption('in_app');
  await page.getByLabel('Event types').fill('alert.*');
  await page.getByRole('checkbox', { name: 'owner' }).check();
  await page.getByLabel('Title template').fill('Alert: {{ event.type }}');
  await page.getByLabel('Body template').fill('Disk at {{ properties.disk }}');
  await page.getByRole('button', { name: /^(Create|Save)/ }).click();
  await page.getByText('alert.*').first().waitFor();

  await go(page, 'Overview');
  assert.equal(await page.getByTestId('unread-count').count(), 0, 'nothing unread yet');
  await sendEvents([{ type: 'alert.disk', user_id: 'ops', properties: { disk: '91%' } }]);
  // The notificationAdded subscription updates the bell without a reload.
  await page.getByTestId('unread-count').filter({ hasText: /^1$/ }).waitFor({ timeout: 30_000 });

  await page.getByRole('link', { name: /Notifications, 1 unread/ }).first().click();
  const item = page.getByTestId('notification-item').filter({ hasText: 'Alert: alert.disk' });
  await item.waitFor();
  assert.match(await item.innerText(), /Disk at 91%/);
  await owner.screenshot('notifications');
  await item.getByRole('button', { name: /^Mark .* read$/ }).click();
  await page.getByTestId('unread-count').waitFor({ state: 'detached' });
  assertNoConsoleErrors(owner);
});

test('analytics.js (@segment/analytics-next) on another site sends a page view and a track call that show up in the dashboard', async (t) => {
  // A customer's web page on its own origin, loading Segment's browser library from the npm package.
  const bundle = await readFile(join(REPO_ROOT, 'node_modules/@segment/analytics-next/dist/umd/index.js'));
  const segmentHost = `${new URL(services.apiUrl).host}/segment/v1`;
  const site = createServer((request, response) => {
    if (request.url === '/analytics.js') return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>Shop</title><h1>Shop</h1>
      <script src="/analytics.js"></script>
      <script>
        window.analytics = AnalyticsNext.AnalyticsBrowser.load({
          writeKey: ${JSON.stringify(writeKey)},
          cdnSettings: { integrations: { 'Segment.io': { apiKey: ${JSON.stringify(writeKey)}, apiHost: ${JSON.stringify(segmentHost)}, protocol: 'http' } } },
        });
        window.analytics.identify('ada-browser');
        window.analytics.page('Pricing');
        window.analytics.track('Signed Up', { plan: 'pro' });
      </script>`);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => site.close(() => resolve())));
  const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/pricing?utm_source=newsletter`;

  const { page } = owner;
  await go(page, 'Overview');
  const feed = page.getByTestId('live-feed');
  await feed.waitFor();
  const shop = await openPage(browser);
  try {
    await shop.page.goto(siteUrl);
    // Stored, then shown by the dashboard's live feed without a reload.
    await feed.getByRole('link', { name: 'Signed Up' }).waitFor({ timeout: 30_000 });
    await feed.getByRole('link', { name: 'page', exact: true }).waitFor();
    assertNoConsoleErrors(shop);
  } finally {
    await shop.context.close();
  }
  await feed.getByRole('link', { name: 'Signed Up' }).click();
  await page.locator('[data-testid=timeline-stage][data-kind=stored]').waitFor();
  const event = await page.locator('pre').first().innerText();
  assert.match(event, /"plan": "pro"/);
  assert.match(event, /"source": "segment"/, 'the stored event says which API it came through');
  assert.match(event, /"user_id": "ada-browser"/);
  await owner.screenshot('segment-analytics-js');
  assertNoConsoleErrors(owner);
});

test('a viewer sees no buttons it cannot use, and the API refuses anyway', async () => {
  const { page } = owner;
  const viewerEmail = `viewer-${randomUUID()}@example.com`;
  await go(page, 'Members');
  const invite = page.getByRole('form', { name: 'Invite a member' });
  await invite.getByLabel('Email').fill(viewerEmail);
  await invite.getByLabel('Role').selectOption('viewer');
  await invite.getByRole('button', { name: /Invite/ }).click();
  await page.getByText(viewerEmail).first().waitFor();

  const viewer = await openPage(browser);
  try {
    await viewer.page.goto(`${services.apiUrl}/dashboard/`);
    await viewer.page.getByRole('button', { name: 'No account? Register' }).click();
    await viewer.page.getByLabel('Name').fill('Viewer');
    await viewer.page.getByLabel('Email').fill(viewerEmail);
    await viewer.page.getByLabel('Password').fill(PASSWORD);
    await viewer.page.getByRole('button', { name: 'Register', exact: true }).click();
    await viewer.page.getByTestId('stat-total-events').waitFor();
    // The invitation put the viewer in the owner's project.
    await viewer.page.getByLabel('Project').selectOption({ label: /\(viewer\)/ as unknown as string }).catch(() => undefined);
    const projectLabel = await viewer.page.getByLabel('Project').locator('option:checked').innerText();
    assert.match(projectLabel, /\(viewer\)/);

    await go(viewer.page, 'Notification rules');
    await viewer.page.getByText('alert.*').first().waitFor();
    assert.equal(await viewer.page.getByRole('button', { name: 'New rule' }).count(), 0);
    assert.equal(await viewer.page.getByRole('button', { name: /^(Edit|Delete|Disable)/ }).count(), 0);
    await go(viewer.page, 'API keys');
    assert.equal(await viewer.page.getByRole('button', { name: 'Create key' }).count(), 0);
    await go(viewer.page, 'Members');
    assert.equal(await viewer.page.getByRole('form', { name: 'Invite a member' }).count(), 0);

    // What the hidden button would have done, sent anyway with the viewer's own session.
    const refused = await viewer.page.evaluate(async () => {
      const refresh = await fetch('/v1/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"session":"cookie"}' });
      const { access_token } = (await refresh.json()) as { access_token: string };
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${access_token}`, 'x-project-id': localStorage.getItem('eventflow.project') ?? '' },
        body: JSON.stringify({ query: 'mutation { deleteNotificationRule(id: "00000000-0000-4000-8000-000000000000") }' }),
      });
      return (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    });
    assert.equal(refused.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    await viewer.screenshot('viewer-members');
    assertNoConsoleErrors(viewer);
  } finally {
    await viewer.context.close();
  }
});

test('at 390 px wide nothing overflows sideways, and the navigation works from the keyboard', async () => {
  const phone = await openPage(browser, PHONE);
  try {
    const { page } = phone;
    await page.goto(`${services.apiUrl}/dashboard/`);
    await page.getByLabel('Email').fill(ownerEmail);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.getByTestId('stat-total-events').filter({ hasText: /^\d+$/ }).waitFor();
    for (const path of ['/dashboard/', '/dashboard/events', '/dashboard/webhooks', '/dashboard/dead-letters', '/dashboard/rules']) {
      await page.goto(`${services.apiUrl}${path}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      const { overflow, culprits } = await page.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        // The outermost elements that stick out, to say what to fix.
        culprits: [...document.querySelectorAll('body *')]
          .filter((element) => {
            if (element.getBoundingClientRect().right <= window.innerWidth + 1) return false;
            // Content of a horizontal scroller (tables, the phone navigation) may extend; the scroller may not.
            for (let parent = element.parentElement; parent; parent = parent.parentElement) {
              if (getComputedStyle(parent).overflowX !== 'visible') return false;
            }
            return (element.parentElement?.getBoundingClientRect().right ?? 0) <= window.innerWidth + 1;
          })
          .slice(0, 3)
          .map((element) => `${element.tagName.toLowerCase()}.${element.className}`),
      }));
      assert.ok(overflow <= 0, `${path} overflows by ${overflow} px at ${PHONE.width} px: ${culprits.join(' | ')}`);
    }
    await page.goto(`${services.apiUrl}/dashboard/`);
    await page.getByTestId('stat-total-events').waitFor();
    await phone.screenshot('overview-390px');

    // Tab from the top of the page to the Events link, then Enter follows it.
    let reached = false;
    for (let presses = 0; presses < 15 && !reached; presses += 1) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === 'Events');
    }
    assert.ok(reached, 'the Events link is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/dashboard\/events$/);
    assertNoConsoleErrors(phone);
  } finally {
    await phone.context.close();
  }
});

test('the dashboard is served with cache headers and a content security policy', async () => {
  const index = await fetch(`${services.apiUrl}/dashboard/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.match(index.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await index.text();
  const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script, 'index.html loads a hashed script');
  const asset = await fetch(`${services.apiUrl}${script}`);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('cache-control') ?? '', /max-age=31536000, immutable/);
  // A page of the app (client-side route) is the app; a missing asset is a 404, not the app.
  assert.equal((await fetch(`${services.apiUrl}/dashboard/events/some-id`)).status, 200);
  const missing = await fetch(`${services.apiUrl}/dashboard/assets/nope-123.js`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
  const traversal = await fetch(`${services.apiUrl}/dashboard/..%2f..%2fpackage.json`);
  assert.ok(traversal.status >= 400 && traversal.status < 500, `a path outside the build is refused (${traversal.status})`);
});

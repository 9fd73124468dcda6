import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitUntil } from '../../src/dev/process.ts';
import { startServices } from '../helpers/services.ts';

// One ingested event, traced end to end across two real processes: the API (ingest request →
// StartWorkflow) and the worker (workflow → activities → Postgres, webhook HTTP, SMTP), found as one
// trace in Jaeger. Needs the harness's Jaeger (JAEGER_QUERY_URL, OTEL_EXPORTER_OTLP_ENDPOINT).

const JAEGER = process.env.JAEGER_QUERY_URL;

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; spanID: string }>;
  processID: string;
  tags: Array<{ key: string; value: unknown }>;
}

interface Trace {
  spans: Map<string, JaegerSpan>;
  service(span: JaegerSpan): string;
  tag(span: JaegerSpan, key: string): unknown;
  parent(span: JaegerSpan): JaegerSpan | undefined;
  isAncestor(ancestor: JaegerSpan, span: JaegerSpan): boolean;
  find(predicate: (span: JaegerSpan) => boolean): JaegerSpan[];
}

async function fetchTrace(traceId: string): Promise<Trace | undefined> {
  const response = await fetch(`${JAEGER}/api/traces/${traceId}`);
  if (!response.ok) return undefined;
  const [data] = ((await response.json()) as { data: Array<{ spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }> }).data;
  if (!data) return undefined;
  const spans = new Map(data.spans.map((span) => [span.spanID, span]));
  const parent = (span: JaegerSpan) => spans.get(span.references.find((ref) => ref.refType === 'CHILD_OF')?.spanID ?? '');
  return {
    spans,
    service: (span) => data.processes[span.processID]!.serviceName,
    tag: (span, key) => span.tags.find((tag) => tag.key === key)?.value,
    parent,
    isAncestor(ancestor, span) {
      for (let current = parent(span); current; current = parent(current)) if (current.spanID === ancestor.spanID) return true;
      return false;
    },
    find: (predicate) => [...spans.values()].filter(predicate),
  };
}

interface Receiver {
  url: string;
  requests: Array<{ path: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** Answers 200 on /ok and 500 on /fail, and records every request's headers. */
async function startReceiver(): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  const server = createServer((request, response) => {
    request.resume().on('end', () => {
      requests.push({ path: request.url ?? '', headers: request.headers });
      response.writeHead(request.url === '/fail' ? 500 : 200).end(request.url === '/fail' ? 'boom' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('one ingested event is one trace across the API and the worker in Jaeger', { skip: !JAEGER && 'no jaeger binary', timeout: 180_000 }, async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const { apiUrl, adminKey, workerMetricsUrl, died } = await startServices(t, { WEBHOOK_RETRY_SCHEDULE: '1,1' });

  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    assert.ok(response.status < 300, `${method} ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text);
  };
  const project = await call('POST', '/v1/projects', adminKey, { name: 'tracing' });
  const key: string = project.admin_key.key;
  const okEndpoint = await call('POST', '/v1/webhooks', key, { url: `${receiver.url}/ok`, event_types: ['*'] });
  const failingEndpoint = await call('POST', '/v1/webhooks', key, { url: `${receiver.url}/fail`, event_types: ['*'] });
  await call('POST', '/v1/notification-rules', key, {
    event_types: ['*'],
    recipients: ['ops@example.com'],
    subject_template: 'New {{ event.type }}',
    body_template: '<p>{{ event.id }}</p>',
  });

  const accepted = await call('POST', '/v1/events', key, { type: 'signup.completed', properties: { plan: 'pro' } });
  const eventId: string = accepted.ids[0];

  // The receiver's traceparent names the trace and the HTTP client span that called it.
  const delivered = await waitUntil(async () => receiver.requests.find((request) => request.path === '/ok'), {
    what: 'webhook delivery',
    timeoutMs: 60_000,
    gaveUp: died,
  });
  const traceparent = String(delivered.headers.traceparent ?? '');
  assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/, 'the webhook request carries a W3C traceparent');
  const [, traceId, clientSpanId] = traceparent.split('-') as [string, string, string];

  // Spans arrive from two processes and several export batches: poll until the last pieces are in
  // (the failing endpoint's retries run in a delivery workflow of their own, ~1 s apart).
  const trace = await waitUntil(
    async () => {
      const found = await fetchTrace(traceId);
      if (!found) return undefined;
      const names = new Set([...found.spans.values()].map((span) => span.operationName));
      const failedAttempts = found.find(
        (span) => span.operationName === 'eventflow.webhook.deliver' && found.tag(span, 'eventflow.endpoint_id') === failingEndpoint.id,
      );
      const complete =
        found.spans.has(clientSpanId) &&
        names.has('eventflow.email.send') &&
        names.has('RunActivity:persistRun') &&
        names.has('StartWorkflow:deliveryWorkflow') &&
        failedAttempts.length >= 2;
      return complete ? found : undefined;
    },
    { what: `trace ${traceId} in Jaeger`, timeoutMs: 60_000, intervalMs: 500 },
  );
  const one = (name: string, predicate: (span: JaegerSpan) => boolean = () => true): JaegerSpan => {
    const [span] = trace.find((candidate) => candidate.operationName === name && predicate(candidate));
    assert.ok(span, `span ${name} is in the trace`);
    return span;
  };

  // The ingest request's server span is the root, and it is the API's. (A workflow's own span is
  // exported when the run ends; the delivery workflow is still parked, so its children reference a
  // parent Jaeger has not received yet. They still belong to this trace, and have a parent.)
  const [root, ...otherRoots] = trace.find((span) => span.references.length === 0);
  assert.equal(otherRoots.length, 0, 'the trace has a single root');
  assert.equal(trace.service(root!), 'eventflow-api');
  assert.equal(trace.tag(root!, 'span.kind'), 'server');
  assert.ok(root!.tags.some((tag) => String(tag.value).includes('/v1/events')), 'the root is the POST /v1/events request');

  // API → worker: StartWorkflow (API) is the parent of RunWorkflow (worker).
  const startBatch = one('StartWorkflow:processBatch');
  assert.equal(trace.service(startBatch), 'eventflow-api');
  assert.ok(trace.isAncestor(root!, startBatch));
  const runBatch = one('RunWorkflow:processBatch');
  assert.equal(trace.service(runBatch), 'eventflow-worker');
  assert.equal(trace.parent(runBatch)?.spanID, startBatch.spanID, 'the workflow span is a child of the API span that started it');

  // persistRun, with the batch on its span and its Postgres statements beneath it.
  const persist = one('RunActivity:persistRun');
  assert.equal(trace.service(persist), 'eventflow-worker');
  assert.ok(trace.isAncestor(runBatch, persist));
  assert.equal(trace.tag(persist, 'eventflow.batch_id'), accepted.batch_id);
  assert.equal(trace.tag(persist, 'eventflow.event_count'), 1);
  assert.ok(
    trace.find((span) => trace.parent(span)?.spanID === persist.spanID && span.operationName.startsWith('pg.')).length > 0,
    'persistRun has Postgres child spans',
  );

  // The successful webhook: our attempt span, and under it the HTTP client span the receiver saw.
  const clientSpan = trace.spans.get(clientSpanId)!;
  assert.equal(trace.service(clientSpan), 'eventflow-worker');
  assert.equal(trace.tag(clientSpan, 'span.kind'), 'client');
  const okAttempt = trace.parent(clientSpan)!;
  assert.equal(okAttempt.operationName, 'eventflow.webhook.deliver');
  assert.equal(trace.tag(okAttempt, 'eventflow.endpoint_id'), okEndpoint.id);
  assert.equal(trace.tag(okAttempt, 'eventflow.event_id'), eventId);
  assert.equal(trace.tag(okAttempt, 'http.response.status_code'), 200);
  assert.equal(trace.tag(okAttempt, 'eventflow.delivery.outcome'), 'delivered');
  assert.ok(trace.isAncestor(root!, okAttempt));

  // The failing endpoint: every attempt is an ERROR span with the status code, and the retries (in a
  // delivery workflow started from an activity) stay in the batch's trace.
  const failed = trace.find(
    (span) => span.operationName === 'eventflow.webhook.deliver' && trace.tag(span, 'eventflow.endpoint_id') === failingEndpoint.id,
  );
  for (const attempt of failed) {
    assert.equal(trace.tag(attempt, 'otel.status_code'), 'ERROR');
    assert.equal(trace.tag(attempt, 'http.response.status_code'), 500);
    assert.equal(trace.tag(attempt, 'error.message'), 'HTTP 500');
  }
  const dispatch = one('RunActivity:dispatchDeliveries');
  const startDelivery = one('StartWorkflow:deliveryWorkflow');
  assert.ok(trace.isAncestor(dispatch, startDelivery), 'the delivery workflow is started under the dispatch that handed it off');
  const retries = failed.filter((attempt) => Number(trace.tag(attempt, 'eventflow.attempt')) >= 2);
  assert.ok(retries.length >= 1, 'retry attempts are in the batch trace');
  for (const retry of retries) assert.equal(trace.parent(retry)?.operationName, 'RunActivity:attemptDelivery');

  // Email: a span around the SMTP submission.
  const email = one('eventflow.email.send');
  assert.equal(trace.service(email), 'eventflow-worker');
  assert.equal(trace.tag(email, 'eventflow.event_id'), eventId);
  assert.ok(trace.isAncestor(runBatch, email));

  // Every recorded attempt row points at this trace, so the delivery log links to Jaeger.
  const attempts = await call('GET', `/v1/events/${eventId}/deliveries`, key);
  assert.ok(attempts.data.length >= 3, 'webhook, failing webhook and email attempts are recorded');
  for (const attempt of attempts.data) assert.equal(attempt.trace_id, traceId, `attempt ${attempt.id} has the trace id`);

  // Both processes serve Prometheus text with our counters (the worker's also carries Temporal's).
  const workerMetrics = await (await fetch(workerMetricsUrl)).text();
  assert.match(workerMetrics, /^eventflow_events_accepted_total \d+/m);
  assert.match(workerMetrics, /^eventflow_activity_outcomes_total\{activity="persistRun",outcome="completed"\} [1-9]/m);
  assert.match(workerMetrics, /^eventflow_deliveries_total\{channel="webhook",outcome="retryable",endpoint_id="[^"]+"\} [1-9]/m);
  assert.match(workerMetrics, /^temporal_/m);
  const apiMetrics = await (await fetch(`${apiUrl}/metrics`)).text();
  assert.match(apiMetrics, /^eventflow_events_accepted_total [1-9]/m, 'the API counted the accepted event');

  // A GraphQL operation is a span of its own under the HTTP request, named for the operation, with the
  // document and its variables — a password among them redacted.
  const graphqlTraceId = randomBytes(16).toString('hex');
  const secret = `hunter2-${randomUUID()}`;
  await fetch(`${apiUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${graphqlTraceId}-${randomBytes(8).toString('hex')}-01` },
    body: JSON.stringify({
      query: 'mutation SignIn($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
      variables: { email: 'nobody@example.com', password: secret },
    }),
  });
  const operation = await waitUntil(
    async () => (await fetchTrace(graphqlTraceId))?.find((span) => span.operationName === 'graphql mutation SignIn')[0],
    { what: `the GraphQL span of trace ${graphqlTraceId}`, timeoutMs: 30_000, intervalMs: 500 },
  );
  const graphqlTrace = (await fetchTrace(graphqlTraceId))!;
  assert.equal(graphqlTrace.tag(operation, 'graphql.operation.type'), 'mutation');
  assert.equal(graphqlTrace.tag(operation, 'graphql.operation.name'), 'SignIn');
  assert.match(String(graphqlTrace.tag(operation, 'graphql.document')), /login\(email: \$email, password: \$password\)/);
  const variables = String(graphqlTrace.tag(operation, 'graphql.variables'));
  assert.match(variables, /nobody@example\.com/);
  assert.ok(!variables.includes(secret), 'the password is not on the span');
  assert.match(variables, /\[redacted\]/);
  assert.equal(graphqlTrace.service(operation), 'eventflow-api');
});

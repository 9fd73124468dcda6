import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Knex } from 'knex';
import type { Middleware } from 'koa';

// EventFlow's Prometheus metrics. One registry per process: the API and the worker each serve their
// own at /metrics, and Prometheus tells them apart by scrape target. Label values are bounded sets
// (reasons, outcomes, workflow and activity types, endpoint ids), never event or batch ids.

export const metricsRegistry = new Registry();

const eventsAccepted = new Counter({
  name: 'eventflow_events_accepted_total',
  help: 'Events accepted for processing (answered 202).',
  registers: [metricsRegistry],
});

const eventsRejected = new Counter({
  name: 'eventflow_events_rejected_total',
  help: 'Events refused, by reason (at the API or by validation in the batch workflow).',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

const batchSize = new Histogram({
  name: 'eventflow_batch_size',
  help: 'Events per accepted ingest request.',
  buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
  registers: [metricsRegistry],
});

const ingestDuration = new Histogram({
  name: 'eventflow_ingest_duration_seconds',
  help: 'Time from receiving an ingest request to answering it, by HTTP status.',
  labelNames: ['status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

const processingBacklog = new Gauge({
  name: 'eventflow_processing_backlog_seconds',
  help: 'How long a batch accepted now would wait for a worker (queued workflow tasks over their dispatch rate, and at least the age of the oldest), as last read by the API: the load shedding input.',
  registers: [metricsRegistry],
});

const workflowOutcomes = new Counter({
  name: 'eventflow_workflow_outcomes_total',
  help: 'Workflow runs that ended, by workflow type and outcome.',
  labelNames: ['workflow', 'outcome'] as const,
  registers: [metricsRegistry],
});

const activityOutcomes = new Counter({
  name: 'eventflow_activity_outcomes_total',
  help: 'Activity attempts that ended, by activity type and outcome.',
  labelNames: ['activity', 'outcome'] as const,
  registers: [metricsRegistry],
});

const deliveries = new Counter({
  name: 'eventflow_deliveries_total',
  help: 'Delivery attempts (webhook or email), by channel, outcome and endpoint or rule id.',
  labelNames: ['channel', 'outcome', 'endpoint_id'] as const,
  registers: [metricsRegistry],
});

// Counting dead letters is a query; a scrape every few seconds from several Prometheus replicas must
// not turn into as many queries, so the count is cached briefly.
const DEAD_LETTER_CACHE_MS = 10_000;
let deadLetterCounter: (() => Promise<number>) | undefined;

new Gauge({
  name: 'eventflow_dead_letters_open',
  help: 'Deliveries parked as dead letters, waiting for a replay or discard.',
  registers: [metricsRegistry],
  async collect() {
    if (deadLetterCounter) this.set(await deadLetterCounter());
  },
});

/** Makes /metrics report open dead letters from this database (one process per deployment is enough). */
export function trackDeadLetters(db: Knex, cacheMs = DEAD_LETTER_CACHE_MS): void {
  let cached: { value: number; at: number } | undefined;
  let inFlight: Promise<number> | undefined;
  deadLetterCounter = async () => {
    if (cached && Date.now() - cached.at < cacheMs) return cached.value;
    inFlight ??= db('deliveries')
      .where('status', 'dead_lettered')
      .count({ open: '*' })
      .first()
      .then((row) => {
        cached = { value: Number(row?.open ?? 0), at: Date.now() };
        return cached.value;
      })
      .finally(() => {
        inFlight = undefined;
      });
    try {
      return await inFlight;
    } catch {
      // A scrape must not fail because the database hiccuped: report the last known value.
      return cached?.value ?? 0;
    }
  };
}

export function recordEventsAccepted(count: number): void {
  eventsAccepted.inc(count);
}

/** `reason` is a short code: `schema`, `payload_too_large`, `rate_limited`, `unauthorized`, … */
export function recordEventsRejected(reason: string, count = 1): void {
  if (count > 0) eventsRejected.inc({ reason }, count);
}

export function observeBatchSize(events: number): void {
  batchSize.observe(events);
}

export function recordProcessingBacklog(seconds: number): void {
  processingBacklog.set(seconds);
}

/** Starts timing one ingest request; call the result with the response status when it is answered. */
export function startIngestTimer(): (status: number) => void {
  const end = ingestDuration.startTimer();
  return (status) => end({ status: String(status) });
}

export function recordWorkflowOutcome(workflow: string, outcome: string): void {
  workflowOutcomes.inc({ workflow, outcome });
}

export function recordActivityOutcome(activity: string, outcome: string): void {
  activityOutcomes.inc({ activity, outcome });
}

export function recordDelivery(channel: string, outcome: string, endpointId: string): void {
  deliveries.inc({ channel, outcome, endpoint_id: endpointId });
}

let defaultMetricsOn = false;

/** Node's process metrics (CPU, memory, event-loop lag, GC) next to ours; once per process. */
export function enableDefaultMetrics(registry: Registry = metricsRegistry): void {
  if (defaultMetricsOn) return;
  defaultMetricsOn = true;
  collectDefaultMetrics({ register: registry });
}

/** Serves `GET /metrics` from `registry`; mount it before authentication (scrapers carry no API key). */
export function metricsRoute(registry: Registry = metricsRegistry): Middleware {
  enableDefaultMetrics(registry);
  return async (ctx, next) => {
    if (ctx.path !== '/metrics' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.set('Content-Type', registry.contentType);
    ctx.body = await registry.metrics();
  };
}

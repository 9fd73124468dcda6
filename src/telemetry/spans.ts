import { ROOT_CONTEXT, SpanStatusCode, context, isSpanContextValid, propagation, trace, type Attributes, type Link, type Span } from '@opentelemetry/api';

// EventFlow's own spans and attributes. Names are dotted and stable (`eventflow.webhook.deliver`);
// attribute keys are `eventflow.*` for our domain and OpenTelemetry's semantic keys otherwise.
// Without a tracing SDK every call here is a cheap no-op (the API's no-op tracer).

const tracer = trace.getTracer('eventflow');

/** Batches can hold thousands of events; a span carries at most this many ids (the count is exact). */
export const MAX_EVENT_IDS_ON_SPAN = 100;

/** The trace the caller runs in, for storing next to what it produced (attempt rows); null when untraced. */
export function activeTraceId(): string | null {
  const context = trace.getActiveSpan()?.spanContext();
  return context && isSpanContextValid(context) ? context.traceId : null;
}

/** Adds attributes to the active span (the ingest request's, an activity's), if there is one. */
export function annotateActiveSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** The batch and its events on the active span, so a trace can be found by batch or event id. */
export function annotateBatch(batchId: string, eventIds: readonly string[]): void {
  annotateActiveSpan({
    'eventflow.batch_id': batchId,
    'eventflow.event_count': eventIds.length,
    'eventflow.event_ids': eventIds.slice(0, MAX_EVENT_IDS_ON_SPAN),
  });
}

/** Runs `work` in `span` and ends it; a thrown error is recorded on the span and marks it failed. */
async function runEnding<T>(span: Span, work: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await work(span);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Runs `work` in a new active span. A thrown error marks the span failed; for outcomes that are
 * returned rather than thrown (a webhook answering 500), `work` sets the status itself.
 */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, (span) => runEnding(span, work));
}

/** Records a returned failure on `span`: ERROR status plus `error.message`, as a thrown one would. */
export function markFailed(span: Span, message: string): void {
  span.setAttribute('error.message', message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** The active span as a W3C `traceparent`, to be stored with work that continues elsewhere; null when untraced. */
export function activeTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/**
 * Runs `work` in a span that continues stored traces: the child of the first `traceparent` and linked to
 * the others (at most MAX_EVENT_IDS_ON_SPAN), so work that gathers several requests (a run) is found
 * from each request's trace.
 */
export async function inSpanContinuing<T>(name: string, traceparents: ReadonlyArray<string | null>, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  const contexts = traceparents
    .filter((value): value is string => value !== null)
    .map((traceparent) => trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent })))
    .filter((spanContext) => spanContext !== undefined && isSpanContextValid(spanContext));
  const parent = contexts[0] ? trace.setSpanContext(ROOT_CONTEXT, contexts[0]) : ROOT_CONTEXT;
  const links: Link[] = contexts.slice(1, MAX_EVENT_IDS_ON_SPAN + 1).map((spanContext) => ({ context: spanContext! }));
  return tracer.startActiveSpan(name, { attributes, links }, parent, (span) => runEnding(span, work));
}

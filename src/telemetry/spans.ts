import { SpanStatusCode, isSpanContextValid, trace, type Attributes, type Span } from '@opentelemetry/api';

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

/**
 * Runs `work` in a new active span. A thrown error marks the span failed; for outcomes that are
 * returned rather than thrown (a webhook answering 500), `work` sets the status itself.
 */
export async function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Records a returned failure on `span`: ERROR status plus `error.message`, as a thrown one would. */
export function markFailed(span: Span, message: string): void {
  span.setAttribute('error.message', message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

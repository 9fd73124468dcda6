// Reads traces back from Jaeger's HTTP query API (GET /api/traces/:id), for the dashboard's trace
// waterfall: the API reads them so the browser never talks to Jaeger, and flattens Jaeger's format into
// the few fields a waterfall draws.

export interface WaterfallSpan {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  service: string;
  name: string;
  /** Microseconds since the earliest span of the answer. */
  start_us: number;
  duration_us: number;
  error: boolean;
  /** A few tags worth showing beside the bar (status codes, ids, the error message). */
  attributes: Record<string, string | number | boolean>;
}

export interface Waterfall {
  trace_ids: string[];
  /** Traces Jaeger did not have (not exported yet, or evicted from its store). */
  missing: string[];
  spans: WaterfallSpan[];
}

interface JaegerTrace {
  traceID: string;
  spans: Array<{
    traceID: string;
    spanID: string;
    operationName: string;
    references: Array<{ refType: string; traceID: string; spanID: string }>;
    startTime: number;
    duration: number;
    tags: Array<{ key: string; value: string | number | boolean }>;
    processID: string;
  }>;
  processes: Record<string, { serviceName: string }>;
}

export class TraceStoreUnavailable extends Error {}

const SHOWN_TAGS = /^(http\.(request\.method|response\.status_code|route|url|method|status_code|target)|url\.(full|path)|db\.(statement|query\.text|operation\.name)|error\.message|exception\.message|eventflow\.[a-z_.]+|graphql\.operation\.(name|type)|span\.kind|otel\.status_code)$/;
const MAX_TAG_CHARS = 300;
const QUERY_TIMEOUT_MS = 5_000;
export const MAX_WATERFALL_SPANS = 2_000;
const TRACE_ID = /^[0-9a-f]{32}$/;

export async function readWaterfall(queryUrl: string, traceIds: string[]): Promise<Waterfall> {
  const wanted = traceIds.filter((id) => TRACE_ID.test(id));
  const traces = await Promise.all(wanted.map((id) => readTrace(queryUrl, id)));
  const found = traces.filter((found): found is JaegerTrace => found !== undefined);
  const raw = found.flatMap((trace) => trace.spans.map((span) => ({ span, service: trace.processes[span.processID]?.serviceName ?? 'unknown' })));
  const origin = Math.min(...raw.map(({ span }) => span.startTime));
  const spans = raw
    .sort((a, b) => a.span.startTime - b.span.startTime)
    .slice(0, MAX_WATERFALL_SPANS)
    .map(({ span, service }): WaterfallSpan => {
      const parent = span.references.find((reference) => reference.refType === 'CHILD_OF');
      const attributes = Object.fromEntries(
        span.tags.filter((tag) => SHOWN_TAGS.test(tag.key)).map((tag) => [tag.key, typeof tag.value === 'string' ? tag.value.slice(0, MAX_TAG_CHARS) : tag.value]),
      );
      return {
        trace_id: span.traceID,
        span_id: span.spanID,
        parent_span_id: parent?.spanID ?? null,
        service,
        name: span.operationName,
        start_us: span.startTime - origin,
        duration_us: span.duration,
        error: span.tags.some((tag) => (tag.key === 'error' && tag.value === true) || (tag.key === 'otel.status_code' && tag.value === 'ERROR')),
        attributes,
      };
    });
  const foundIds = new Set(found.map((trace) => trace.traceID));
  return { trace_ids: [...foundIds], missing: wanted.filter((id) => !foundIds.has(id)), spans };
}

async function readTrace(queryUrl: string, traceId: string): Promise<JaegerTrace | undefined> {
  let response: Response;
  try {
    response = await fetch(`${queryUrl}/api/traces/${traceId}`, { signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });
  } catch (error) {
    throw new TraceStoreUnavailable(`the trace store at ${queryUrl} did not answer`, { cause: error });
  }
  if (response.status === 404) return undefined;
  if (!response.ok) throw new TraceStoreUnavailable(`the trace store answered ${response.status}`);
  const body = (await response.json()) as { data?: JaegerTrace[] };
  return body.data?.[0];
}

import { register } from 'node:module';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Resource } from '@opentelemetry/resources';
import { loadTelemetryConfig, type TelemetryConfig } from '../config.ts';

// The tracing SDK's state, without side effects on import: `instrumentation.ts` (preloaded with
// `node --import`) starts it, and the Temporal wiring asks it whether tracing is on. Importing this
// module from anywhere else never starts an SDK by accident.

interface RunningTelemetry {
  sdk: NodeSDK;
  spanProcessor: SpanProcessor;
  resource: Resource;
}

let running: RunningTelemetry | undefined;

/** True once `startTelemetry` has started the SDK in this process. */
export function telemetryEnabled(): boolean {
  return running !== undefined;
}

/**
 * The processor every span of this process goes through. The worker hands it to Temporal's workflow
 * span sink: workflow spans are made inside the sandbox and must join the same export pipeline.
 */
export function telemetrySpanProcessor(): SpanProcessor | undefined {
  return running?.spanProcessor;
}

export function telemetryResource(): Resource | undefined {
  return running?.resource;
}

/** Paths that are polled, not served: tracing them would bury the real traces. */
const UNTRACED_PATHS = new Set(['/metrics', '/health', '/healthz', '/ready', '/readyz', '/livez']);

function isUntracedPath(url: string | undefined): boolean {
  return UNTRACED_PATHS.has((url ?? '').split('?')[0] ?? '');
}

/**
 * Starts tracing unless it is switched off: without an OTLP endpoint (or with OTEL_SDK_DISABLED=true)
 * the SDK is not even loaded, and nothing is patched or exported. Idempotent.
 */
export async function startTelemetry(config: TelemetryConfig = loadTelemetryConfig()): Promise<boolean> {
  if (running) return true;
  if (!config.otlpEndpoint || config.sdkDisabled) return false;

  const [
    { NodeSDK },
    { BatchSpanProcessor },
    { defaultResource, detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes },
    { OTLPTraceExporter },
    { HttpInstrumentation },
    { KoaInstrumentation },
    { PgInstrumentation },
    { UndiciInstrumentation },
    { createAddHookMessageChannel },
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-koa'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-undici'),
    import('import-in-the-middle'),
  ]);

  // Koa (and pg's ESM entry) reach the app through `import`, which require-in-the-middle cannot see.
  // The import-in-the-middle hook wraps only the modules an instrumentation asks for, so the rest of
  // the ESM graph (our .ts files included) loads untouched.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  // OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES (env detector) win over the fallback name.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': config.serviceName ?? 'eventflow' }))
    .merge(detectResources({ detectors: [envDetector, processDetector, hostDetector] }));
  // The exporter reads the standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout) and
  // the batch processor the OTEL_BSP_* ones.
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    spanProcessors: [spanProcessor],
    // Traces only: without these the SDK would also push metrics and logs over OTLP, which the trace
    // backend does not accept. Metrics are scraped from /metrics (prom-client) instead.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // Outgoing calls and queries are traced only inside a traced operation: a root span per metrics
      // scrape, pool check or background query would be noise.
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => isUntracedPath(request.url),
        requireParentforOutgoingSpans: true,
      }),
      new KoaInstrumentation(),
      new PgInstrumentation({ requireParentSpan: true }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  sdk.start();
  await waitForAllMessagesAcknowledged();
  running = { sdk, spanProcessor, resource };
  return true;
}

/** Exports what is still buffered without stopping the SDK (spans may still be ended afterwards). */
export async function flushTelemetry(): Promise<void> {
  await running?.spanProcessor.forceFlush();
}

/** Flushes and stops exporting. Later spans are dropped, so call this only when the process is done. */
export async function shutdownTelemetry(): Promise<void> {
  const current = running;
  running = undefined;
  await current?.sdk.shutdown();
}

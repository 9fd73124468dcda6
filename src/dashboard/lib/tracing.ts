import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { authHeaders } from './api.ts';

// Browser tracing: the page load and every fetch become spans, exported through EventFlow's own API
// (POST /v1/traces, which forwards to the collector), so the browser never talks to Jaeger. The fetch
// instrumentation adds `traceparent` to same-origin calls, so a click's request and the API work it
// causes share one trace.

const EXPORT_PATH = '/v1/traces';

export async function startTracing(): Promise<void> {
  // The API says whether it has somewhere to send spans; without a collector the browser keeps quiet.
  const config = (await fetch('/v1/dashboard/config').then((response) => response.json()).catch(() => ({}))) as { tracing?: boolean };
  if (!config.tracing) return;
  const provider = new WebTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'eventflow-dashboard' }),
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({
          url: new URL(EXPORT_PATH, location.origin).href,
          // Only signed-in browsers may send spans; before sign-in there is no token and the batch is dropped.
          headers: async (): Promise<Record<string, string>> => {
            const { authorization } = await authHeaders();
            return authorization ? { authorization } : {};
          },
        }),
        { scheduledDelayMillis: 2_000 },
      ),
    ],
  });
  provider.register();
  registerInstrumentations({
    instrumentations: [
      new DocumentLoadInstrumentation(),
      new FetchInstrumentation({
        // Exporting spans must not make spans; long-lived streams would be spans lasting the whole visit.
        ignoreUrls: [new RegExp(`${EXPORT_PATH}$`), /\/v1\/notifications\/stream/],
        clearTimingResources: true,
      }),
    ],
  });
}

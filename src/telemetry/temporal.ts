import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ClientInterceptors } from '@temporalio/client';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { Sinks } from '@temporalio/workflow';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry-v2';
import { telemetryEnabled, telemetryResource, telemetrySpanProcessor } from './sdk.ts';
import { activityMetricsInterceptor, workflowOutcomeSinks } from './activity-metrics.ts';

// Temporal's OpenTelemetry interceptors, on the client and the worker alike, so one trace runs from
// the ingest request through StartWorkflow, the workflow and its activities. The package is the OTel
// 2.x build (`-v2`) to match our SDK; the OTel 1.x one loses workflow spans' parents.
// Everything here is a no-op when tracing is off (no OTLP endpoint, or not preloaded).

const require = createRequire(import.meta.url);

/** Interceptors for a Temporal Client (the API's, and the one activities use to start workflows). */
export function temporalClientInterceptors(): ClientInterceptors {
  return telemetryEnabled() ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : {};
}

/**
 * Modules bundled into the workflow code. The metrics one is always there; the tracing one only when
 * tracing is on, because its spans leave the sandbox through a sink that only then exists. Neither
 * changes commands or history (the tracing ids come from a separate random stream), so workers with
 * and without tracing replay each other's histories.
 */
export function workflowInterceptorModules(): string[] {
  const modules = [fileURLToPath(new URL('./workflow-outcomes.ts', import.meta.url))];
  if (telemetryEnabled()) {
    modules.push(require.resolve('@temporalio/interceptors-opentelemetry-v2/lib/workflow-interceptors'));
  }
  return modules;
}

/** Activity interceptors (tracing when on, outcome metrics always). */
export function workerInterceptors(): Pick<WorkerInterceptors, 'activity'> {
  const activity: NonNullable<WorkerInterceptors['activity']> = [activityMetricsInterceptor];
  if (telemetryEnabled()) {
    activity.unshift((ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }));
  }
  return { activity };
}

/**
 * Sinks the workflow interceptor modules call. Workflow spans go to the SDK's span *processor* (not an
 * exporter), so they are batched and exported with the activity spans of the same process.
 */
export function workerSinks(): InjectedSinks<Sinks> {
  const spanProcessor = telemetrySpanProcessor();
  const resource = telemetryResource();
  if (!spanProcessor || !resource) return { ...workflowOutcomeSinks };
  return { ...workflowOutcomeSinks, exporter: makeWorkflowExporter(spanProcessor, resource) };
}

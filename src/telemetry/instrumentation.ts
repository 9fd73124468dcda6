// Preloaded before the application: `node --import ./src/telemetry/instrumentation.ts src/api/main.ts`.
// It must run first because the http, koa and pg instrumentations patch those modules as they load.
// The application calls nothing here; with no OTLP endpoint configured this starts nothing.
import { withDeadline } from '../deadline.ts';
import { flushTelemetry, shutdownTelemetry, startTelemetry } from './sdk.ts';

export { telemetryEnabled, telemetryResource, telemetrySpanProcessor } from './sdk.ts';

const FLUSH_TIMEOUT_MS = 5_000;

/** A flush that cannot finish in time is given up: exiting matters more than the last spans. */
function withTimeout(work: Promise<void>): Promise<void> {
  return withDeadline(work, FLUSH_TIMEOUT_MS, () => new Error('telemetry flush timed out')).catch(() => undefined);
}

function onSignal(signal: NodeJS.Signals): void {
  // The application owns shutdown (the API closes its server, the Temporal worker drains): when it
  // listens for this signal too, only flush what is buffered, and export the rest at `beforeExit`.
  // When nobody else listens, our listener would otherwise swallow the signal: flush, then re-raise
  // it so the process ends the way it would have without us.
  const appHandlesIt = process.listenerCount(signal) > 1;
  if (appHandlesIt) {
    void withTimeout(flushTelemetry());
    return;
  }
  void withTimeout(shutdownTelemetry()).finally(() => {
    process.off(signal, onSignal);
    process.kill(process.pid, signal);
  });
}

if (await startTelemetry()) {
  let shuttingDown = false;
  // The event loop is empty: the application has finished, so nothing more will be traced.
  process.on('beforeExit', () => {
    if (shuttingDown) return;
    shuttingDown = true;
    void withTimeout(shutdownTelemetry());
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

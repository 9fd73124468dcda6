import { createServer, type Server } from 'node:http';
import { metricsRegistry, enableDefaultMetrics } from './metrics.ts';

export interface WorkerMetricsServerOptions {
  port: number;
  host?: string;
  /** The Temporal SDK's own Prometheus exporter (`Runtime.install` telemetryOptions), appended to ours. */
  temporalMetricsUrl?: string;
}

const TEMPORAL_SCRAPE_TIMEOUT_MS = 2_000;

async function temporalMetrics(url: string): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TEMPORAL_SCRAPE_TIMEOUT_MS) });
    if (!response.ok) return `# temporal sdk metrics unavailable: HTTP ${response.status}\n`;
    return await response.text();
  } catch (error) {
    // Our own metrics are still worth serving when the SDK's exporter is unreachable.
    return `# temporal sdk metrics unavailable: ${(error as Error).message}\n`;
  }
}

/**
 * The worker has no HTTP API, so a tiny server exposes `GET /metrics`: EventFlow's registry followed
 * by the Temporal SDK's metrics (task slots, poll latencies, sticky cache), so one scrape target covers
 * the whole worker process.
 */
export async function startWorkerMetricsServer(options: WorkerMetricsServerOptions): Promise<Server> {
  enableDefaultMetrics();
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    void Promise.all([
      metricsRegistry.metrics(),
      options.temporalMetricsUrl ? temporalMetrics(options.temporalMetricsUrl) : Promise.resolve(''),
    ]).then(
      ([ours, temporal]) => {
        response.writeHead(200, { 'content-type': metricsRegistry.contentType });
        response.end(temporal ? `${ours}\n${temporal}` : ours);
      },
      (error: Error) => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`# metrics collection failed: ${error.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

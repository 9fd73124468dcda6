import { Client, Connection } from '@temporalio/client';
import type { EventFlowConfig } from '../config.ts';
import { temporalClientInterceptors } from '../telemetry/temporal.ts';

/**
 * One client per process, made at boot and reused: connections are expensive to construct, and a
 * connection per request would exhaust the server long before the API's CPU.
 */
export async function connectTemporalClient(config: EventFlowConfig): Promise<Client> {
  const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5s' });
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    // Tracing: StartWorkflow joins the ingest request's trace and hands it to the workflow via headers.
    interceptors: temporalClientInterceptors(),
  });
}

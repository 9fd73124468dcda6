import { Client, Connection } from '@temporalio/client';
import type { EventFlowConfig } from '../config.ts';
import { temporalClientInterceptors } from '../telemetry/temporal.ts';

/** The longest a lost connection waits between reconnect attempts. */
const RECONNECT_BACKOFF_MAX_MS = 2_000;

/**
 * One client per process, made at boot and reused: connections are expensive to construct, and a
 * connection per request would exhaust the server long before the API's CPU.
 */
export async function connectTemporalClient(config: EventFlowConfig): Promise<Client> {
  const connection = await Connection.connect({
    address: config.temporal.address,
    connectTimeout: '5s',
    // gRPC's default reconnect back-off grows to 120 s: after a Temporal restart the API stayed cut off
    // (no runs started, ingestion shedding with 429s) for up to 32 s while the server was already up.
    channelArgs: { 'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MAX_MS },
  });
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    // Tracing: StartWorkflow joins the ingest request's trace and hands it to the workflow via headers.
    interceptors: temporalClientInterceptors(),
  });
}

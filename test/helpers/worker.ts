import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { loadConfig, type EventFlowConfig } from '../../src/config.ts';
import { createDatabase } from '../../src/db/connection.ts';
import { buildWorkflowBundle, createEventFlowWorker } from '../../src/worker/create-worker.ts';

// The SDK logs every worker state change at INFO; tests only need to see what went wrong.
let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

// Bundling takes seconds; every in-process worker of a test file shares one bundle.
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function sharedWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= buildWorkflowBundle();
  return bundle;
}

/** Config for a test: the harness's services, a task queue of its own so test files never share workers. */
export function testConfig(overrides: Record<string, string> = {}): EventFlowConfig {
  return loadConfig({
    ...process.env,
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    WEBHOOK_ALLOWED_PRIVATE_TARGETS: '127.0.0.1,localhost',
    LOG_LEVEL: 'warn',
    ...overrides,
  });
}

export interface TestWorker {
  config: EventFlowConfig;
  db: ReturnType<typeof createDatabase>;
  client: Client;
  worker: Worker;
  stop(): Promise<void>;
}

/** A real worker against the harness's Temporal dev server, running until `stop()`. */
export async function startTestWorker(config: EventFlowConfig = testConfig()): Promise<TestWorker> {
  quietRuntime();
  const db = createDatabase(config.databaseUrl, 5);
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const { worker, release } = await createEventFlowWorker({
    config,
    db,
    connection: nativeConnection,
    workflowBundle: await sharedWorkflowBundle(),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return {
    config,
    db,
    client,
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await release();
      await connection.close();
      await nativeConnection.close();
      await db.destroy();
    },
  };
}

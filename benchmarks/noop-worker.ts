// A worker for the no-op benchmark workflow on a task queue of its own, run as a child process of
// benchmarks/run.ts so its CPU is measured apart. Worker.run() stops on SIGTERM.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, Worker, bundleWorkflowCode, makeTelemetryFilterString } from '@temporalio/worker';

const [address, namespace, taskQueue] = process.argv.slice(2);
if (!address || !namespace || !taskQueue) throw new Error('usage: noop-worker.ts <address> <namespace> <task-queue>');

Runtime.install({ telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } } });
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection,
  namespace,
  taskQueue,
  workflowBundle: await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./noop-workflows.ts', import.meta.url)),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  }),
});
process.send?.({ type: 'ready' });
process.on('disconnect', () => worker.shutdown());
try {
  await worker.run();
} finally {
  await connection.close();
}

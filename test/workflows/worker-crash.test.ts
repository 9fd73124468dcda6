import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type { BatchInput } from '../../src/shared/batch.ts';
import { createDatabase } from '../../src/db/connection.ts';
import { startBatchWorkflow } from '../../src/temporal/start-batch.ts';
import { createTestProject, waitFor } from '../helpers/projects.ts';

const WORKER_MAIN = fileURLToPath(new URL('../../src/worker/main.ts', import.meta.url));
const BATCHES = 30;
const EVENTS_PER_BATCH = 200;

const taskQueue = `crash-${randomUUID()}`;
const db = createDatabase(process.env.DATABASE_URL as string, 2);
let connection: Connection;
let client: Client;

before(async () => {
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS as string });
  client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
});
after(async () => {
  await connection.close();
  await db.destroy();
});

function startWorker(): ChildProcess {
  return spawn(process.execPath, [WORKER_MAIN], {
    env: { ...process.env, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'warn', WORKER_METRICS_PORT: '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function storedCount(projectId: string): Promise<number> {
  const [{ n }] = await db('events').where('project_id', projectId).count({ n: '*' });
  return Number(n);
}

test('a worker killed with SIGKILL mid-batch loses nothing and stores nothing twice after restart', async () => {
  const projectId = await createTestProject(db, 'crash');
  const inputs: BatchInput[] = Array.from({ length: BATCHES }, (_, batch) => ({
    batchId: randomUUID(),
    projectId,
    receivedAt: new Date().toISOString(),
    client: {},
    events: Array.from({ length: EVENTS_PER_BATCH }, (_, index) => ({
      id: `crash-${batch}-${index}`,
      type: 'page_view',
      properties: { index, padding: 'x'.repeat(200) },
    })),
  }));
  // Accepted before any worker runs: Temporal holds them durably, as it does for the API's 202.
  const workflowIds = await Promise.all(inputs.map((input) => startBatchWorkflow(client, taskQueue, input)));

  const first = startWorker();
  const storedAtKill = await waitFor(async () => {
    const stored = await storedCount(projectId);
    return stored > 0 ? stored : undefined;
  }, 60_000);
  first.kill('SIGKILL');
  await once(first, 'exit');
  const total = BATCHES * EVENTS_PER_BATCH;
  assert.ok(storedAtKill < total, `the kill must land mid-run (stored ${storedAtKill} of ${total})`);

  const second = startWorker();
  try {
    for (const workflowId of workflowIds) await client.workflow.getHandle(workflowId).result();
  } finally {
    second.kill('SIGTERM');
    await once(second, 'exit');
  }

  assert.equal(await storedCount(projectId), total);
  const [{ n: batches }] = await db('batches').where('project_id', projectId).count({ n: '*' });
  assert.equal(Number(batches), BATCHES);
  const missing = await db.raw(
    `SELECT count(*)::int AS n FROM generate_series(0, ?) b, generate_series(0, ?) i
      WHERE NOT EXISTS (SELECT 1 FROM events WHERE project_id = ? AND id = 'crash-' || b || '-' || i)`,
    [BATCHES - 1, EVENTS_PER_BATCH - 1, projectId],
  );
  assert.equal(missing.rows[0].n, 0);
});

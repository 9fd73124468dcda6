import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import type { BatchInput } from '../../src/shared/batch.ts';
import { deliveryWorkflowId } from '../../src/shared/delivery.ts';
import { startBatchWorkflow } from '../../src/temporal/start-batch.ts';
import { workerSinks } from '../../src/telemetry/temporal.ts';
import { generateSecret } from '../../src/deliveries/channels/webhook/signing.ts';
import { createTestProject, waitFor } from '../helpers/projects.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { startStack } from '../helpers/stack.ts';
import { sharedWorkflowBundle, startTestWorker, testConfig } from '../helpers/worker.ts';
import { replaySignal } from '../../workflows/delivery.ts';

// Recorded histories of real runs, committed so that a workflow change which would break runs already
// in flight (non-determinism) fails CI. Re-record deliberately, after such a change has been made safe
// (patched), with: RECORD_HISTORIES=1 ./scripts/test.sh test/workflows/replay.test.ts — or name the
// fixtures to record, e.g. RECORD_HISTORIES=process-batch-run.
const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

async function recordFixtures(only: Set<string> | undefined): Promise<void> {
  const stack = await startTestWorker(testConfig({ WEBHOOK_RETRY_SCHEDULE: '1', DEAD_LETTER_RETENTION_SECONDS: '600' }));
  const receiver = await startReceiver((n) => (n <= 2 ? { status: 500, body: 'down' } : { status: 200 }));
  try {
    const projectId = await createTestProject(stack.db, 'replay');
    const endpointId = randomUUID();
    await stack.db('webhook_endpoints').insert({ id: endpointId, project_id: projectId, url: receiver.url, event_types: ['*'], secret: generateSecret() });
    await stack.db('event_schemas').insert({ project_id: projectId, event_type: 'purchase', version: 1, schema: JSON.stringify({ type: 'object', required: ['amount'] }) });
    const input: BatchInput = {
      batchId: randomUUID(),
      projectId,
      receivedAt: new Date().toISOString(),
      sentAt: new Date().toISOString(),
      client: { ip: '192.0.2.1', userAgent: 'curl/8.0' },
      events: [
        { id: randomUUID(), type: 'purchase', properties: { amount: 1 } },
        { id: randomUUID(), type: 'purchase', properties: {} },
      ],
    };
    const batchWorkflowId = await startBatchWorkflow(stack.client, stack.config.temporal.taskQueue, input);
    await stack.client.workflow.getHandle(batchWorkflowId).result();
    // Two failures (inline attempt and one retry) park it; the replay then delivers.
    const deliveryId = deliveryWorkflowId({ channel: 'webhook', targetId: endpointId, eventId: input.events[0].id });
    await waitFor(async () => (await stack.db('deliveries').where({ workflow_id: deliveryId, status: 'dead_lettered' }).first()) ?? undefined);
    await stack.client.workflow.getHandle(deliveryId).signal(replaySignal, {});
    await stack.client.workflow.getHandle(deliveryId).result();

    // Two requests the API once coalesced into one run, bodies in the input (before acceptance moved to Postgres).
    const parts = [0, 1].map((n) => ({
      batchId: randomUUID(),
      receivedAt: input.receivedAt,
      sentAt: input.sentAt,
      client: input.client,
      events: [{ id: randomUUID(), type: 'purchase', properties: { amount: n } }, { id: randomUUID(), type: 'signup' }],
    }));
    const coalesced: BatchInput = {
      ...parts[0],
      projectId,
      events: parts.flatMap((part) => part.events),
      parts: parts.map(({ events, ...part }) => ({ ...part, eventCount: events.length })),
    };
    const coalescedWorkflowId = await startBatchWorkflow(stack.client, stack.config.temporal.taskQueue, coalesced);
    await stack.client.workflow.getHandle(coalescedWorkflowId).result();

    // The CLI's JSON export is the format operators use too (`temporal workflow show -o json`).
    const runWorkflowId = await recordAcceptedRun(receiver.url);

    for (const [name, workflowId] of [
      ['process-batch', batchWorkflowId],
      ['process-batch-coalesced', coalescedWorkflowId],
      ['delivery-replayed', deliveryId],
      ['process-batch-run', runWorkflowId],
    ]) {
      if (only && !only.has(name)) continue;
      const { stdout } = await run(process.env.TEMPORAL_CLI_PATH ?? 'temporal', [
        'workflow', 'show', '--workflow-id', workflowId, '--output', 'json',
        '--address', stack.config.temporal.address, '--namespace', stack.config.temporal.namespace,
      ]);
      await writeFile(`${FIXTURES}${name}.json`, stdout);
    }
  } finally {
    await receiver.close();
    await stack.stop();
  }
}

/** A run of requests accepted through the API (a reference in the input), with a rejection and a webhook. */
async function recordAcceptedRun(receiverUrl: string): Promise<string> {
  const stack = await startStack({ env: { INGEST_RUN_WINDOW_MS: '300' } });
  try {
    const project = await stack.createProject('replay-run');
    await stack.request('PUT', '/v1/schemas/purchase', { key: project.adminKey, body: { type: 'object', required: ['amount'] } });
    await stack.request('POST', '/v1/webhooks', { key: project.adminKey, body: { url: receiverUrl, event_types: ['*'] } });
    const [first] = await Promise.all([
      stack.request('POST', '/v1/events', { key: project.adminKey, body: [{ type: 'purchase', properties: { amount: 1 } }, { type: 'purchase' }] }),
      stack.request('POST', '/v1/events', { key: project.adminKey, body: { type: 'signup', properties: { url: 'https://example.com/?utm_source=x' } } }),
    ]);
    const batch = await waitFor(async () => {
      const response = await stack.request('GET', `/v1/batches/${first.body.batch_id}`, { key: project.adminKey });
      return response.body.status === 'completed' ? response.body : undefined;
    });
    await stack.client!.workflow.getHandle(batch.workflow_id).result();
    return batch.workflow_id;
  } finally {
    await stack.stop();
  }
}

describe('replaying recorded workflow histories', () => {
  before(async () => {
    const wanted = process.env.RECORD_HISTORIES;
    if (wanted) await recordFixtures(wanted === '1' ? undefined : new Set(wanted.split(',')));
  });

  test('every committed history replays without non-determinism against the current workflow code', async () => {
    const files = (await readdir(FIXTURES)).filter((file) => file.endsWith('.json'));
    assert.ok(files.length >= 2, 'recorded histories are missing');
    const histories = await Promise.all(
      files.map(async (file) => ({
        workflowId: file,
        history: historyFromJSON(JSON.parse(await readFile(`${FIXTURES}${file}`, 'utf8'))),
      })),
    );
    const results = Worker.runReplayHistories(
      { workflowBundle: await sharedWorkflowBundle(), sinks: workerSinks() },
      histories,
    );
    const failures: string[] = [];
    for await (const result of results) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
  });
});


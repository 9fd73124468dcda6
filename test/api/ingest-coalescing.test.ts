import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createCoalescer } from '../../src/api/events/coalescer.ts';
import type { BatchInput, BatchSummary } from '../../src/shared/batch.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

function batchOf(projectId: string, events: number): BatchInput {
  return {
    batchId: randomUUID(),
    projectId,
    receivedAt: new Date().toISOString(),
    client: {},
    events: Array.from({ length: events }, () => ({ id: randomUUID(), type: 'signup' })),
  };
}

describe('coalescing requests into one batch run', () => {
  describe('the coalescer', () => {
    test('merges one project\'s requests within the window, keeps projects apart, and starts at the event bound', async () => {
      const started: BatchInput[] = [];
      const coalescer = createCoalescer({ windowMs: 50, maxEvents: 5, maxBytes: 10_000 }, async (input) => started.push(input));
      const a1 = batchOf('a', 2);
      const a2 = batchOf('a', 2);
      const b1 = batchOf('b', 1);
      const a3 = batchOf('a', 2); // 2 + 2 + 2 > 5: the open group starts first, a3 opens the next
      await Promise.all([coalescer.submit(a1, 10), coalescer.submit(a2, 10), coalescer.submit(b1, 10), coalescer.submit(a3, 10)]);
      const byFirst = new Map(started.map((input) => [input.batchId, input]));
      assert.equal(started.length, 3);
      const merged = byFirst.get(a1.batchId)!;
      assert.deepEqual(merged.parts?.map((part) => [part.batchId, part.eventCount]), [[a1.batchId, 2], [a2.batchId, 2]]);
      assert.deepEqual(merged.events.map((event) => event.id), [...a1.events, ...a2.events].map((event) => event.id));
      assert.equal(byFirst.get(b1.batchId)?.parts, undefined, 'a lone request runs as itself');
      assert.equal(byFirst.get(a3.batchId)?.parts, undefined);
    });

    test('starts at the byte bound without waiting, and a failed start fails every request in it', async () => {
      let starts = 0;
      const coalescer = createCoalescer({ windowMs: 60_000, maxEvents: 1_000, maxBytes: 100 }, async () => {
        starts += 1;
        throw new Error('temporal down');
      });
      const results = await Promise.allSettled([coalescer.submit(batchOf('p', 1), 40), coalescer.submit(batchOf('p', 1), 60)]);
      assert.equal(starts, 1);
      assert.deepEqual(results.map((result) => result.status), ['rejected', 'rejected']);
    });
  });

  describe('through the API, with a real worker', () => {
    let stack: Stack;
    let key: string;

    before(async () => {
      stack = await startStack({ env: { INGEST_COALESCE_WINDOW_MS: '300' } });
      key = (await stack.createProject('coalescing')).adminKey;
    });
    after(() => stack.stop());

    async function completed(batchId: string) {
      return stack.waitFor(async () => {
        const response = await stack.request('GET', `/v1/batches/${batchId}`, { key });
        return response.body?.status === 'completed' ? response.body : undefined;
      });
    }

    test('concurrent requests share one run, and each stays a batch with its own summary and clocks', async () => {
      const bodies = [
        [{ type: 'signup' }],
        { batch: [{ type: 'page_view' }, { type: 'page_view' }], sent_at: new Date().toISOString() },
        [{ type: 'purchase' }, { type: 'purchase' }, { type: 'purchase' }],
      ];
      const responses = await Promise.all(bodies.map((body) => stack.request('POST', '/v1/events', { key, body })));
      assert.deepEqual(responses.map((response) => response.status), [202, 202, 202]);
      const batchIds = responses.map((response) => response.body.batch_id as string);
      assert.equal(new Set(batchIds).size, 3);

      const batches = await Promise.all(batchIds.map(completed));
      assert.deepEqual(batches.map((batch) => batch.summary.received), [1, 2, 3]);
      assert.deepEqual(batches.map((batch) => batch.summary.stored), [1, 2, 3]);
      const workflowIds = new Set(batches.map((batch) => batch.workflow_id));
      assert.equal(workflowIds.size, 1, 'one run carried all three');
      const [workflowId] = workflowIds;
      assert.ok(batchIds.some((batchId) => workflowId === `batch:${batchId}`), 'the run is named after one of its batches');

      // Each event keeps its own request's batch id.
      for (const [index, response] of responses.entries()) {
        const rows = await stack.db('events').whereIn('id', response.body.ids).select('batch_id');
        assert.deepEqual(rows.map((row) => row.batch_id), response.body.ids.map(() => batchIds[index]));
      }
      const result: BatchSummary = await stack.client!.workflow.getHandle(workflowId).result();
      assert.equal(result.received, 6);
      assert.deepEqual(result.batches?.map((batch) => batch.batchId).sort(), [...batchIds].sort());
    });

    test('a request with an Idempotency-Key keeps a run of its own', async () => {
      const [keyed, plain] = await Promise.all([
        stack.request('POST', '/v1/events', { key, body: { type: 'signup' }, headers: { 'Idempotency-Key': randomUUID() } }),
        stack.request('POST', '/v1/events', { key, body: { type: 'signup' } }),
      ]);
      assert.equal(keyed.status, 202);
      assert.equal(plain.status, 202);
      assert.equal((await completed(keyed.body.batch_id)).workflow_id, `batch:${keyed.body.batch_id}`);
      assert.equal((await completed(plain.body.batch_id)).workflow_id, `batch:${plain.body.batch_id}`);
    });
  });

  describe('status of a coalesced batch before it is stored', () => {
    let stack: Stack;
    let key: string;

    before(async () => {
      // No worker serves this queue, so the run stays open.
      stack = await startStack({
        temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
        env: { TEMPORAL_TASK_QUEUE: `unserved-${randomUUID()}`, INGEST_COALESCE_WINDOW_MS: '300' },
      });
      key = (await stack.createProject('coalesced-status')).adminKey;
    });
    after(() => stack.stop());

    test('every batch of an open run reports the run, found through its BatchIds', async () => {
      const responses = await Promise.all([0, 1].map(() => stack.request('POST', '/v1/events', { key, body: { type: 'signup' } })));
      const batchIds = responses.map((response) => response.body.batch_id as string);
      const statuses = await stack.waitFor(async () => {
        const answers = await Promise.all(batchIds.map((batchId) => stack.request('GET', `/v1/batches/${batchId}`, { key })));
        return answers.every((answer) => answer.status === 200) ? answers.map((answer) => answer.body) : undefined;
      }, 10_000);
      assert.deepEqual(statuses.map((status) => status.status), ['running', 'running']);
      assert.equal(statuses[0].workflow_id, statuses[1].workflow_id);
      assert.deepEqual(statuses.map((status) => status.batch_id), batchIds);
      // Another project cannot see it.
      const other = (await stack.createProject('other')).adminKey;
      assert.equal((await stack.request('GET', `/v1/batches/${batchIds[1]}`, { key: other })).status, 404);
    });
  });
});

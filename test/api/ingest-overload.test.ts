import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createAdmission } from '../../src/api/events/admission.ts';
import { ApiError } from '../../src/api/errors.ts';
import { expectedWaitMs } from '../../src/temporal/backlog.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

describe('load shedding: 429 + Retry-After instead of an unbounded queue', () => {
  test('events in flight are bounded; a refused request runs nothing', async () => {
    const admission = createAdmission({ maxInFlightEvents: 100, maxProcessingLagMs: 0 });
    let release!: () => void;
    const holding = admission.admit(60, () => new Promise<void>((resolve) => (release = resolve)));
    let ran = false;
    await assert.rejects(
      admission.admit(50, async () => {
        ran = true;
      }),
      (error: unknown) => {
        assert.ok(error instanceof ApiError);
        assert.equal(error.status, 429);
        assert.equal(error.code, 'overloaded');
        assert.deepEqual(error.details, [{ reason: 'ingest_saturated' }]);
        assert.equal(error.headers['Retry-After'], '1');
        return true;
      },
    );
    assert.equal(ran, false);
    // Still room for a smaller request; and once the first finishes, for the big one again.
    await admission.admit(40, async () => undefined);
    release();
    await holding;
    await admission.admit(50, async () => undefined);
    // One request above the whole bound is admitted when it is alone, or it could never get in.
    await admission.admit(500, async () => undefined);
  });

  test('the lag bound refuses with a Retry-After that grows with the excess, capped at 30 s', async () => {
    const admission = createAdmission({ maxInFlightEvents: 1_000, maxProcessingLagMs: 5_000 });
    admission.observeProcessingLag(4_000);
    await admission.admit(1, async () => undefined);
    for (const [lagMs, retryAfter] of [[5_500, '1'], [12_000, '7'], [600_000, '30']] as const) {
      admission.observeProcessingLag(lagMs);
      await assert.rejects(admission.admit(1, async () => undefined), (error: unknown) => {
        assert.ok(error instanceof ApiError);
        assert.equal(error.status, 429);
        assert.equal(error.headers['Retry-After'], retryAfter);
        assert.deepEqual(error.details, [{ reason: 'processing_backlog' }]);
        return true;
      });
    }
  });

  test('the lag is the queue over its drain rate once the oldest task has waited, never less than its age', () => {
    const projectFromAgeMs = 10_000;
    // Intake outrunning processing: 478 tasks at 10.4/s are 46 s of work though the oldest waited 11 s.
    assert.equal(expectedWaitMs({ oldestWaitingMs: 11_000, waitingTasks: 478, dispatchedPerSecond: 10.4 }, projectFromAgeMs), 45_962);
    // A burst after idle: the server's rate still averages the idle spell, so a young queue is judged by its age.
    assert.equal(expectedWaitMs({ oldestWaitingMs: 3_000, waitingTasks: 150, dispatchedPerSecond: 2 }, projectFromAgeMs), 3_000);
    // Draining: the queue is short for its rate, and the oldest task's age is the better figure.
    assert.equal(expectedWaitMs({ oldestWaitingMs: 47_000, waitingTasks: 543, dispatchedPerSecond: 19.1 }, projectFromAgeMs), 47_000);
    // No worker has taken anything: the rate says nothing, the age decides.
    assert.equal(expectedWaitMs({ oldestWaitingMs: 12_500, waitingTasks: 40, dispatchedPerSecond: 0 }, projectFromAgeMs), 12_500);
    assert.equal(expectedWaitMs({ oldestWaitingMs: 0, waitingTasks: 0, dispatchedPerSecond: 12 }, projectFromAgeMs), 0);
  });

  describe('against a real Temporal task queue that no worker serves', () => {
    let stack: Stack;
    let key: string;
    let projectId: string;

    before(async () => {
      stack = await startStack({
        temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
        backlogProbe: true,
        env: { TEMPORAL_TASK_QUEUE: `unserved-${randomUUID()}`, INGEST_MAX_BACKLOG_SECONDS: '1', INGEST_BACKLOG_PROBE_MS: '200' },
      });
      const project = await stack.createProject('overload');
      key = project.adminKey;
      projectId = project.id;
    });
    after(() => stack.stop());

    test('accepts while the queue is fresh, then answers 429 once its oldest task waits too long', async () => {
      const first = await stack.request('POST', '/v1/events', { key, body: { type: 'signup' } });
      assert.equal(first.status, 202);
      const accepted = [first.body.batch_id];
      // The server's queue statistics are approximate and refreshed every few seconds.
      const refused = await stack.waitFor(
        async () => {
          const response = await stack.request('POST', '/v1/events', { key, body: [{ type: 'signup' }, { type: 'signup' }] });
          if (response.status === 202) {
            accepted.push(response.body.batch_id);
            return undefined;
          }
          return response;
        },
        30_000,
      );
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.code, 'overloaded');
      assert.deepEqual(refused.body.error.details, [{ reason: 'processing_backlog' }]);
      assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);

      // Every 202 was accepted into Postgres and went into a started run; no 429 left anything behind.
      const rows = await stack.db('ingest_requests').where('project_id', projectId).select('batch_id', 'run_id');
      assert.deepEqual(rows.map((row) => row.batch_id).sort(), [...accepted].sort());
      const runIds = [...new Set(rows.map((row) => row.run_id))];
      assert.ok(runIds.every(Boolean), 'every accepted request is in a run');
      for (const runId of runIds) {
        await stack.waitFor(async () => (await stack.client!.workflow.getHandle(`batch:${runId}`).describe().catch(() => undefined)), 10_000);
      }
    });
  });
});

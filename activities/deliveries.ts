import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { Knex } from 'knex';
import type { EventFlowConfig } from '../src/config.ts';
import {
  PERMANENT_FAILURE,
  deliveryWorkflowId,
  describeAttempt,
  type AttemptReport,
  type DeliveryRef,
  type DeliveryStatus,
  type DeliveryWorkflowInput,
  type DispatchInput,
  type DispatchResult,
} from '../src/shared/delivery.ts';
import { deliveryWorkflow } from '../workflows/delivery.ts';
import { ENDPOINT_ID, EVENT_TYPE, EVENTFLOW_STATUS, PROJECT_ID } from '../workflows/search-attributes.ts';
import { createDeliverer } from '../src/deliveries/deliverer.ts';
import { recordTargetFailure, recordTargetSuccess } from '../src/deliveries/endpoint-health.ts';
import { attemptLog, recordAttempts, upsertDelivery, type AttemptLogEntry, type NewAttempt } from '../src/deliveries/records.ts';
import { enabledTargetsFor, loadTarget, type DeliveryTarget } from '../src/deliveries/targets.ts';
import { loadDeliverableEvents, loadStoredEvents, type DeliverableEvent } from '../src/events/queries.ts';
import { activeTraceId } from '../src/telemetry/spans.ts';

export interface DeliveryDependencies {
  db: Knex;
  config: EventFlowConfig;
  temporal: Client;
}

/** A small concurrency limiter: delivery fan-out is bounded so one batch cannot open thousands of sockets. */
async function forEachLimited<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await run(items[next++]);
  });
  await Promise.all(lanes);
}

export function createDeliveryActivities({ db, config, temporal }: DeliveryDependencies) {
  const deliverer = createDeliverer(config, db);

  function attemptRow(ref: DeliveryRef, report: AttemptReport, attemptedAt: Date): NewAttempt {
    return {
      project_id: ref.projectId,
      channel: ref.channel,
      target_id: ref.targetId,
      event_id: ref.eventId,
      delivery_id: ref.deliveryId,
      attempt: report.attempt,
      attempted_at: attemptedAt,
      status_code: report.statusCode ?? null,
      duration_ms: report.durationMs,
      response_excerpt: report.responseExcerpt ?? null,
      error: report.error ?? null,
      outcome: report.outcome,
      // The attempt's trace (the activity's), so a delivery log row links to its spans in Jaeger.
      trace_id: activeTraceId(),
    };
  }

  async function handOff(ref: DeliveryRef, target: DeliveryTarget, report: AttemptReport): Promise<void> {
    const workflowId = deliveryWorkflowId(ref);
    const input: DeliveryWorkflowInput = {
      ...ref,
      retrySchedule: target.retrySchedule ?? config.webhooks.retryScheduleSeconds,
      firstAttempt: report,
      retentionSeconds: config.webhooks.deadLetterRetentionSeconds,
    };
    await upsertDelivery(db, {
      delivery_id: ref.deliveryId,
      project_id: ref.projectId,
      channel: ref.channel,
      target_id: ref.targetId,
      event_id: ref.eventId,
      event_type: ref.eventType,
      workflow_id: workflowId,
      status: report.outcome === 'retryable' ? 'retrying' : 'dead_lettered',
      last_error: describeAttempt(report),
    });
    // Started from the activity (not as a child) so a batch's fan-out is not bound by the 2,000
    // pending-children limit; the deterministic id makes a retried dispatch attach, not duplicate.
    await temporal.workflow.start(deliveryWorkflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: [
        { key: EVENTFLOW_STATUS, value: report.outcome === 'retryable' ? 'retrying' : 'dead_lettered' },
        { key: PROJECT_ID, value: ref.projectId },
        { key: ENDPOINT_ID, value: ref.targetId },
        { key: EVENT_TYPE, value: ref.eventType },
      ],
    });
  }

  /**
   * The cheap happy path: one activity per batch makes the first attempt of every (event, target) pair
   * inline. Only failures get a durable workflow of their own. A retried dispatch may deliver an event
   * again; receivers dedupe on `webhook-id`, which is the same for every attempt of a delivery.
   */
  async function dispatchDeliveries(input: DispatchInput): Promise<DispatchResult> {
    if (input.eventIds.length === 0) return { targets: 0, delivered: 0, handedOff: 0 };
    // Targets first: most batches have none, and then the batch's events need not be read back at all.
    const candidates = await enabledTargetsFor(db, input.projectId);
    if (candidates.length === 0) return { targets: 0, delivered: 0, handedOff: 0 };
    const events = input.rowRefs
      ? await loadStoredEvents(db, input.projectId, input.eventIds, input.rowRefs)
      : await loadDeliverableEvents(db, input.projectId, input.eventIds);
    const types = [...new Set(events.map((event) => event.type))];
    const targets = candidates.filter((target) => types.some((type) => target.matches(type)));
    if (targets.length === 0) return { targets: 0, delivered: 0, handedOff: 0 };

    const work: Array<{ event: DeliverableEvent; target: DeliveryTarget }> = [];
    for (const event of events) {
      for (const target of targets) if (target.matches(event.type)) work.push({ event, target });
    }
    const rows: NewAttempt[] = [];
    const failures: Array<{ ref: DeliveryRef; target: DeliveryTarget; report: AttemptReport }> = [];
    let delivered = 0;
    // Heartbeat on a clock, not per delivery: one slow receiver (up to the attempt timeout) must not
    // look like a dead worker.
    const context = Context.current();
    const heartbeat = setInterval(() => context.heartbeat(), 5_000);
    try {
      await forEachLimited(work, config.webhooks.deliveryConcurrency, async ({ event, target }) => {
        const ref = deliverer.refFor(input.projectId, target, event);
        const attemptedAt = new Date();
        const report = await deliverer.deliver(target, event, ref, 1);
        rows.push(attemptRow(ref, report, attemptedAt));
        if (report.outcome === 'delivered') delivered += 1;
        else failures.push({ ref, target, report });
      });
      await recordAttempts(db, rows);
      for (const failure of failures) {
        await recordTargetFailure(db, failure.target, failure.report, config.webhooks.disableAfterFailingSeconds);
        await handOff(failure.ref, failure.target, failure.report);
      }
    } finally {
      clearInterval(heartbeat);
    }
    return { targets: targets.length, delivered, handedOff: failures.length };
  }

  /**
   * One attempt of a delivery under the per-delivery workflow's retry policy. The delay before the next
   * attempt comes from the schedule (or the receiver's Retry-After) through `nextRetryDelay`.
   */
  async function attemptDelivery(
    input: DeliveryRef & { url?: string; schedule: number[]; attemptOffset: number },
  ): Promise<AttemptReport> {
    const { attempt: temporalAttempt } = Context.current().info;
    const attempt = input.attemptOffset + temporalAttempt;
    const target = await loadTarget(db, input.projectId, input.channel, input.targetId);
    const event = (await loadDeliverableEvents(db, input.projectId, [input.eventId]))[0];
    if (!target || !event) {
      const report: AttemptReport = { attempt, outcome: 'permanent', durationMs: 0, error: 'target or event no longer exists' };
      throw ApplicationFailure.create({ type: PERMANENT_FAILURE, nonRetryable: true, message: report.error, details: [report] });
    }
    const attemptedAt = new Date();
    const destination = input.url && target.channel === 'webhook' ? { ...target, url: input.url } : target;
    const report = await deliverer.deliver(destination, event, input, attempt);
    await recordAttempts(db, [attemptRow(input, report, attemptedAt)]);
    if (report.outcome === 'delivered') {
      await recordTargetSuccess(db, target);
      return report;
    }
    const disabled = await recordTargetFailure(db, target, report, config.webhooks.disableAfterFailingSeconds);
    const message = describeAttempt(report);
    if (report.outcome !== 'retryable' || disabled) {
      throw ApplicationFailure.create({ type: PERMANENT_FAILURE, nonRetryable: true, message, details: [report] });
    }
    const scheduledMs = (input.schedule[temporalAttempt] ?? input.schedule.at(-1) ?? 1) * 1000;
    throw ApplicationFailure.create({
      type: 'DeliveryFailed',
      message,
      details: [report],
      nextRetryDelay: Math.max(scheduledMs, report.retryAfterMs ?? 0, 1),
    });
  }

  /** Mirrors a delivery's state into Postgres; when parking, returns the attempt log so history shows it. */
  async function recordDeliveryState(
    input: DeliveryRef & { status: DeliveryStatus; lastError?: string },
  ): Promise<{ status: string; attempts: AttemptLogEntry[] }> {
    await upsertDelivery(db, {
      delivery_id: input.deliveryId,
      project_id: input.projectId,
      channel: input.channel,
      target_id: input.targetId,
      event_id: input.eventId,
      event_type: input.eventType,
      workflow_id: deliveryWorkflowId(input),
      status: input.status,
      last_error: input.lastError ?? null,
    });
    const attempts = input.status === 'dead_lettered' ? await attemptLog(db, input.projectId, input.deliveryId) : [];
    return { status: input.status, attempts };
  }

  return { activities: { dispatchDeliveries, attemptDelivery, recordDeliveryState }, close: deliverer.close };
}

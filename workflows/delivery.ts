import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import {
  PERMANENT_FAILURE,
  describeAttempt,
  type AttemptReport,
  type DeliveryWorkflowInput,
  type DeliveryWorkflowResult,
  type ReplayRequest,
} from '../src/shared/delivery.ts';
import { EVENTFLOW_STATUS } from './search-attributes.ts';

export const replaySignal = defineSignal<[ReplayRequest?]>('replay');
export const discardSignal = defineSignal<[{ reason?: string }?]>('discard');
export const deliveryStateQuery = defineQuery<DeliveryState>('state');

export interface DeliveryState {
  status: 'retrying' | 'dead_lettered' | 'delivered' | 'discarded' | 'expired';
  attempts: number;
  replays: number;
  lastAttempt?: AttemptReport;
}

const { recordDeliveryState } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/**
 * Durable life of one delivery that failed inline: retried on the declared schedule, then parked as a
 * dead letter (visible by search attribute, with every attempt in history) until an operator sends
 * `replay` or `discard`, or the retention runs out. One run per (channel, target, event).
 */
export async function deliveryWorkflow(input: DeliveryWorkflowInput): Promise<DeliveryWorkflowResult> {
  const state: DeliveryState = { status: 'retrying', attempts: 1, replays: 0, lastAttempt: input.firstAttempt };
  // Boxed so TypeScript does not narrow them to `undefined`: signal handlers assign them between awaits.
  const decision: { replay?: ReplayRequest; discard?: { reason?: string } } = {};
  setHandler(replaySignal, (request) => void (decision.replay = request ?? {}));
  setHandler(discardSignal, (request) => void (decision.discard = request ?? {}));
  setHandler(deliveryStateQuery, () => state);

  const ref = {
    projectId: input.projectId,
    channel: input.channel,
    targetId: input.targetId,
    eventId: input.eventId,
    eventType: input.eventType,
    deliveryId: input.deliveryId,
  };
  let schedule = input.retrySchedule;
  let url: string | undefined;
  let retryable = input.firstAttempt.outcome === 'retryable';
  // The first attempt already happened in the batch's dispatch; the next waits its turn on the schedule.
  let firstDelayMs = Math.max((schedule[0] ?? 0) * 1000, input.firstAttempt.retryAfterMs ?? 0);

  for (;;) {
    if (retryable && schedule.length > 0) {
      if (firstDelayMs > 0) await sleep(firstDelayMs);
      const delivered = await attemptOnSchedule(ref, schedule, state, url);
      if (delivered) {
        state.status = 'delivered';
        await recordDeliveryState({ ...ref, status: 'delivered' });
        upsertSearchAttributes([{ key: EVENTFLOW_STATUS, value: 'delivered' }]);
        return { status: 'delivered', attempts: state.attempts, replays: state.replays };
      }
    }

    // Dead-lettered: the activity's result puts the whole attempt log into this run's history.
    state.status = 'dead_lettered';
    upsertSearchAttributes([{ key: EVENTFLOW_STATUS, value: 'dead_lettered' }]);
    await recordDeliveryState({ ...ref, status: 'dead_lettered', lastError: describe(state.lastAttempt) });

    const decided = await condition(
      () => decision.replay !== undefined || decision.discard !== undefined,
      input.retentionSeconds * 1000,
    );
    if (!decided || decision.discard) {
      state.status = decided ? 'discarded' : 'expired';
      await recordDeliveryState({ ...ref, status: state.status, lastError: decision.discard?.reason });
      upsertSearchAttributes([{ key: EVENTFLOW_STATUS, value: state.status }]);
      return { status: state.status, attempts: state.attempts, replays: state.replays };
    }

    // Replay: a fresh round on the (possibly new) schedule, the first attempt immediately.
    state.replays += 1;
    state.status = 'retrying';
    const request: ReplayRequest = decision.replay ?? {};
    decision.replay = undefined;
    url = request.url ?? url;
    schedule = [0, ...(request.retry_schedule ?? input.retrySchedule)];
    firstDelayMs = 0;
    retryable = true;
    upsertSearchAttributes([{ key: EVENTFLOW_STATUS, value: 'retrying' }]);
    await recordDeliveryState({ ...ref, status: 'retrying' });
  }
}

/**
 * One activity whose declared retry policy walks the schedule: the activity sets each retry's delay
 * (`nextRetryDelay`) from the schedule or the receiver's Retry-After, Temporal does the waiting.
 */
async function attemptOnSchedule(
  ref: Omit<DeliveryWorkflowInput, 'retrySchedule' | 'firstAttempt' | 'retentionSeconds'>,
  schedule: number[],
  state: DeliveryState,
  url: string | undefined,
): Promise<boolean> {
  const { attemptDelivery } = proxyActivities<Activities>({
    // The HTTP timeout is enforced inside the activity; this only bounds a stuck worker.
    startToCloseTimeout: '2m',
    retry: {
      maximumAttempts: schedule.length,
      initialInterval: `${Math.max(1, schedule[1] ?? 1)}s`,
      nonRetryableErrorTypes: [PERMANENT_FAILURE],
    },
  });
  try {
    const report = await attemptDelivery({ ...ref, url, schedule, attemptOffset: state.attempts });
    state.attempts = report.attempt;
    state.lastAttempt = report;
    return true;
  } catch (error) {
    if (!(error instanceof ActivityFailure) || !(error.cause instanceof ApplicationFailure)) throw error;
    const report = error.cause.details?.[0] as AttemptReport | undefined;
    if (report) {
      state.attempts = report.attempt;
      state.lastAttempt = report;
    }
    return false;
  }
}

function describe(report: AttemptReport | undefined): string | undefined {
  return report && describeAttempt(report);
}

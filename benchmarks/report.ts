import type { NaiveLoad } from './naive.ts';
import type { PhaseResult } from './phase.ts';
import type { PostgresCeiling } from './postgres-ceiling.ts';
import { round, type UsageReport } from './proc-stats.ts';
import type { StoredStats } from './stored.ts';
import type { TemporalCeiling } from './temporal-ceiling.ts';

// Turns measurements into verdicts: the issue's targets (pass/fail next to the number), the ratios of
// EventFlow's batched path to the ceilings and to the naive design, and, for each phase, what bounded it.

export interface NaiveResult {
  load: NaiveLoad;
  stored: StoredStats | undefined;
  loss: PhaseResult['loss'];
  cpuMicrosPerEvent: Record<string, number>;
  usage: UsageReport;
}

export interface TargetVerdict {
  target: string;
  measured: string;
  pass: boolean | null;
  note?: string;
  /** What the numbers stand for: where an accepted / stored / delivered event is at that point. */
  durability: string;
  /** For a miss: what saturated, at what offered rate. */
  boundBy?: string;
}

export const DURABILITY = {
  accepted: "accepted = 202 = the request's events are committed to Postgres (ingest_requests; fsync=on, synchronous_commit=on): survives an OS crash; a run is started for them afterwards",
  stored: 'stored = committed in Postgres (fsync=on, synchronous_commit=on): survives an OS crash',
  delivered: 'delivered = the receiver answered 200 to the first attempt (at-least-once)',
};

function boundBy(phase: PhaseResult): string {
  const load = bottleneck(phase.usageDuringLoad);
  const drain = phase.drain.backlogDrainSeconds >= 2 ? bottleneck(phase.usageDuringDrain) : undefined;
  return (
    `at ${phase.spec.eventsPerSecond} events/s offered (batches of ${phase.spec.batchSize}): while loading ${load.verdict} [${load.byCores.join('; ')}]` +
    (drain ? `; while draining the backlog ${drain.verdict} [${drain.byCores.join('; ')}]` : '') +
    (phase.cpuBoundEventsPerSecond
      ? `; the stack spent ${(phase.cpuMicrosPerEvent.total ?? 0) - (phase.cpuMicrosPerEvent['load-generator'] ?? 0)} CPU us per stored event ` +
        `(${Object.entries(phase.cpuMicrosPerEvent).filter(([name]) => name !== 'total').map(([name, us]) => `${name} ${us}`).join(', ')}), ` +
        `so ${phase.usageDuringLoad.cores} cores allow about ${phase.cpuBoundEventsPerSecond} events/s`
      : '')
  );
}

// Node processes whose main thread is their event loop: at ≈ 1 core it has no idle time left.
const NODE_ROLES = new Set(['api', 'worker', 'load-generator', 'noop-worker', 'bench', 'receiver']);
const EVENT_LOOP_SATURATED = 0.85;
const MACHINE_SATURATED = 0.9;

export interface Bottleneck {
  machineBusyShare: number;
  /** Roles by cores used, highest first: "worker 0.82 (main thread 0.74)". */
  byCores: string[];
  saturated: string[];
  verdict: string;
}

export function bottleneck(usage: UsageReport): Bottleneck {
  const roles = Object.entries(usage.processes).sort(([, a], [, b]) => b.cores - a.cores);
  const byCores = roles.map(([name, use]) => (NODE_ROLES.has(name) ? `${name} ${use.cores} (main thread ${use.mainThreadCores})` : `${name} ${use.cores}`));
  if (usage.untrackedBusyCores >= 0.05) {
    const who = usage.untrackedTop.slice(0, 3).map((entry) => `${entry.name} ${entry.cores}`).join(', ');
    byCores.push(`not ours (other processes, kernel) ${usage.untrackedBusyCores}${who ? `: ${who}` : ''}`);
  }
  const saturated: string[] = [];
  if (usage.machineBusyShare >= MACHINE_SATURATED) {
    saturated.push(`machine CPU: ${usage.machineBusyCores} of ${usage.cores} cores busy`);
  }
  for (const [name, use] of roles) {
    if (NODE_ROLES.has(name) && use.mainThreadCores >= EVENT_LOOP_SATURATED) {
      saturated.push(`${name} event loop: main thread at ${use.mainThreadCores} core`);
    }
  }
  const top = roles[0];
  let verdict: string;
  if (saturated.length === 0) {
    verdict = `nothing saturated (machine ${Math.round(usage.machineBusyShare * 100)}% busy): the offered load was within capacity`;
  } else if (usage.machineBusyShare >= MACHINE_SATURATED) {
    verdict =
      `CPU-bound: all ${usage.cores} cores busy; the largest consumer is ${top?.[0]} (${top?.[1].cores} cores)` +
      (saturated.length > 1 ? `; also ${saturated.slice(1).join(', ')}` : '');
  } else {
    verdict = `bounded by ${saturated.join(', ')} while the machine still had ${round(usage.cores - usage.machineBusyCores, 2)} cores idle`;
  }
  if (usage.untrackedBusyCores >= 0.3) {
    verdict += `; NOTE: ${usage.untrackedBusyCores} cores went to work that is not this benchmark's, so capacity is understated`;
  }
  return { machineBusyShare: usage.machineBusyShare, byCores, saturated, verdict };
}

function ms(value: number | undefined): string {
  return value === undefined ? 'n/a' : `${value} ms`;
}

export interface TargetInputs {
  quick: boolean;
  single: PhaseResult | undefined;
  fixed: PhaseResult | undefined;
  sustained: PhaseResult | undefined;
  webhook: PhaseResult | undefined;
  naive: NaiveResult | undefined;
}

export function evaluateTargets({ quick, single, fixed, sustained, webhook, naive }: TargetInputs): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  if (single) {
    const stored = single.stored?.storedPerSecond ?? 0;
    verdicts.push({
      target: 'single-event requests: >= 5,000 events/s accepted and stored',
      measured: `offered ${single.spec.eventsPerSecond} requests/s of 1 event; accepted ${single.acceptedPerSecond}/s, stored ${stored}/s; loss ok ${single.loss?.ok}`,
      pass: single.acceptedPerSecond >= 5_000 && stored >= 5_000 && single.loss?.ok === true,
      note: single.spec.eventsPerSecond < 5_000 ? `offered ${single.spec.eventsPerSecond}/s: run with --single-rate 5000 or more to test this target` : undefined,
      durability: `${DURABILITY.accepted}; ${DURABILITY.stored}`,
      boundBy: stored >= 5_000 ? undefined : boundBy(single),
    });
    verdicts.push({
      target: 'single-event requests: p99 HTTP accept <= 50 ms at 2,000 requests/s',
      measured: `p99 ${ms(single.load.latencyMs.p99)} (p50 ${ms(single.load.latencyMs.p50)}, p95 ${ms(single.load.latencyMs.p95)}) at ${single.spec.eventsPerSecond} requests/s`,
      pass: single.spec.eventsPerSecond >= 2_000 && single.load.latencyMs.p99 <= 50 && single.load.requestsAccepted === single.load.requestsScheduled,
      durability: DURABILITY.accepted,
      boundBy: single.load.latencyMs.p99 <= 50 ? undefined : boundBy(single),
    });
  }
  if (sustained) {
    const stored = sustained.stored?.storedPerSecond ?? 0;
    const lossless = sustained.loss?.ok === true && (sustained.loss?.missing ?? 1) === 0;
    const failures = Object.values(sustained.load.failures).reduce((sum, count) => sum + count, 0);
    const longEnough = sustained.spec.durationSeconds >= 60;
    const rateOk = sustained.spec.eventsPerSecond >= 20_000 && sustained.acceptedPerSecond >= 20_000 && stored >= 20_000;
    verdicts.push({
      target: '>= 20,000 events/s sustained for 60 s, accept -> stored, zero loss',
      measured:
        `offered ${sustained.spec.eventsPerSecond}/s for ${sustained.spec.durationSeconds} s; accepted ${sustained.acceptedPerSecond}/s ` +
        `(${failures} requests refused/failed); stored ${stored}/s end to end (median ${sustained.stored?.medianStoredPerSecondDuringLoad ?? 0}/s ` +
        `while loading), backlog drained ${sustained.drain.backlogDrainSeconds} s after the load; ` +
        `loss: ${sustained.loss ? `${sustained.loss.missing} missing of ${sustained.loss.acceptedIds}, ${sustained.loss.duplicateAcceptedIds} duplicate ids` : 'n/a'}`,
      pass: rateOk && lossless && failures === 0 && longEnough,
      note: longEnough ? undefined : `phase shorter than 60 s${quick ? ' (--quick)' : ''}: cannot pass`,
      durability: `${DURABILITY.accepted}; ${DURABILITY.stored}`,
      boundBy: rateOk ? undefined : boundBy(sustained),
    });
  }
  if (fixed) {
    const fixedBound = boundBy(fixed);
    verdicts.push({
      target: `p99 HTTP accept <= 50 ms at 5,000 events/s`,
      measured: `p99 ${ms(fixed.load.latencyMs.p99)} (p50 ${ms(fixed.load.latencyMs.p50)}, p95 ${ms(fixed.load.latencyMs.p95)}) at ${fixed.spec.eventsPerSecond} events/s, batches of ${fixed.spec.batchSize}`,
      pass: fixed.spec.eventsPerSecond >= 5_000 && fixed.load.latencyMs.p99 <= 50 && fixed.load.requestsAccepted === fixed.load.requestsScheduled,
      durability: DURABILITY.accepted,
      boundBy: fixed.load.latencyMs.p99 <= 50 ? undefined : fixedBound,
    });
    verdicts.push({
      target: `p95 accept -> stored <= 1 s at 5,000 events/s`,
      measured: `p95 ${ms(fixed.stored?.latencyMs.p95)} (p50 ${ms(fixed.stored?.latencyMs.p50)}, p99 ${ms(fixed.stored?.latencyMs.p99)})`,
      pass: fixed.spec.eventsPerSecond >= 5_000 && fixed.stored !== undefined && fixed.stored.latencyMs.p95 <= 1_000 && fixed.loss?.ok === true,
      durability: DURABILITY.stored,
      boundBy: fixed.stored !== undefined && fixed.stored.latencyMs.p95 <= 1_000 ? undefined : fixedBound,
    });
  }
  if (webhook?.webhook) {
    verdicts.push({
      target: '>= 5,000 webhook deliveries/s',
      measured:
        `${webhook.webhook.deliveriesPerSecond}/s end to end (median ${webhook.webhook.medianDeliveriesPerSecondDuringLoad}/s while loading) ` +
        `with ${webhook.spec.eventsPerSecond} events/s offered; ${webhook.webhook.delivered} of ${webhook.load.eventsAccepted} delivered`,
      pass: webhook.webhook.deliveriesPerSecond >= 5_000 && webhook.webhook.delivered >= webhook.load.eventsAccepted,
      durability: DURABILITY.delivered,
      boundBy: webhook.webhook.deliveriesPerSecond >= 5_000 ? undefined : boundBy(webhook),
    });
  }
  if (sustained?.stored && naive?.stored) {
    const speedup = naive.stored.storedPerSecond > 0 ? sustained.stored.storedPerSecond / naive.stored.storedPerSecond : Infinity;
    verdicts.push({
      target: '>= 50x the naive one-workflow-per-event design',
      measured: `${round(speedup, 1)}x (${sustained.stored.storedPerSecond} vs ${naive.stored.storedPerSecond} events stored/s)`,
      pass: speedup >= 50,
      durability: DURABILITY.stored,
    });
  }
  return verdicts;
}

export interface Comparison {
  eventflowStoredPerSecond: number | undefined;
  versusPostgresUnnest: number | undefined;
  versusPostgresCopy: number | undefined;
  temporalNoopWorkflowsPerSecond: number | undefined;
  eventflowBatchWorkflowsPerSecond: number | undefined;
  /** EventFlow's batch workflows/s as a share of the no-op workflow ceiling. */
  shareOfTemporalWorkflowCeiling: number | undefined;
  naiveStoredPerSecond: number | undefined;
  speedupOverNaive: number | undefined;
}

export function compare(
  postgres: PostgresCeiling | undefined,
  temporal: TemporalCeiling | undefined,
  naive: NaiveResult | undefined,
  sustained: PhaseResult | undefined,
): Comparison {
  const d = sustained?.stored?.storedPerSecond;
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? round(a / b, 3) : undefined);
  const bestCopy = postgres ? Math.max(...postgres.copy.map((copy) => copy.rowsPerSecond)) : undefined;
  const batchWorkflows = d !== undefined && sustained ? round(d / sustained.spec.batchSize, 1) : undefined;
  return {
    eventflowStoredPerSecond: d,
    versusPostgresUnnest: ratio(d, postgres?.unnest.rowsPerSecond),
    versusPostgresCopy: ratio(d, bestCopy),
    temporalNoopWorkflowsPerSecond: temporal?.completedPerSecondOverall,
    eventflowBatchWorkflowsPerSecond: batchWorkflows,
    shareOfTemporalWorkflowCeiling: ratio(batchWorkflows, temporal?.completedPerSecondOverall),
    naiveStoredPerSecond: naive?.stored?.storedPerSecond,
    speedupOverNaive: ratio(d, naive?.stored?.storedPerSecond),
  };
}

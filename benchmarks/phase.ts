import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { createBenchProject, createWebhook, type BenchProject } from './api-client.ts';
import type { BenchChild } from './children.ts';
import { forkChild } from './children.ts';
import { batchBodyTemplate } from './events.ts';
import { batchHistory, type BatchHistory } from './history.ts';
import type { LoadPhaseConfig, LoadPhaseResult } from './load-generator.ts';
import { cpuMicrosPer, loadAverage, round, type ProcessMonitor, type TrackedProcess, type UsageReport } from './proc-stats.ts';
import type { ReceiverStats } from './receiver.ts';
import type { BenchStack } from './stack.ts';
import { lossCheck, postgresActivity, postgresCounters, resetStatementStats, statementCosts, storedStats, waitForStored, type StatementCost, type DrainResult, type LossCheck, type StoredStats } from './stored.ts';

// One measured phase: a fresh project, optionally with a webhook endpoint aimed at the receiver, load
// from a separate process, then the drain, the stored-latency query, the loss check and, for webhooks,
// the receiver's tally. Each number carries the CPU the stack's processes spent to produce it.

export interface PhaseContext {
  stack: BenchStack;
  monitor: ProcessMonitor;
  db: pg.Pool;
  client: Client;
  scratchDir: string;
  receiver: BenchChild | undefined;
  receiverUrl: string | undefined;
  connections: number;
  drainTimeoutSeconds: number;
  stallSeconds: number;
  /** The processes to track besides the phase's own load generator. */
  tracked(): TrackedProcess[];
  log(message: string): void;
}

export interface PhaseSpec {
  name: string;
  eventsPerSecond: number;
  batchSize: number;
  durationSeconds: number;
  webhook: boolean;
  /** Fetch one batch workflow's history and report its size. */
  history?: boolean;
}

export interface WebhookResult {
  delivered: number;
  duplicates: number;
  /** Distinct events delivered ÷ (last arrival − first scheduled send). */
  deliveriesPerSecond: number;
  /** Median of per-second deliveries while the load ran (first and last 2 s left out). */
  medianDeliveriesPerSecondDuringLoad: number;
  /** Scheduled send → the receiver got it, ms. */
  latencyMs: ReceiverStats['latencyMs'];
  drainSeconds: number;
  perSecond: number[];
}

export interface PhaseResult {
  spec: PhaseSpec;
  projectId: string;
  loadAverageAtStart: number[];
  load: Omit<LoadPhaseResult, 'acceptedPerSecond'> & { acceptedPerSecondTimeline: number[] };
  /** Events accepted ÷ the phase's duration. */
  acceptedPerSecond: number;
  drain: DrainResult & { backlogDrainSeconds: number };
  stored: StoredStats | undefined;
  loss: LossCheck | undefined;
  webhook: WebhookResult | undefined;
  workflows: Record<string, number> | undefined;
  /** Postgres' WAL per stored event, checkpoints and autovacuum runs on `events` during the phase. */
  postgres: ReturnType<typeof postgresActivity>;
  /** With --pg-statements: the statements Postgres spent most time on during load and drain. */
  postgresStatements: StatementCost[] | undefined;
  /** Growth of Temporal's SQLite files (db + WAL) over the phase, when booted here. */
  temporalDbGrowthBytesPerEvent: number | undefined;
  history: BatchHistory | undefined;
  /**
   * CPU µs per stored event by role, load and drain together (the webhook phase includes delivering
   * it). `total` excludes the benchmark's own processes except the load generator.
   */
  cpuMicrosPerEvent: Record<string, number>;
  /**
   * The stored-events rate this phase's CPU cost per event allows if the stack had every core to itself
   * (no load generator, no other work): cores × 10⁶ ÷ the stack's µs per event.
   */
  cpuBoundEventsPerSecond: number | undefined;
  /** CPU and memory while the load ran, and while the backlog drained. */
  usageDuringLoad: UsageReport;
  usageDuringDrain: UsageReport;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function temporalDbBytes(stack: BenchStack): number | undefined {
  if (!stack.temporalDbFile) return undefined;
  return fileSize(stack.temporalDbFile) + fileSize(`${stack.temporalDbFile}-wal`);
}

async function receiverStats(receiver: BenchChild): Promise<ReceiverStats> {
  const answer = receiver.next<{ stats: ReceiverStats }>('stats', 10_000);
  receiver.send({ type: 'stats' });
  return (await answer).stats;
}

/** Workflows of a project by status, from visibility (ProjectId is set on every batch and delivery run). */
async function workflowStatuses(client: Client, projectId: string): Promise<Record<string, number> | undefined> {
  try {
    const counts: Record<string, number> = {};
    for (const status of ['Running', 'Completed', 'Failed', 'TimedOut', 'Terminated']) {
      counts[status] = (await client.workflow.count(`ProjectId = "${projectId}" AND ExecutionStatus = "${status}"`)).count;
    }
    return counts;
  } catch {
    return undefined;
  }
}

export async function runPhase(ctx: PhaseContext, spec: PhaseSpec): Promise<PhaseResult> {
  const { stack, monitor, db, log } = ctx;
  // Fresh statistics, as autovacuum keeps them on a long-running database. On a table that has never
  // been analyzed the planner serves dispatch's `id IN (…)` lookup from events_project_timestamp_idx
  // (every row of the project) instead of the primary key: ~50 ms instead of ~0.2 ms per batch of 500.
  await db.query('ANALYZE events');
  const project: BenchProject = await createBenchProject(stack.apiUrl, stack.rootKey, `bench ${spec.name}`);
  if (spec.webhook) {
    if (!ctx.receiver || !ctx.receiverUrl) throw new Error('the webhook phase needs the receiver');
    await createWebhook(stack.apiUrl, project.adminKey, ctx.receiverUrl);
    const reset = ctx.receiver.next('reset', 10_000);
    ctx.receiver.send({ type: 'reset' });
    await reset;
  }

  const idsFile = join(ctx.scratchDir, `${spec.name}.ids`);
  const config: LoadPhaseConfig = {
    name: spec.name,
    apiUrl: stack.apiUrl,
    key: project.writeKey,
    eventsPerSecond: spec.eventsPerSecond,
    batchSize: spec.batchSize,
    durationSeconds: spec.durationSeconds,
    connections: ctx.connections,
    idsFile,
    // 15 s worth of requests in flight means the API is hopelessly behind; stop rather than pile on.
    maxInFlight: Math.max(256, Math.ceil((15 * spec.eventsPerSecond) / spec.batchSize)),
    requestTimeoutMs: 60_000,
  };
  log(
    `phase ${spec.name}: ${spec.eventsPerSecond} events/s in batches of ${spec.batchSize} ` +
      `(${round(spec.eventsPerSecond / spec.batchSize, 1)} req/s) for ${spec.durationSeconds} s${spec.webhook ? ', webhook on' : ''}`,
  );
  const loadAverageAtStart = loadAverage();
  const dbBytesBefore = temporalDbBytes(stack);
  const countersBefore = await postgresCounters(db);
  if (stack.pgStatStatements) await resetStatementStats(db);
  const generator = forkChild('./load-generator.ts', [], join(ctx.scratchDir, `${spec.name}.generator.log`));
  monitor.track([...ctx.tracked(), { name: 'load-generator', pid: generator.pid }]);
  generator.onMessage((message) => {
    if (message.type === 'progress') {
      log(`  ${spec.name}: ${message.elapsedSeconds} s, ${message.eventsAccepted} accepted, ${message.inFlight} in flight, ${message.failures} failed`);
    }
  });
  const loadMark = monitor.mark();
  const done = generator.next<{ result: LoadPhaseResult }>('done', (spec.durationSeconds + 180) * 1000);
  generator.send({ type: 'run', config });
  const load = (await done).result;
  const usageDuringLoad = monitor.usageSince(loadMark);
  await generator.exited;
  monitor.track(ctx.tracked());
  if (load.aborted) log(`  ${spec.name}: ${load.aborted}`);

  const drainMark = monitor.mark();
  const drainStarted = Date.now();
  const receiver = ctx.receiver;
  const drain = await waitForStored(db, project.id, { events: load.eventsAccepted, batches: load.requestsAccepted }, {
    timeoutSeconds: ctx.drainTimeoutSeconds,
    stallSeconds: ctx.stallSeconds,
    log,
    extra: spec.webhook && receiver ? async () => (await receiverStats(receiver)).uniqueEvents >= load.eventsAccepted : undefined,
  });
  const usageDuringDrain = monitor.usageSince(drainMark);
  const countersAfter = await postgresCounters(db);
  const drainStored = drain.stored;
  const postgresStatements = stack.pgStatStatements ? await statementCosts(db, drainStored) : undefined;
  if (!drain.complete) log(`  ${spec.name}: drain incomplete (${drain.gaveUp}): ${drain.stored}/${drain.expected}`);

  const stored = load.eventsAccepted > 0 ? await storedStats(db, project.id, load.startedAtMs, load.finishedAtMs) : undefined;
  const loss = load.eventsAccepted > 0 ? await lossCheck(db, project.id, idsFile) : undefined;
  let webhook: WebhookResult | undefined;
  if (spec.webhook && receiver) {
    const stats = await receiverStats(receiver);
    const steady = stats.perSecond.slice(2, Math.max(3, spec.durationSeconds - 2)).sort((a, b) => a - b);
    webhook = {
      delivered: stats.uniqueEvents,
      duplicates: stats.duplicates,
      deliveriesPerSecond: stats.lastArrivalMs ? Math.round(stats.uniqueEvents / ((stats.lastArrivalMs - load.startedAtMs) / 1000)) : 0,
      medianDeliveriesPerSecondDuringLoad: steady[Math.floor(steady.length / 2)] ?? 0,
      latencyMs: stats.latencyMs,
      drainSeconds: stats.lastArrivalMs ? round(Math.max(0, stats.lastArrivalMs - load.finishedAtMs) / 1000, 1) : 0,
      perSecond: stats.perSecond,
    };
  }
  const dbBytesAfter = temporalDbBytes(stack);
  let history: BatchHistory | undefined;
  if (spec.history && load.sampleBatchId) {
    history = await batchHistory(ctx.client, ctx.db, load.sampleBatchId, Buffer.byteLength(batchBodyTemplate(spec.batchSize)(Date.now())));
  }
  const { acceptedPerSecond: timeline, ...loadRest } = load;
  const cpuMicrosPerEvent = cpuMicrosPer(stored?.stored ?? 0, usageDuringLoad, usageDuringDrain);
  const stackMicros = (cpuMicrosPerEvent.total ?? 0) - (cpuMicrosPerEvent['load-generator'] ?? 0);
  return {
    spec,
    projectId: project.id,
    loadAverageAtStart,
    load: { ...loadRest, acceptedPerSecondTimeline: timeline },
    acceptedPerSecond: Math.round(load.eventsAccepted / spec.durationSeconds),
    drain: {
      ...drain,
      // From the last response of the load to the last event stored.
      backlogDrainSeconds: stored ? round(Math.max(0, stored.lastStoredAtMs - load.finishedAtMs) / 1000, 1) : round((Date.now() - drainStarted) / 1000, 1),
    },
    stored,
    loss,
    webhook,
    workflows: await workflowStatuses(ctx.client, project.id),
    postgres: postgresActivity(countersBefore, countersAfter, stored?.stored ?? 0),
    postgresStatements,
    temporalDbGrowthBytesPerEvent:
      dbBytesBefore !== undefined && dbBytesAfter !== undefined && load.eventsAccepted > 0
        ? Math.round((dbBytesAfter - dbBytesBefore) / load.eventsAccepted)
        : undefined,
    history,
    cpuMicrosPerEvent,
    cpuBoundEventsPerSecond: stackMicros > 0 ? Math.round((usageDuringLoad.cores * 1e6) / stackMicros) : undefined,
    usageDuringLoad,
    usageDuringDrain,
  };
}

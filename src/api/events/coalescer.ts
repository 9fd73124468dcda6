import type { BatchInput } from '../../shared/batch.ts';

/**
 * Merges ingestion requests of one project that arrive within a short window into one batch workflow,
 * so a client sending many small requests costs Temporal one run per window instead of one per request
 * (a run has a fixed cost of about 24 ms of CPU here; see benchmarks/README.md).
 *
 * Durability does not change: every request is answered only after the merged run was durably started,
 * and a failed start fails every request in it (nothing was accepted; each client retries). Each
 * request stays a batch of its own inside the run (`BatchInput.parts`), with its own id and summary.
 */
export interface CoalescingLimits {
  /** How long the first request of a group waits for others; 0 disables coalescing. */
  windowMs: number;
  /** A group is started as soon as it holds this many events… */
  maxEvents: number;
  /** …or this many characters of request bodies (the run's input must stay under Temporal's blob limit). */
  maxBytes: number;
}

export type StartBatch = (input: BatchInput) => Promise<unknown>;

interface OpenGroup {
  parts: BatchInput[];
  events: number;
  bytes: number;
  timer: NodeJS.Timeout;
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
}

export interface Coalescer {
  /** Resolves once the run carrying this batch was durably started; rejects with the start's error. */
  submit(input: BatchInput, bytes: number): Promise<void>;
}

export function createCoalescer(limits: CoalescingLimits, start: StartBatch): Coalescer {
  const open = new Map<string, OpenGroup>();

  function flush(projectId: string, group: OpenGroup): void {
    clearTimeout(group.timer);
    if (open.get(projectId) === group) open.delete(projectId);
    start(mergeBatches(group.parts)).then(
      () => group.waiters.forEach(({ resolve }) => resolve()),
      (error: unknown) => group.waiters.forEach(({ reject }) => reject(error)),
    );
  }

  return {
    submit(input, bytes) {
      const { projectId } = input;
      let group = open.get(projectId);
      if (group && (group.events + input.events.length > limits.maxEvents || group.bytes + bytes > limits.maxBytes)) {
        flush(projectId, group);
        group = undefined;
      }
      if (!group) {
        const created: OpenGroup = { parts: [], events: 0, bytes: 0, waiters: [], timer: setTimeout(() => flush(projectId, created), limits.windowMs) };
        open.set(projectId, created);
        group = created;
      }
      group.parts.push(input);
      group.events += input.events.length;
      group.bytes += bytes;
      const started = new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
      if (group.events >= limits.maxEvents || group.bytes >= limits.maxBytes) flush(projectId, group);
      return started;
    },
  };
}

/** One run's input for several batches of one project: the first batch names the run. */
export function mergeBatches(batches: BatchInput[]): BatchInput {
  if (batches.length === 1) return batches[0];
  const [first] = batches;
  return {
    ...first,
    events: batches.flatMap((batch) => batch.events),
    parts: batches.map(({ batchId, receivedAt, sentAt, client, events }) => ({
      batchId,
      receivedAt,
      ...(sentAt === undefined ? {} : { sentAt }),
      client,
      eventCount: events.length,
    })),
  };
}

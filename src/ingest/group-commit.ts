import type { Knex } from 'knex';
import { insertRequests, type PendingRequest } from './queries.ts';

/**
 * Group commit for acceptance: requests that arrive while a commit is under way wait for the next one and
 * share its transaction, so one fsync acknowledges many requests. An idle API commits a lone request at
 * once (no timer on the path); under load the groups grow by themselves with the commit time.
 */
export interface GroupCommitter {
  /** Resolves once the request is durably committed (or was accepted before); rejects if the commit failed. */
  append(request: PendingRequest): Promise<void>;
  /** Waits for every queued request's commit. */
  drain(): Promise<void>;
}

export interface GroupCommitLimits {
  /** Commits in flight at once: more than one keeps Postgres busy while a commit waits on fsync. */
  writers: number;
  /** Events in one commit (bounded so one statement stays a few MiB). */
  maxEvents: number;
}

interface Waiting {
  request: PendingRequest;
  resolve(): void;
  reject(error: unknown): void;
}

export function createGroupCommitter(db: Knex, limits: GroupCommitLimits, onCommitted?: () => void): GroupCommitter {
  const queue: Waiting[] = [];
  let writing = 0;
  let idle: Array<() => void> = [];

  function takeGroup(): Waiting[] {
    let events = 0;
    let count = 0;
    while (count < queue.length && (count === 0 || events + queue[count].request.eventCount <= limits.maxEvents)) {
      events += queue[count].request.eventCount;
      count += 1;
    }
    return queue.splice(0, count);
  }

  function pump(): void {
    while (writing < limits.writers && queue.length > 0) {
      const group = takeGroup();
      writing += 1;
      insertRequests(db, group.map((waiting) => waiting.request)).then(
        () => {
          for (const waiting of group) waiting.resolve();
          onCommitted?.();
        },
        (error: unknown) => {
          for (const waiting of group) waiting.reject(error);
        },
      ).finally(() => {
        writing -= 1;
        pump();
        if (writing === 0 && queue.length === 0) {
          for (const wake of idle) wake();
          idle = [];
        }
      });
    }
  }

  return {
    append(request) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        pump();
      });
    },
    drain() {
      if (writing === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}

import { createHash } from 'node:crypto';

/**
 * A UUID (version 8, "custom") from a SHA-256 of `name`. Used where an id must be the same every time a
 * request is retried: the batch id behind an Idempotency-Key, and the ids of its events sent without one.
 */
export function deterministicUuid(name: string): string {
  const bytes = createHash('sha256').update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Scoped by project: two projects using the same Idempotency-Key get different batches. */
export function idempotentBatchId(projectId: string, idempotencyKey: string): string {
  return deterministicUuid(`batch\n${projectId}\n${idempotencyKey}`);
}

export function derivedEventId(batchId: string, index: number): string {
  return deterministicUuid(`event\n${batchId}\n${index}`);
}

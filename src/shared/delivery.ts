// Types shared by the delivery activities, the per-delivery workflow and the dead-letter API.
// Workflow code imports this file, so it must stay free of runtime dependencies.

export type DeliveryChannel = 'webhook' | 'email' | 'in_app';

/** Where a delivery stands; mirrored in the `deliveries` table. */
export type DeliveryStatus = 'retrying' | 'dead_lettered' | 'delivered' | 'discarded' | 'expired';

/** How one attempt ended. `gone` is a 410: the endpoint asked never to be called again. */
export type AttemptOutcome = 'delivered' | 'retryable' | 'permanent' | 'gone';

export interface AttemptReport {
  attempt: number;
  outcome: AttemptOutcome;
  statusCode?: number;
  durationMs: number;
  responseExcerpt?: string;
  error?: string;
  retryAfterMs?: number;
}

/** What a channel reports of one attempt; the caller numbers it. */
export type AttemptResult = Omit<AttemptReport, 'attempt'>;

/** Identifies one delivery: one event to one target. Its workflow id and webhook-id derive from it. */
export interface DeliveryRef {
  projectId: string;
  channel: DeliveryChannel;
  targetId: string;
  eventId: string;
  eventType: string;
  deliveryId: string;
}

export interface DeliveryWorkflowInput extends DeliveryRef {
  /** Seconds to wait before each further attempt; its length is the number of attempts left. */
  retrySchedule: number[];
  /** The attempt that failed inline in the batch's dispatch. */
  firstAttempt: AttemptReport;
  /** Seconds a dead letter stays parked before it expires. */
  retentionSeconds: number;
}

export interface ReplayRequest {
  /** Deliver to this URL instead of the endpoint's (webhooks only). */
  url?: string;
  retry_schedule?: number[];
}

export type DeliveryFinalStatus = 'delivered' | 'discarded' | 'expired';

export interface DeliveryWorkflowResult {
  status: DeliveryFinalStatus;
  attempts: number;
  replays: number;
}

export interface DispatchInput {
  projectId: string;
  batchId: string;
  eventIds: string[];
  /** The rows' ctids, aligned with eventIds (see PersistResult.storedRowRefs); absent in older runs. */
  rowRefs?: string[];
}

export interface DispatchResult {
  targets: number;
  delivered: number;
  /** Failures handed to their own durable workflow (retrying or parked). */
  handedOff: number;
}

export function deliveryWorkflowId(ref: Pick<DeliveryRef, 'channel' | 'targetId' | 'eventId'>): string {
  return `delivery:${ref.channel}:${ref.targetId}:${ref.eventId}`;
}

/** The failure type a delivery attempt throws when retrying cannot help (4xx, 410, SSRF, missing target). */
export const PERMANENT_FAILURE = 'PermanentDeliveryFailure';

/** One line saying why an attempt failed, e.g. `HTTP 503: upstream down` or `connect ECONNREFUSED`. */
export function describeAttempt(report: Pick<AttemptReport, 'statusCode' | 'error' | 'outcome'>): string {
  const status = report.statusCode ? `HTTP ${report.statusCode}` : undefined;
  if (report.error && status && !report.error.includes(String(report.statusCode))) return `${status}: ${report.error}`;
  return report.error ?? status ?? report.outcome;
}

import type { Knex } from 'knex';
import type { EventFlowConfig } from '../../config.ts';
import { assertDeliverableUrl, UnsafeUrlError } from '../../deliveries/channels/webhook/ssrf.ts';
import { countDeadLetters, deadLetterWorkflowIds, findDelivery, markReplayed, type DeadLetterFilter } from '../../deliveries/records.ts';
import type { DeliveryRow } from '../../deliveries/types.ts';
import type { ReplayRequest } from '../../shared/delivery.ts';
import { discardSignal, replaySignal } from '../../../workflows/delivery.ts';
import { ApiError, invalidBody, notFound } from '../errors.ts';
import { TIME_PARAM } from '../pagination.ts';
import { textParam } from '../params.ts';
import { callTemporal, type TemporalClientRef } from '../temporal-access.ts';
import { isStorableInstant } from '../validation.ts';

// Acting on dead letters — parked delivery workflows — the way an operator would from the Web UI or
// CLI: by signalling the run. For REST (src/api/routes/dead-letters.ts) and GraphQL alike.

// One bulk replay signals at most this many runs; the answer says how many matched, so a caller
// repeats until nothing is left instead of one request fanning out without bound.
export const BULK_REPLAY_LIMIT = 1_000;

const RETRY_SCHEDULE = { type: 'array', items: { type: 'integer', minimum: 0, maximum: 86_400 }, minItems: 1, maxItems: 20 };
export const FILTER_FIELDS = {
  endpoint_id: { type: 'string', format: 'uuid' },
  event_type: { type: 'string', minLength: 1, maxLength: 128 },
  from: TIME_PARAM,
  to: TIME_PARAM,
};
export const REPLAY_DEAD_LETTER = {
  type: 'object',
  additionalProperties: false,
  properties: { url: { type: 'string', minLength: 1, maxLength: 2048 }, retry_schedule: RETRY_SCHEDULE },
};
export const DISCARD_DEAD_LETTER = { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 1000 } } };
export const BULK_REPLAY = {
  type: 'object',
  additionalProperties: false,
  properties: { ...FILTER_FIELDS, dry_run: { type: 'boolean' }, retry_schedule: RETRY_SCHEDULE },
};

export interface DeadLetterDeps {
  db: Knex;
  temporal: TemporalClientRef;
  config: Pick<EventFlowConfig, 'webhooks'>;
}

export interface FilterInput {
  endpoint_id?: string;
  event_type?: string;
  from?: string;
  to?: string;
}

export function toFilter(input: FilterInput): DeadLetterFilter {
  // Body bounds are not checked by validateQuery, so the same storable-instant rule applies here.
  for (const field of ['from', 'to'] as const) {
    const value = input[field];
    if (value !== undefined && !isStorableInstant(value)) throw invalidBody([{ field, message: 'must be an ISO-8601 date-time with a time zone' }]);
  }
  return {
    endpointId: input.endpoint_id?.toLowerCase(),
    eventType: input.event_type,
    from: input.from && new Date(input.from).toISOString(),
    to: input.to && new Date(input.to).toISOString(),
  };
}

export async function findDeadLetter(db: Knex, projectId: string, id: string | undefined): Promise<DeliveryRow> {
  const row = await findDelivery(db, projectId, textParam(id, 'dead letter'));
  if (!row) throw notFound('dead letter');
  return row;
}

async function parked(db: Knex, projectId: string, id: string | undefined): Promise<DeliveryRow> {
  const row = await findDeadLetter(db, projectId, id);
  if (row.status !== 'dead_lettered') throw new ApiError(409, 'not_dead_lettered', `this delivery is ${row.status}, not dead-lettered`);
  return row;
}

async function checkReplayUrl(request: ReplayRequest, row: DeliveryRow, config: DeadLetterDeps['config']): Promise<void> {
  if (request.url === undefined) return;
  if (row.channel !== 'webhook') throw invalidBody([{ field: 'url', message: 'applies to webhook deliveries only' }]);
  try {
    await assertDeliverableUrl(request.url, config.webhooks.allowedPrivateTargets);
  } catch (error) {
    if (error instanceof UnsafeUrlError) throw new ApiError(400, 'unsafe_url', error.message, [{ field: 'url', message: error.message }]);
    throw error;
  }
}

export async function replayDeadLetter({ db, temporal, config }: DeadLetterDeps, projectId: string, id: string | undefined, request: ReplayRequest) {
  const row = await parked(db, projectId, id);
  await checkReplayUrl(request, row, config);
  await callTemporal(temporal, (client) => client.workflow.getHandle(row.workflow_id).signal(replaySignal, request));
  await markReplayed(db, projectId, row.delivery_id);
  return { id: row.delivery_id, status: 'replaying' as const, workflow_id: row.workflow_id };
}

export async function discardDeadLetter({ db, temporal }: DeadLetterDeps, projectId: string, id: string | undefined, request: { reason?: string }) {
  const row = await parked(db, projectId, id);
  await callTemporal(temporal, (client) => client.workflow.getHandle(row.workflow_id).signal(discardSignal, request));
  return { id: row.delivery_id, status: 'discarding' as const, workflow_id: row.workflow_id };
}

/** Replays every dead letter matching the filter, up to BULK_REPLAY_LIMIT per call; a dry run only counts. */
export async function replayDeadLetters(
  { db, temporal }: DeadLetterDeps,
  projectId: string,
  input: FilterInput & { dry_run?: boolean; retry_schedule?: number[] },
) {
  const filter = toFilter(input);
  const matched = await countDeadLetters(db, projectId, filter);
  if (input.dry_run) return { dry_run: true, matched, replayed: 0, remaining: matched };
  const targets = await deadLetterWorkflowIds(db, projectId, filter, BULK_REPLAY_LIMIT);
  const request: ReplayRequest = input.retry_schedule ? { retry_schedule: input.retry_schedule } : {};
  let replayed = 0;
  for (const { workflow_id: workflowId, delivery_id: deliveryId } of targets) {
    await callTemporal(temporal, (client) => client.workflow.getHandle(workflowId).signal(replaySignal, request));
    await markReplayed(db, projectId, deliveryId);
    replayed += 1;
  }
  return { dry_run: false, matched, replayed, remaining: matched - replayed };
}

import { v7 as uuidv7 } from 'uuid';
import { pendingRequest } from '../../ingest/queries.ts';
import type { GroupCommitter } from '../../ingest/group-commit.ts';
import type { IngestSource } from '../../shared/batch.ts';
import { activeTraceparent, annotateBatch, inSpan } from '../../telemetry/spans.ts';
import { ApiError, databaseUnavailable } from '../errors.ts';
import type { Admission } from './admission.ts';
import { derivedEventId, idempotentBatchId } from './ids.ts';
import { createIngestParser } from './ingest.ts';

const MAX_IDEMPOTENCY_KEY_LENGTH = 128;

export interface IngestRequest {
  projectId: string;
  /** The parsed JSON body: an event, an array of events or `{ batch, sent_at? }`. */
  body: unknown;
  idempotencyKey?: string | string[];
  clientIp?: string;
  userAgent?: string;
  /** Set when the request came through another API than EventFlow's own; recorded on its events. */
  source?: IngestSource;
}

export interface Accepted {
  batch_id: string;
  accepted: number;
  ids: string[];
}

export type Acceptor = (request: IngestRequest) => Promise<Accepted>;

/**
 * The one ingestion path, for `POST /v1/events`, GraphQL's `trackEvent` and Segment's API alike: parse
 * and check the events, assign ids (derived from the Idempotency-Key when there is one), and answer only
 * once they are committed to Postgres — from then on they are processed exactly once even if this
 * process dies.
 */
export function createAcceptor({ admission, acceptRequests, taskQueue }: { admission: Admission; acceptRequests: GroupCommitter; taskQueue: string }): Acceptor {
  const parseIngestBody = createIngestParser();

  async function accept({ projectId, body, idempotencyKey, clientIp, userAgent, source }: IngestRequest): Promise<Accepted> {
    const receivedAt = new Date();
    if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
      throw new ApiError(400, 'invalid_idempotency_key', `Idempotency-Key must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} characters`, [
        { field: 'Idempotency-Key', message: `must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} characters` },
      ]);
    }
    // With an Idempotency-Key a retried request maps to the same batch, workflow and event ids.
    const batchId = idempotencyKey === undefined ? uuidv7() : idempotentBatchId(projectId, idempotencyKey);
    const { events, sentAt } = parseIngestBody(body, {
      receivedAtMs: receivedAt.getTime(),
      assignId: idempotencyKey === undefined ? () => uuidv7() : (index) => derivedEventId(batchId, index),
    });
    const ids = events.map((event) => event.id);
    annotateBatch(batchId, ids);

    const request = pendingRequest({
      batchId,
      projectId,
      taskQueue,
      receivedAt: receivedAt.toISOString(),
      ...(sentAt === undefined ? {} : { sentAt }),
      client: { ...(clientIp ? { ip: clientIp } : {}), ...(userAgent ? { userAgent } : {}), ...(source ? { source } : {}) },
      events,
      traceparent: activeTraceparent(),
    });
    await admission.admit(events.length, () =>
      acceptRequests.append(request).catch((error: unknown) => {
        throw databaseUnavailable(error);
      }),
    );
    return { batch_id: batchId, accepted: events.length, ids };
  }

  return (request) => inSpan('eventflow.ingest', { 'eventflow.project_id': request.projectId }, () => accept(request));
}

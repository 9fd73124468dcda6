import { Router } from '@koa/router';
import { clientIp } from '../client-ip.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import { findEvent, listEvents, listRejectedEvents, type EventRow } from '../../events/queries.ts';
import { eventTimeline, type EventTimeline } from '../../events/timeline.ts';
import { readWaterfall, TraceStoreUnavailable } from '../../telemetry/trace-query.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { measureIngest } from '../middleware/measure-ingest.ts';
import { validateQuery, type Valid } from '../middleware/validate.ts';
import { decodeCursor, page, PAGE_PARAMS, pageSize, TIME_PARAM } from '../pagination.ts';
import type { ApiState } from '../state.ts';

const CURSOR_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

const EVENTS_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'string', maxLength: 128 },
    user_id: { type: 'string', maxLength: 256 },
    from: TIME_PARAM,
    to: TIME_PARAM,
    ...PAGE_PARAMS,
  },
} as const;

const REJECTED_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'string', maxLength: 128 },
    from: TIME_PARAM,
    to: TIME_PARAM,
    ...PAGE_PARAMS,
  },
} as const;

type EventsQuery = { type?: string; user_id?: string; from?: string; to?: string; limit?: string; cursor?: string };
type RejectedQuery = Omit<EventsQuery, 'user_id'>;

export function eventsRouter({ db, accept, config }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/v1/events' });
  // The answer is sent only once the request's events are committed to Postgres (src/api/events/accept.ts).
  router.post('/', requires('events:ingest'), measureIngest, jsonBody, async (ctx) => {
    ctx.body = await accept({
      projectId: ctx.state.auth.projectId,
      body: ctx.state.body,
      idempotencyKey: ctx.headers['idempotency-key'],
      clientIp: clientIp(ctx.ip),
      userAgent: ctx.get('User-Agent') || undefined,
    });
    ctx.status = 202;
  });

  router.get<Valid<never, EventsQuery>>('/', requires('project:read'), validateQuery<EventsQuery>(EVENTS_QUERY), async (ctx) => {
    const query = ctx.state.query;
    const limit = pageSize(query.limit);
    const rows = await listEvents(db, ctx.state.auth.projectId, {
      type: query.type,
      userId: query.user_id,
      from: query.from,
      to: query.to,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor, 2, ([timestamp]) => CURSOR_TIMESTAMP.test(timestamp)),
      limit,
    });
    const { data, next_cursor } = page(rows, limit, (row) => [row.cursor_timestamp, row.id]);
    ctx.body = { data: data.map(toEventJson), next_cursor };
  });

  // Registered before '/:id', which would otherwise take "rejected" for an event id.
  router.get<Valid<never, RejectedQuery>>('/rejected', requires('project:read'), validateQuery<RejectedQuery>(REJECTED_QUERY), async (ctx) => {
    const query = ctx.state.query;
    const limit = pageSize(query.limit);
    const rows = await listRejectedEvents(db, ctx.state.auth.projectId, {
      type: query.type,
      from: query.from,
      to: query.to,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor, 3, ([rejectedAt]) => CURSOR_TIMESTAMP.test(rejectedAt)),
      limit,
    });
    const { data, next_cursor } = page(rows, limit, (row) => [row.cursor_timestamp, row.batch_id, row.id]);
    ctx.body = { data: data.map(({ cursor_timestamp, ...rejected }) => rejected), next_cursor };
  });

  router.get('/:id', requires('project:read'), async (ctx) => {
    const event = await findEvent(db, ctx.state.auth.projectId, ctx.params.id);
    if (!event) throw notFound('event');
    ctx.body = toEventJson(event);
  });

  // Stored or rejected: a rejected event has a timeline too (received → rejected, with the reasons).
  router.get('/:id/timeline', requires('project:read'), async (ctx) => {
    const timeline = await eventTimeline(db, ctx.state.auth.projectId, ctx.params.id);
    if (!timeline) throw notFound('event');
    ctx.body = {
      ...timeline,
      event: timeline.event ? toEventJson(timeline.event) : null,
      links: temporalLinks(config.dashboard.temporalUiUrl, config.temporal.namespace, timeline),
    };
  });

  // The spans of every trace the event's work was recorded in, read from Jaeger by the API.
  router.get('/:id/trace', requires('project:read'), async (ctx) => {
    const timeline = await eventTimeline(db, ctx.state.auth.projectId, ctx.params.id);
    if (!timeline) throw notFound('event');
    if (!config.jaegerQueryUrl) throw new ApiError(503, 'tracing_unavailable', 'no trace store is configured (JAEGER_QUERY_URL)');
    if (timeline.trace_ids.length === 0) throw new ApiError(404, 'trace_not_found', 'the event was accepted without a trace (tracing was off)');
    try {
      ctx.body = await readWaterfall(config.jaegerQueryUrl, timeline.trace_ids);
    } catch (error) {
      if (!(error instanceof TraceStoreUnavailable)) throw error;
      throw Object.assign(new ApiError(503, 'tracing_unavailable', error.message, [], { 'Retry-After': '5' }), { cause: error });
    }
  });

  return router;
}

function toEventJson(row: EventRow) {
  return {
    id: row.id,
    type: row.type,
    user_id: row.user_id,
    anonymous_id: row.anonymous_id,
    timestamp: row.timestamp,
    original_timestamp: row.original_timestamp,
    sent_at: row.sent_at,
    received_at: row.received_at,
    properties: row.properties,
    context: row.context,
    enrichment: row.enrichment,
    batch_id: row.batch_id,
  };
}

/** Deep links into the Temporal Web UI for the runs that handled the event (none without TEMPORAL_UI_URL). */
function temporalLinks(uiUrl: string | undefined, namespace: string, timeline: EventTimeline) {
  if (!uiUrl) return { batch: null, deliveries: {} };
  const run = (workflowId: string) => `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return {
    batch: timeline.batch ? run(timeline.batch.workflow_id) : null,
    deliveries: Object.fromEntries(timeline.deliveries.map((delivery) => [delivery.delivery_id, run(delivery.workflow_id)])),
  };
}

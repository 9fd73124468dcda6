import { Router } from '@koa/router';
import type { Middleware } from 'koa';
import { listNotifications, markRead, notificationsAfter, unreadCount, type Inbox } from '../../deliveries/notifications.ts';
import type { RouteDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { requires } from '../middleware/auth.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { validateBody, validateQuery, type Valid } from '../middleware/validate.ts';
import { decodeCursor, page, PAGE_PARAMS, pageSize } from '../pagination.ts';
import { isUuid } from '../params.ts';
import type { ApiState } from '../state.ts';

// The signed-in user's in-app notifications in the request's project: the inbox, marking read, and a
// live stream (Server-Sent Events) fed by Postgres LISTEN/NOTIFY, so it works across API processes.

const STREAM_BATCH = 100;
const HEARTBEAT_MS = 15_000;
const LIST_QUERY = { type: 'object', additionalProperties: false, properties: { ...PAGE_PARAMS } };
const READ = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    ids: { type: 'array', minItems: 1, maxItems: 1_000, uniqueItems: true, items: { type: 'string', format: 'uuid' } },
    all: { const: true },
  },
};
type ReadBody = { ids?: string[]; all?: true };

/** Notifications belong to people: keys (which have no inbox) are refused. */
const signedIn: Middleware<ApiState & { inbox: Inbox }> = async (ctx, next) => {
  const { userId, projectId } = ctx.state.auth;
  if (!userId) throw new ApiError(403, 'forbidden', 'notifications belong to users: call with an access token, not an API key');
  ctx.state.inbox = { projectId, userId };
  await next();
};

export function notificationsRouter({ db, liveFeed, log }: RouteDeps): Router<ApiState> {
  const router = new Router<ApiState & { inbox: Inbox }>({ prefix: '/v1/notifications' });
  router.use(requires('project:read'), signedIn);

  router.get<Valid<never, { limit?: string; cursor?: string }>>('/', validateQuery<{ limit?: string; cursor?: string }>(LIST_QUERY), async (ctx) => {
    const limit = pageSize(ctx.state.query.limit);
    const cursor = ctx.state.query.cursor;
    const after = cursor === undefined ? undefined : decodeCursor(cursor, 2, ([state, id]) => (state === 'read' || state === 'unread') && isUuid(id));
    const rows = await listNotifications(db, ctx.state.inbox, { limit, after: after && { read: after[0] === 'read', id: after[1] } });
    const { data, next_cursor } = page(rows, limit, (row) => [row.read_at ? 'read' : 'unread', row.id]);
    ctx.body = { data, next_cursor, unread_count: await unreadCount(db, ctx.state.inbox) };
  });

  router.get('/unread-count', async (ctx) => {
    ctx.body = { unread_count: await unreadCount(db, ctx.state.inbox) };
  });

  router.post<Valid<ReadBody>>('/read', jsonBody, validateBody<ReadBody>(READ), async (ctx) => {
    const { ids, all } = ctx.state.input;
    const marked = await markRead(db, ctx.state.inbox, all ? 'all' : ids!.map((id) => id.toLowerCase()));
    ctx.body = { marked, unread_count: await unreadCount(db, ctx.state.inbox) };
  });

  /**
   * `text/event-stream`: first what is unread (or, after a reconnect with Last-Event-ID, everything
   * since that id), then each new notification as it is committed. Event ids are notification ids.
   */
  router.get('/stream', async (ctx) => {
    const inbox = ctx.state.inbox;
    const resumeFrom = ctx.get('Last-Event-ID') || undefined;
    if (resumeFrom !== undefined && !isUuid(resumeFrom)) {
      throw new ApiError(400, 'invalid_header', 'Last-Event-ID must be an id this stream sent', [{ field: 'Last-Event-ID', message: 'is not a notification id' }]);
    }
    let lastId = resumeFrom?.toLowerCase();
    let closed = false;
    let sending: Promise<void> | undefined;
    let pokedWhileSending = false;

    ctx.respond = false;
    const res = ctx.res;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');

    async function send(): Promise<void> {
      do {
        pokedWhileSending = false;
        const rows = await notificationsAfter(db, inbox, lastId, STREAM_BATCH);
        for (const row of rows) {
          if (closed) return;
          res.write(`id: ${row.id}\nevent: notification\ndata: ${JSON.stringify(row)}\n\n`);
          lastId = row.id;
        }
        if (rows.length === STREAM_BATCH) pokedWhileSending = true;
      } while (pokedWhileSending && !closed);
    }
    const poke = () => {
      if (closed) return;
      if (sending) {
        pokedWhileSending = true;
        return;
      }
      sending = send()
        .catch((error: unknown) => log.warn({ err: error }, 'notification stream could not read; it retries at the next notification'))
        .finally(() => (sending = undefined));
    };
    const end = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    };
    const unsubscribe = liveFeed.subscribe(inbox.projectId, inbox.userId, { poke, close: end });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    ctx.req.on('close', end);
    poke();
  });

  return router as unknown as Router<ApiState>;
}

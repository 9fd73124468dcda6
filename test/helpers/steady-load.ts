import type { Knex } from 'knex';

// A steady, bounded ingestion load for fault tests: one POST /v1/events every 1/ratePerSecond seconds,
// round-robin over the given API base URLs, each event with a client-chosen id (`${idPrefix}-${n}`) so a
// test can check exactly which ids were acknowledged and which were stored. Requests are not awaited
// before the next is sent (a stalled server must not slow the offered load), but at most `maxInFlight`
// are open at once: a tick that finds them all busy is skipped and counted, so the load stays bounded.

export interface SteadyLoadOptions {
  /** API base URLs (http://127.0.0.1:port), used round-robin. */
  urls: string[];
  /** An admin or write key of the project the events go to. */
  key: string;
  ratePerSecond: number;
  eventsPerRequest: number;
  eventType: string;
  idPrefix: string;
  /** A request still unanswered after this long is aborted and its ids count as uncertain. Default 30 s. */
  requestTimeoutMs?: number;
  /** Default 200. */
  maxInFlight?: number;
}

export interface RefusedRequest {
  url: string;
  status: number;
  code: string | undefined;
  retryAfter: string | null;
  at: number;
}

export interface RequestOutcome {
  url: string;
  /** Date.now() when the request was sent and when its outcome was known. */
  sentAt: number;
  at: number;
  kind: 'accepted' | 'refused' | 'connection_failed' | 'uncertain' | 'server_error';
  status?: number;
}

export interface LoadReport {
  /** Ids of events whose request got a 202. */
  accepted: string[];
  /** Answers that accepted nothing: 4xx, and 503 with Retry-After (the documented "retry later"). */
  refused: RefusedRequest[];
  /** Requests that never reached a server (connection refused): nothing can have been accepted. */
  failedConnections: number;
  /** Ids of requests whose outcome is unknown (the connection died or timed out after sending). */
  uncertain: string[];
  /** Accepted (202) requests per base URL. */
  byUrl: Record<string, number>;
  /** Any 5xx other than a 503 with Retry-After, with its body. */
  fiveHundreds: Array<{ url: string; status: number; body: string }>;
  /** Requests sent, and ticks skipped because maxInFlight requests were open. */
  sent: number;
  skipped: number;
  /** Answers that break the contract in other ways (a 202 not naming the ids sent). */
  anomalies: string[];
  /** Every request's outcome in completion order, for timelines (e.g. "API 2 kept answering 202"). */
  outcomes: RequestOutcome[];
}

export interface SteadyLoad {
  /** Stops sending, waits for the open requests to settle, and reports. */
  stop(): Promise<LoadReport>;
  /** The report so far (open requests not included). */
  snapshot(): LoadReport;
}

const CONNECTION_NOT_MADE = new Set(['ECONNREFUSED', 'EADDRNOTAVAIL', 'EHOSTUNREACH', 'ENETUNREACH']);

export function startSteadyLoad(options: SteadyLoadOptions): SteadyLoad {
  const { urls, key, ratePerSecond, eventsPerRequest, eventType, idPrefix } = options;
  if (urls.length === 0) throw new Error('startSteadyLoad needs at least one URL');
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const maxInFlight = options.maxInFlight ?? 200;
  const report: LoadReport = {
    accepted: [],
    refused: [],
    failedConnections: 0,
    uncertain: [],
    byUrl: Object.fromEntries(urls.map((url) => [url, 0])),
    fiveHundreds: [],
    sent: 0,
    skipped: 0,
    outcomes: [],
    anomalies: [],
  };
  const open = new Set<Promise<void>>();
  let nextEvent = 0;
  let nextUrl = 0;

  const send = async (url: string, ids: string[]): Promise<void> => {
    const sentAt = Date.now();
    const outcome = (kind: RequestOutcome['kind'], status?: number) => report.outcomes.push({ url, sentAt, at: Date.now(), kind, status });
    const body = JSON.stringify({ batch: ids.map((id, index) => ({ id, type: eventType, properties: { n: index } })), sent_at: new Date(sentAt).toISOString() });
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      text = await response.text();
    } catch (error) {
      if (CONNECTION_NOT_MADE.has(errorCode(error) ?? '')) {
        report.failedConnections += 1;
        outcome('connection_failed');
      } else {
        report.uncertain.push(...ids);
        outcome('uncertain');
      }
      return;
    }
    const retryAfter = response.headers.get('retry-after');
    if (response.status === 202) {
      // The API echoes the ids it accepted; anything else is a broken contract a test should see.
      if (JSON.stringify(answerIds(text)) !== JSON.stringify(ids)) report.anomalies.push(`202 from ${url} with unexpected ids: ${text.slice(0, 300)}`);
      report.accepted.push(...ids);
      report.byUrl[url] = (report.byUrl[url] ?? 0) + 1;
      outcome('accepted', 202);
    } else if (response.status >= 500 && !(response.status === 503 && retryAfter)) {
      report.fiveHundreds.push({ url, status: response.status, body: text.slice(0, 2_000) });
      outcome('server_error', response.status);
    } else {
      report.refused.push({ url, status: response.status, code: errorCodeOf(text), retryAfter, at: Date.now() });
      outcome('refused', response.status);
    }
  };

  const sendOne = () => {
    if (open.size >= maxInFlight) {
      report.skipped += 1;
      return;
    }
    const url = urls[nextUrl++ % urls.length]!;
    const ids = Array.from({ length: eventsPerRequest }, () => `${idPrefix}-${nextEvent++}`);
    report.sent += 1;
    const request = send(url, ids).finally(() => open.delete(request));
    open.add(request);
  };
  // Paced by the clock, not by timer ticks: a busy event loop fires timers late and merges them, so each
  // tick sends what is due by now. The offered rate stays the asked one on a loaded machine.
  const startedAt = performance.now();
  const timer = setInterval(
    () => {
      const due = Math.floor(((performance.now() - startedAt) * ratePerSecond) / 1_000);
      while (report.sent + report.skipped < due) sendOne();
    },
    Math.min(1_000 / ratePerSecond, 20),
  );

  const snapshot = (): LoadReport => ({
    ...report,
    accepted: [...report.accepted],
    refused: [...report.refused],
    uncertain: [...report.uncertain],
    byUrl: { ...report.byUrl },
    fiveHundreds: [...report.fiveHundreds],
    outcomes: [...report.outcomes],
    anomalies: [...report.anomalies],
  });
  let stopping: Promise<LoadReport> | undefined;
  return {
    snapshot,
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        while (open.size > 0) await Promise.allSettled([...open]);
        return snapshot();
      })();
      return stopping;
    },
  };
}

/** The system error code behind a failed fetch (undici wraps it in `cause`, sometimes twice). */
function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth += 1) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function answerIds(body: string): unknown {
  try {
    return (JSON.parse(body) as { ids?: unknown }).ids;
  } catch {
    return undefined;
  }
}

function errorCodeOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** Counts how many of `ids` are stored, either in a project's `events` or by a query of the caller's. */
export type StoredCounter = { db: Knex; projectId: string } | ((ids: string[]) => Promise<number>);

/** How many times each id is stored in the project (ids stored zero times are absent). */
export async function storedCounts(db: Knex, projectId: string, ids: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  // Chunked: one array parameter per query, small enough for any plan.
  for (let start = 0; start < ids.length; start += 10_000) {
    const rows = await db('events')
      .where('project_id', projectId)
      .whereRaw('id = ANY(?::text[])', [ids.slice(start, start + 10_000)])
      .groupBy('id')
      .select('id', db.raw('count(*)::int AS n'));
    for (const row of rows as Array<{ id: string; n: number }>) counts.set(row.id, row.n);
  }
  return counts;
}

/**
 * Polls until every one of `ids` is stored and returns how long that took (ms from the call). Throws
 * with the number still missing when `timeoutMs` passes.
 */
export async function waitUntilStored(counter: StoredCounter, ids: string[], timeoutMs: number): Promise<number> {
  const count =
    typeof counter === 'function' ? counter : async (wanted: string[]) => (await storedCounts(counter.db, counter.projectId, wanted)).size;
  const startedAt = Date.now();
  const unique = [...new Set(ids)];
  let stored = 0;
  for (;;) {
    try {
      stored = await count(unique);
      if (stored >= unique.length) return Date.now() - startedAt;
    } catch {
      // The database may itself be recovering: keep polling until the deadline.
    }
    if (Date.now() - startedAt > timeoutMs) {
      throw new Error(`${unique.length - stored} of ${unique.length} ids not stored within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface DeliveryTally {
  /** Accepted ids the receiver got, after deduplication by `webhook-id`. */
  delivered: number;
  /** Accepted ids parked as dead letters instead. */
  deadLettered: number;
  /** Requests the receiver got more than once under one `webhook-id` (at-least-once redelivery). */
  redelivered: number;
  /** Ids delivered under more than one `webhook-id`: two deliveries of one event, which must not happen. */
  duplicated: string[];
  /** Deliveries of ids that were not among those expected. */
  unexpected: string[];
}

/**
 * Polls until every one of `ids` reached the receiver (deduplicated by `webhook-id`, as Standard Webhooks
 * receivers do) or is parked as a dead letter, and returns the tally and how long that took. `received`
 * are the receiver's recorded requests (bodies `{ type, timestamp, data: <event> }`).
 */
export async function waitUntilDelivered(
  received: ReadonlyArray<{ headers: Record<string, string | string[] | undefined>; body: string }>,
  source: { db: Knex; projectId: string },
  ids: string[],
  timeoutMs: number,
): Promise<DeliveryTally & { ms: number }> {
  const startedAt = Date.now();
  const wanted = new Set(ids);
  for (;;) {
    const webhookIdsByEvent = new Map<string, Set<string>>();
    let requests = 0;
    const seenWebhookIds = new Set<string>();
    for (const request of received) {
      const webhookId = String(request.headers['webhook-id'] ?? '');
      const eventId = (JSON.parse(request.body) as { data?: { id?: string } }).data?.id ?? '';
      requests += 1;
      seenWebhookIds.add(webhookId);
      let set = webhookIdsByEvent.get(eventId);
      if (!set) webhookIdsByEvent.set(eventId, (set = new Set()));
      set.add(webhookId);
    }
    let deadLetters = new Set<string>();
    try {
      const rows = await source.db('deliveries').where({ project_id: source.projectId, status: 'dead_lettered' }).select('event_id');
      deadLetters = new Set((rows as Array<{ event_id: string }>).map((row) => row.event_id));
    } catch {
      // The database may be recovering: count it as no dead letters yet.
    }
    const delivered = ids.filter((id) => webhookIdsByEvent.has(id)).length;
    const deadLettered = ids.filter((id) => !webhookIdsByEvent.has(id) && deadLetters.has(id)).length;
    const tally: DeliveryTally = {
      delivered,
      deadLettered,
      redelivered: requests - seenWebhookIds.size,
      duplicated: [...webhookIdsByEvent].filter(([, hooks]) => hooks.size > 1).map(([id]) => id),
      unexpected: [...webhookIdsByEvent.keys()].filter((id) => !wanted.has(id)),
    };
    const ms = Date.now() - startedAt;
    if (delivered + deadLettered >= wanted.size || ms > timeoutMs) return { ...tally, ms };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

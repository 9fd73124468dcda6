import { Agent, request } from 'undici';
import type { AttemptOutcome, AttemptResult } from '../../../shared/delivery.ts';
import { assertUrlShape, createGuardedLookup, UnsafeUrlError } from './ssrf.ts';

/**
 * What one attempt (webhook or email) came to; the caller decides what happens next: `retryable` is
 * retried on the schedule (`retryAfterMs` from a 429/503 `Retry-After` may stretch the wait),
 * `permanent` is dead-lettered at once, `gone` (HTTP 410) disables the endpoint.
 */

export interface WebhookRequest {
  url: string;
  /**
   * The signature headers, and the endpoint owner's custom headers if the caller merges them here (then
   * the signature headers must be spread last). Framing headers, `content-type` and `user-agent` are
   * always ours.
   */
  headers: Record<string, string>;
  /** The endpoint owner's headers kept apart: none of them can replace a `webhook-*` header. */
  customHeaders?: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowList: readonly string[];
}

export const USER_AGENT = 'EventFlow-Webhooks/0.1';
export const RESPONSE_EXCERPT_BYTES = 1024;
// Past this much response body the connection is dropped instead of drained: reading megabytes to keep
// a keep-alive socket costs more than opening a new one.
const MAX_DRAIN_BYTES = 64 * 1024;

// 4xx answers that say "not now" rather than "never": timeout, conflict, too early, rate limited.
const RETRYABLE_CLIENT_ERRORS = new Set([408, 409, 425, 429]);

/** Header names an endpoint owner may not set: framing headers, and the ones the signature relies on. */
export function isReservedHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    lower.startsWith('webhook-') ||
    ['content-type', 'content-length', 'user-agent', 'host', 'connection', 'keep-alive', 'transfer-encoding',
      'te', 'trailer', 'upgrade', 'expect', 'proxy-connection'].includes(lower)
  );
}

// One keep-alive Agent per process (per distinct allow-list, and there is one, from config). Sockets are
// pooled per origin; each new socket's address goes through the SSRF lookup, so a name that rebinds to
// a private address after the endpoint was saved is refused when dialled.
const agents = new Map<string, Agent>();

function agentFor(allowList: readonly string[]): Agent {
  const key = allowList.join(',');
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({
      connect: { lookup: createGuardedLookup(allowList) },
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
    });
    agents.set(key, agent);
  }
  return agent;
}

/** Closes the pooled connections (shutdown, tests). The next send opens new ones. */
export async function closeWebhookAgents(): Promise<void> {
  const closing = [...agents.values()].map((agent) => agent.close());
  agents.clear();
  await Promise.all(closing);
}

/** `Retry-After` as delay-seconds or an HTTP-date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function classify(statusCode: number): AttemptOutcome {
  if (statusCode >= 200 && statusCode < 300) return 'delivered';
  if (statusCode === 410) return 'gone';
  if (statusCode >= 400 && statusCode < 500 && !RETRYABLE_CLIENT_ERRORS.has(statusCode)) return 'permanent';
  return 'retryable'; // 1xx leftovers, 3xx (redirects are not followed), 408/409/425/429, 5xx
}

/** Postgres text cannot hold NUL, and a cut can split a UTF-8 sequence: both are cleaned here. */
function excerpt(bytes: Buffer): string {
  return bytes.toString('utf8').replace(/\u0000/g, '');
}

function describe(error: unknown): string {
  const err = error as { code?: string; message?: string; cause?: unknown };
  const code = err.code ?? (err.cause as { code?: string } | undefined)?.code;
  const message = err.message || String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** One POST, never redirected, never retried here: retries belong to the caller's schedule. */
export async function sendWebhook(input: WebhookRequest): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  try {
    assertUrlShape(input.url, input.allowList);
  } catch (error) {
    return { outcome: 'permanent', durationMs: elapsed(), error: `unsafe_url: ${(error as Error).message}` };
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.customHeaders ?? {})) {
    if (!isReservedHeaderName(name)) headers[name.toLowerCase()] = value;
  }
  for (const [name, value] of Object.entries(input.headers)) {
    const lower = name.toLowerCase();
    if (lower.startsWith('webhook-') || !isReservedHeaderName(lower)) headers[lower] = value;
  }
  headers['content-type'] = 'application/json';
  headers['user-agent'] = USER_AGENT;

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), input.timeoutMs);
  try {
    const response = await request(input.url, {
      method: 'POST',
      headers,
      body: input.body,
      dispatcher: agentFor(input.allowList),
      signal: controller.signal,
    });
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let seenBytes = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      if (keptBytes < RESPONSE_EXCERPT_BYTES) {
        const part = chunk.subarray(0, RESPONSE_EXCERPT_BYTES - keptBytes);
        kept.push(part);
        keptBytes += part.length;
      }
      seenBytes += chunk.length;
      if (seenBytes > MAX_DRAIN_BYTES) break; // leaving the loop destroys the body and its socket
    }
    const { statusCode } = response;
    const outcome = classify(statusCode);
    const result: AttemptResult = { outcome, statusCode, durationMs: elapsed() };
    if (keptBytes > 0) result.responseExcerpt = excerpt(Buffer.concat(kept, keptBytes));
    if (outcome !== 'delivered') {
      const location = statusCode >= 300 && statusCode < 400 ? response.headers.location : undefined;
      result.error = location ? `HTTP ${statusCode} redirect to ${String(location)} not followed` : `HTTP ${statusCode}`;
    }
    if (statusCode === 429 || statusCode === 503) {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
    }
    return result;
  } catch (error) {
    if (controller.signal.aborted) {
      return { outcome: 'retryable', durationMs: elapsed(), error: `timeout: no complete response within ${input.timeoutMs} ms` };
    }
    const refusal = error instanceof UnsafeUrlError ? error : (error as { cause?: unknown }).cause;
    if (refusal instanceof UnsafeUrlError) {
      // A name that no longer resolves may come back; one that resolves to a private address is refused.
      const outcome = refusal.reason === 'unresolvable' ? 'retryable' : 'permanent';
      return { outcome, durationMs: elapsed(), error: `unsafe_url: ${refusal.message}` };
    }
    return { outcome: 'retryable', durationMs: elapsed(), error: describe(error) };
  } finally {
    clearTimeout(timer);
  }
}

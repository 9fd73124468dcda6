import { UAParser } from 'ua-parser-js';
import type {
  BatchInput,
  ClientEnrichment,
  ClientInfo,
  EnrichmentResult,
  EventEnrichment,
  IngestEvent,
  ParsedUrl,
  Utm,
} from '../src/shared/batch.ts';
import { URL_PROPERTY } from '../src/shared/enrichment-view.ts';

const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'] as const;

export function parseClient({ ip, userAgent, source }: ClientInfo): ClientEnrichment {
  const client: ClientEnrichment = source ? { source } : {};
  if (ip) client.ip = ip;
  if (!userAgent) return client;
  const parsed = new UAParser(userAgent).getResult();
  client.user_agent = userAgent;
  if (parsed.browser.name) client.browser = [parsed.browser.name, parsed.browser.version].filter(Boolean).join(' ');
  if (parsed.os.name) client.os = [parsed.os.name, parsed.os.version].filter(Boolean).join(' ');
  // ua-parser leaves device.type empty for ordinary desktop browsers; bots have no OS either.
  client.device_type = parsed.device.type ?? (parsed.browser.name || parsed.os.name ? 'desktop' : 'unknown');
  return client;
}

export function parseUrl(value: unknown): ParsedUrl | undefined {
  if (typeof value !== 'string' || !/^https?:\/\//i.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const parsed: ParsedUrl = { host: url.host, path: url.pathname };
  const utm: NonNullable<ParsedUrl['utm']> = {};
  for (const key of UTM_KEYS) {
    const found = url.searchParams.get(`utm_${key}`);
    if (found !== null) utm[key] = found;
  }
  if (Object.keys(utm).length > 0) parsed.utm = utm;
  return parsed;
}

/**
 * The client an event speaks for. Segment's spec lets a message name its user's `context.ip` and
 * `context.userAgent` — a server-side SDK sends them on behalf of the browser it serves, whose address
 * the request itself does not carry — and these take precedence over what the request came with.
 */
export function eventClient(event: IngestEvent, request: ClientInfo): ClientInfo {
  const ip = stringAt(event.context, 'ip');
  const userAgent = stringAt(event.context, 'userAgent');
  if (ip === undefined && userAgent === undefined) return request;
  return { ...request, ...(ip === undefined ? {} : { ip }), ...(userAgent === undefined ? {} : { userAgent }) };
}

/**
 * Event time corrected for the client's clock skew, as Segment does: when the client says when it sent
 * the batch, the event happened (sent_at − timestamp) before the server received it.
 */
export function correctedTimestamp(event: IngestEvent, receivedAt: string, sentAt: string | undefined): string {
  if (!event.timestamp) return receivedAt;
  if (!sentAt) return new Date(event.timestamp).toISOString();
  const offset = Date.parse(sentAt) - Date.parse(event.timestamp);
  return new Date(Date.parse(receivedAt) - offset).toISOString();
}

export function enrichEvent(event: IngestEvent, input: Pick<BatchInput, 'receivedAt' | 'sentAt'>): EventEnrichment {
  const enrichment: EventEnrichment = { timestamp: correctedTimestamp(event, input.receivedAt, input.sentAt) };
  const urls: Record<string, ParsedUrl> = {};
  for (const [key, value] of Object.entries(event.properties ?? {})) {
    if (!URL_PROPERTY.test(key)) continue;
    const parsed = parseUrl(value);
    if (parsed) urls[key] = parsed;
  }
  // Segment's page context: where a browser SDK says the event happened, whatever the call.
  const page = objectAt(event.context, 'page');
  for (const key of ['url', 'referrer'] as const) {
    const parsed = parseUrl(page?.[key]);
    if (parsed) urls[`context.page.${key}`] = parsed;
  }
  if (Object.keys(urls).length > 0) enrichment.urls = urls;
  const utm = campaignOf(objectAt(event.context, 'campaign')) ?? urls['context.page.url']?.utm;
  if (utm) enrichment.utm = utm;
  return enrichment;
}

/** Segment's `context.campaign` in the UTM names `parseUrl` uses (its `name` is `utm_campaign`). */
function campaignOf(campaign: Record<string, unknown> | undefined): Utm | undefined {
  if (!campaign) return undefined;
  const utm: Utm = {};
  for (const key of UTM_KEYS) {
    const value = campaign[key === 'campaign' ? 'name' : key];
    if (typeof value === 'string') utm[key] = value;
  }
  return Object.keys(utm).length > 0 ? utm : undefined;
}

function objectAt(value: Record<string, unknown> | undefined, key: string): Record<string, unknown> | undefined {
  const found = value?.[key];
  return typeof found === 'object' && found !== null && !Array.isArray(found) ? (found as Record<string, unknown>) : undefined;
}

function stringAt(value: Record<string, unknown> | undefined, key: string): string | undefined {
  const found = value?.[key];
  return typeof found === 'string' && found !== '' ? found : undefined;
}

export type EnrichInput = Pick<BatchInput, 'receivedAt' | 'sentAt' | 'client' | 'events'>;

/** Pure and fast, so it runs as a local activity: its input never enters history, only its small result. */
export async function enrichBatch(input: EnrichInput): Promise<EnrichmentResult> {
  return {
    client: parseClient(input.client),
    events: input.events.map((event) => enrichEvent(event, input)),
  };
}

import { UAParser } from 'ua-parser-js';
import type {
  BatchInput,
  ClientEnrichment,
  EnrichmentResult,
  EventEnrichment,
  IngestEvent,
  ParsedUrl,
} from '../src/shared/batch.ts';
import { URL_PROPERTY } from '../src/shared/enrichment-view.ts';

const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'] as const;

export function parseClient(ip: string | undefined, userAgent: string | undefined): ClientEnrichment {
  const client: ClientEnrichment = {};
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
  if (Object.keys(urls).length > 0) enrichment.urls = urls;
  return enrichment;
}

export type EnrichInput = Pick<BatchInput, 'receivedAt' | 'sentAt' | 'client' | 'events'>;

/** Pure and fast, so it runs as a local activity: its input never enters history, only its small result. */
export async function enrichBatch(input: EnrichInput): Promise<EnrichmentResult> {
  return {
    client: parseClient(input.client.ip, input.client.userAgent),
    events: input.events.map((event) => enrichEvent(event, input)),
  };
}

import type { IngestEvent } from '../src/shared/batch.ts';

// The events every benchmark sends: about 430 bytes of JSON each (≈ 370 of them land in the row's JSONB
// columns), shaped like analytics traffic, with URL properties so enrichment has real work to do. Each
// carries the client's *scheduled* send time in `properties.bench_sent_ms`, which the latency queries
// subtract from `stored_at` (Postgres) or from the webhook's arrival time (receiver).

const TYPES = ['page_view', 'page_view', 'page_view', 'add_to_cart', 'signup', 'purchase'];

export function benchEvent(index: number, sentMs: number): Omit<IngestEvent, 'id'> {
  const product = index % 997;
  return {
    type: TYPES[index % TYPES.length]!,
    user_id: `user-${String(index % 50_000).padStart(5, '0')}`,
    timestamp: new Date(sentMs).toISOString(),
    properties: {
      bench_sent_ms: sentMs,
      url: `https://shop.example.com/products/${product}?utm_source=newsletter&utm_medium=email&utm_campaign=winter`,
      title: `Product ${product} - Winter collection`,
      referrer: 'https://www.example.org/blog/gift-ideas',
      plan: index % 3 === 0 ? 'pro' : 'free',
      cart_value: (product * 1.37) % 500,
    },
    context: {
      library: { name: 'eventflow-bench', version: '1.0.0' },
      locale: 'en-US',
      screen: { width: 1920, height: 1080 },
    },
  };
}

export const BENCH_USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

const SENT_MARK = 987654321012345;
const SENT_ISO_MARK = '2999-01-01T00:00:00.000Z';

/**
 * A request body of `size` events as a template: filling in the scheduled send time is a string join,
 * so the load generator spends its CPU on sending, not on JSON.stringify of thousands of events.
 */
export function batchBodyTemplate(size: number): (sentMs: number) => string {
  const events = Array.from({ length: size }, (_, index) => {
    const event = benchEvent(index, SENT_MARK);
    return { ...event, timestamp: SENT_ISO_MARK };
  });
  const json = JSON.stringify({ batch: events, sent_at: SENT_ISO_MARK });
  const parts = json.split(SENT_ISO_MARK).map((part) => part.split(String(SENT_MARK)));
  return (sentMs) => {
    const iso = new Date(sentMs).toISOString();
    const ms = String(Math.round(sentMs));
    return parts.map((inner) => inner.join(ms)).join(iso);
  };
}

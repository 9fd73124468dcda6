// What enrichment reads of an event, so the workflow hands the enrich step only that instead of every
// body (a local activity's input is serialized to the activity and back: bodies cost worker CPU there).
// Pure and free of runtime dependencies: workflow code imports it.
import type { IngestEvent } from './batch.ts';

/** Property names that conventionally hold URLs (Segment's page spec uses url/referrer). */
export const URL_PROPERTY = /(^|_)(url|href|referrer)$/i;

/** The event with only its URL-like string properties: all that enrichment needs besides its timestamp. */
export function enrichmentView(event: IngestEvent): IngestEvent {
  const view: IngestEvent = { id: event.id, type: event.type };
  if (event.timestamp !== undefined) view.timestamp = event.timestamp;
  let urls: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(event.properties ?? {})) {
    if (typeof value === 'string' && URL_PROPERTY.test(key)) (urls ??= {})[key] = value;
  }
  if (urls) view.properties = urls;
  return view;
}

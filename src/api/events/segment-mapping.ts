import type { IngestEvent } from '../../shared/batch.ts';

// Segment's spec (https://segment.com/docs/connections/spec/) in EventFlow's terms: one message becomes
// one event of the native shape, which then takes the one ingestion path (src/api/events/accept.ts). Pure
// functions; the message was checked against the spec's shape before (segment-messages.ts).

/** The spec's six calls. */
export const SEGMENT_CALLS = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentCall = (typeof SEGMENT_CALLS)[number];

/**
 * A message as the spec defines it. `null` counts as absent: analytics.js sends `"userId": null` for a
 * visitor it has not identified. Fields outside the spec (`_metadata`, `channel`, …) are not read, nor is
 * `integrations`: it routes Segment's own destinations, and EventFlow's are its webhooks and rules.
 */
export interface SegmentMessage {
  type: SegmentCall;
  messageId?: string | null;
  /** track: the event's name. */
  event?: string | null;
  /** page, screen. */
  name?: string | null;
  category?: string | null;
  userId?: string | null;
  anonymousId?: string | null;
  /** group. */
  groupId?: string | null;
  /** alias: the identity `userId` replaces. */
  previousId?: string | null;
  properties?: Record<string, unknown> | null;
  traits?: Record<string, unknown> | null;
  context?: Record<string, unknown> | null;
  timestamp?: string | null;
  /** RudderStack's SDKs put the client's event time here and send no `timestamp`. */
  originalTimestamp?: string | null;
  /** The client's clock when it sent the message: a single call's `sent_at` (a batch has its own). */
  sentAt?: string | null;
}

/** An event of the native ingestion shape; `id` absent when the message had no messageId. */
export type MappedEvent = Omit<IngestEvent, 'id'> & { id?: string };

/**
 * One message as an EventFlow event: `messageId` is the id (so a client's retry is stored once), a
 * track call's `event` is the type and the other calls are typed by their name, and what the call says
 * goes into `properties` the way Segment's warehouses lay it out — identify's traits, group's traits with
 * `group_id`, page's and screen's properties with `name` and `category`, alias's `previous_id`. A field
 * of the call wins over a property of the same name. `context` is kept as sent.
 */
export function toIngestEvent(message: SegmentMessage): MappedEvent {
  const event: MappedEvent = { type: message.type === 'track' ? (message.event ?? '') : message.type };
  if (message.messageId != null) event.id = message.messageId;
  if (message.userId != null) event.user_id = message.userId;
  if (message.anonymousId != null) event.anonymous_id = message.anonymousId;
  const timestamp = message.timestamp ?? message.originalTimestamp;
  if (timestamp != null) event.timestamp = timestamp;
  const properties = propertiesOf(message);
  if (properties) event.properties = properties;
  if (message.context != null) event.context = message.context;
  return event;
}

function propertiesOf(message: SegmentMessage): Record<string, unknown> | undefined {
  switch (message.type) {
    case 'track':
      return message.properties ?? undefined;
    case 'identify':
      return message.traits ?? undefined;
    case 'page':
    case 'screen':
      return withCallFields(message.properties, { name: message.name, category: message.category });
    case 'group':
      return withCallFields(message.traits, { group_id: message.groupId });
    case 'alias':
      return withCallFields(undefined, { previous_id: message.previousId });
  }
}

function withCallFields(base: Record<string, unknown> | null | undefined, fields: Record<string, string | null | undefined>) {
  const present = Object.entries(fields).filter(([, value]) => value != null);
  if (present.length === 0) return base ?? undefined;
  return { ...base, ...Object.fromEntries(present) };
}

/**
 * The message field behind a native event field, so that an error found on the mapped event names what
 * the client sent (`user_id` → `userId`, an identify's `properties` → `traits`, …).
 */
export function segmentField(message: SegmentMessage | undefined, field: string): string {
  const dot = field.indexOf('.');
  const head = dot === -1 ? field : field.slice(0, dot);
  const rest = dot === -1 ? '' : field.slice(dot);
  return `${segmentName(message, head)}${rest}`;
}

function segmentName(message: SegmentMessage | undefined, field: string): string {
  switch (field) {
    case 'id':
      return 'messageId';
    case 'type':
      return message?.type === 'track' || message === undefined ? 'event' : 'type';
    case 'user_id':
      return 'userId';
    case 'anonymous_id':
      return 'anonymousId';
    case 'timestamp':
      return message?.timestamp == null && message?.originalTimestamp != null ? 'originalTimestamp' : 'timestamp';
    case 'properties':
      if (message?.type === 'identify' || message?.type === 'group') return 'traits';
      return message?.type === 'alias' ? 'previousId' : 'properties';
    case 'event':
      // The size check's name for the whole event.
      return 'message';
    case 'sent_at':
      return 'sentAt';
    default:
      return field;
  }
}

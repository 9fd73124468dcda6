import { createSchemaCompiler, fieldErrors } from '../../schemas/json-schema.ts';
import type { IngestEvent } from '../../shared/batch.ts';
import { ApiError } from '../errors.ts';
import { isStorableInstant, isStorableMillis, unstorableValueProblem, type FieldDetail } from '../validation.ts';

// Limits on one ingestion request, beside the body limit (MAX_BODY_BYTES). 2,000 events keeps a batch's
// workflow within Temporal's guidance (a few thousand items per run) and its history small.
export const MAX_EVENTS_PER_REQUEST = 2_000;
export const MAX_EVENT_BYTES = 32 * 1024;
// Postgres' JSON parser recurses per nesting level and gives up past its stack limit. An event it
// refused would fail its batch's persist step on every retry after the 202, so deep values are refused
// here instead, at a depth no real event reaches.
export const MAX_NESTING_DEPTH = 64;

const EVENT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { type: 'string', minLength: 1, maxLength: 128 },
    id: { type: 'string', minLength: 1, maxLength: 128 },
    user_id: { type: 'string', maxLength: 256 },
    anonymous_id: { type: 'string', maxLength: 256 },
    timestamp: { type: 'string', format: 'date-time' },
    properties: { type: 'object' },
    context: { type: 'object' },
  },
} as const;

const ENVELOPE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['batch'],
  properties: {
    batch: { type: 'array' },
    sent_at: { type: 'string', format: 'date-time' },
  },
} as const;

export interface EventError extends FieldDetail {
  index: number;
}

export interface ParsedBatch {
  events: IngestEvent[];
  sentAt?: string;
}

export interface ParseOptions {
  /** When the batch was received (ms since epoch): bounds the clock-skew correction. */
  receivedAtMs: number;
  /** Id for an event sent without one. */
  assignId(index: number): string;
}

/** The request body's three accepted shapes: one event, an array of events, or `{ batch, sent_at }`. */
export function createIngestParser() {
  const ajv = createSchemaCompiler();
  const validateEvent = ajv.compile(EVENT_SCHEMA);
  const validateEnvelope = ajv.compile(ENVELOPE_SCHEMA);

  function unwrap(body: unknown): { items: unknown[]; sentAt?: string } {
    if (Array.isArray(body)) return { items: body };
    if (typeof body !== 'object' || body === null) {
      throw new ApiError(400, 'invalid_body', 'the body must be an event, an array of events or { "batch": [...] }');
    }
    if (!('batch' in body)) return { items: [body] };
    if (!validateEnvelope(body)) {
      throw new ApiError(400, 'invalid_body', 'the batch envelope is invalid', fieldErrors(validateEnvelope.errors));
    }
    const envelope = body as { batch: unknown[]; sent_at?: string };
    if (envelope.sent_at !== undefined && !isStorableInstant(envelope.sent_at)) {
      throw new ApiError(400, 'invalid_body', 'the batch envelope is invalid', [
        { field: 'sent_at', message: 'must be a valid date-time between years 0001 and 9999' },
      ]);
    }
    return { items: envelope.batch, sentAt: envelope.sent_at };
  }

  return function parseIngestBody(body: unknown, options: ParseOptions): ParsedBatch {
    const { items, sentAt } = unwrap(body);
    if (items.length === 0) {
      throw new ApiError(400, 'invalid_body', 'the batch contains no events', [{ field: 'batch', message: 'must not be empty' }]);
    }
    if (items.length > MAX_EVENTS_PER_REQUEST) {
      throw new ApiError(413, 'too_many_events', `a request may carry at most ${MAX_EVENTS_PER_REQUEST} events`, [
        { field: 'batch', message: `has ${items.length} events; the limit is ${MAX_EVENTS_PER_REQUEST}` },
      ]);
    }

    const errors: EventError[] = [];
    const oversized: EventError[] = [];
    const sentAtMs = sentAt === undefined ? undefined : Date.parse(sentAt);
    items.forEach((item, index) => {
      const structural = validateEvent(item) ? [] : fieldErrors(validateEvent.errors);
      for (const detail of structural) {
        errors.push({ index, field: detail.field || 'event', message: detail.field ? detail.message : 'must be an event object' });
      }
      if (typeof item !== 'object' || item === null || Array.isArray(item)) return;
      const event = item as Record<string, unknown>;
      const unstorable = Object.entries(event)
        .map(([field, value]) => ({ field, message: unstorableValueProblem(value, MAX_NESTING_DEPTH) }))
        .find((problem) => problem.message !== undefined);
      if (unstorable) {
        errors.push({ index, field: unstorable.field, message: unstorable.message! });
        return; // possibly too deep to serialise safely for the size check
      }
      if (typeof event.timestamp === 'string' && !structural.some((detail) => detail.field === 'timestamp')) {
        const timestampError = checkTimestamp(event.timestamp, sentAtMs, options.receivedAtMs);
        if (timestampError) errors.push({ index, field: 'timestamp', message: timestampError });
      }
      const tooBig = oversizeProblem(event, index, 'event');
      if (tooBig) oversized.push(tooBig);
    });
    refuseInvalid(items.length, errors, oversized, 'event');

    const events = (items as Array<Omit<IngestEvent, 'id'> & { id?: string }>).map((event, index) => ({
      ...event,
      id: event.id ?? options.assignId(index),
    }));
    return sentAt === undefined ? { events } : { events, sentAt };
  };
}

/** A 413 detail when `item` serializes to more than MAX_EVENT_BYTES. */
export function oversizeProblem(item: unknown, index: number, field: string): EventError | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(item), 'utf8');
  return bytes > MAX_EVENT_BYTES ? { index, field, message: `is ${bytes} bytes serialized; the limit is ${MAX_EVENT_BYTES}` } : undefined;
}

/** A request with any bad item is refused whole: 413 when some are too big, else 400 listing every problem. */
export function refuseInvalid(total: number, errors: EventError[], oversized: EventError[], noun: 'event' | 'message'): void {
  if (oversized.length > 0) {
    throw new ApiError(413, 'payload_too_large', `each ${noun} is limited to ${MAX_EVENT_BYTES} bytes serialized`, oversized);
  }
  if (errors.length > 0) {
    const bad = new Set(errors.map((error) => error.index)).size;
    throw new ApiError(400, 'invalid_events', `${bad} of ${total} ${noun}s are invalid; nothing was accepted`, errors);
  }
}

function checkTimestamp(timestamp: string, sentAtMs: number | undefined, receivedAtMs: number): string | undefined {
  const ms = Date.parse(timestamp);
  if (!isStorableMillis(ms)) return 'must be a valid date-time between years 0001 and 9999';
  // Enrichment shifts the event by the client's clock skew (received_at − (sent_at − timestamp)); the
  // shifted time must still be storable.
  if (sentAtMs !== undefined && !isStorableMillis(receivedAtMs - (sentAtMs - ms))) {
    return 'is too far from the batch\'s sent_at';
  }
  return undefined;
}

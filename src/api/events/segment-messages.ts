import { createSchemaCompiler, fieldErrors } from '../../schemas/json-schema.ts';
import { ApiError } from '../errors.ts';
import { unstorableValueProblem, type FieldDetail } from '../validation.ts';
import { MAX_NESTING_DEPTH, oversizeProblem, refuseInvalid, type EventError } from './ingest.ts';
import { SEGMENT_CALLS, type SegmentCall, type SegmentMessage } from './segment-mapping.ts';

// The edge of Segment's HTTP Tracking API: a request body checked against the spec's shape, answered
// with the native API's error codes (400 invalid_body / invalid_events with `{index, field, message}`,
// 413 payload_too_large) in the spec's field names. What EventFlow itself limits (lengths, storable
// characters, nesting, timestamps within 0001–9999) is checked once more on the mapped events by the
// native parser, whose errors the router words in the spec's names too.

// `null` is absent (analytics.js sends `"userId": null` for visitors it has not identified).
const STRING = { type: ['string', 'null'] };
const ID = { type: ['string', 'null'], minLength: 1, maxLength: 256 };
const OBJECT = { type: ['object', 'null'] };
const TIME = { type: ['string', 'null'], format: 'date-time' };

// Fields outside the spec are allowed and not read: every SDK adds some (`_metadata`, `channel`, …).
const MESSAGE_SCHEMA = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { enum: SEGMENT_CALLS },
    messageId: STRING,
    event: { type: ['string', 'null'], minLength: 1 },
    name: STRING,
    category: STRING,
    userId: STRING,
    anonymousId: STRING,
    groupId: ID,
    previousId: ID,
    properties: OBJECT,
    traits: OBJECT,
    context: OBJECT,
    integrations: OBJECT,
    timestamp: TIME,
    originalTimestamp: TIME,
    sentAt: TIME,
    writeKey: STRING,
  },
} as const;

// `context` and `integrations` of a batch apply to each of its messages (the spec's batch call).
const BATCH_SCHEMA = {
  type: 'object',
  required: ['batch'],
  properties: { batch: { type: 'array' }, sentAt: TIME, context: OBJECT, integrations: OBJECT, writeKey: STRING },
} as const;

const MESSAGES = { type: `must be one of ${SEGMENT_CALLS.join(', ')}` };

/** A request's messages, checked, and the client's clock when it sent them. */
export interface SegmentRequest {
  messages: SegmentMessage[];
  sentAt?: string;
}

export function createSegmentParser() {
  const ajv = createSchemaCompiler();
  const validateMessage = ajv.compile(MESSAGE_SCHEMA);
  const validateBatch = ajv.compile(BATCH_SCHEMA);

  function check(items: unknown[]): SegmentMessage[] {
    const errors: EventError[] = [];
    const oversized: EventError[] = [];
    items.forEach((item, index) => {
      if (!validateMessage(item)) {
        for (const detail of fieldErrors(validateMessage.errors, { messages: MESSAGES })) {
          errors.push({ index, field: detail.field || 'message', message: detail.field ? detail.message : 'must be a message object' });
        }
        return;
      }
      const message = item as SegmentMessage;
      for (const detail of missingFields(message)) errors.push({ index, ...detail });
      // Too deep to serialise safely: the native parser names the field after mapping.
      if (unstorableValueProblem(message, MAX_NESTING_DEPTH + 1)) return;
      // The spec's 32 KB is on the message as sent, fields EventFlow does not keep included.
      const tooBig = oversizeProblem(message, index, 'message');
      if (tooBig) oversized.push(tooBig);
    });
    refuseInvalid(items.length, errors, oversized, 'message');
    return items as SegmentMessage[];
  }

  return {
    /** `POST …/batch`: `{ batch: [messages], sentAt?, context?, integrations? }`. */
    batch(body: unknown): SegmentRequest {
      if (!validateBatch(body)) {
        const details = fieldErrors(validateBatch.errors).map((detail) => ({ ...detail, field: detail.field || 'body' }));
        throw new ApiError(400, 'invalid_body', 'the body must be { "batch": [messages] }', details);
      }
      const envelope = body as { batch: unknown[]; sentAt?: string | null; context?: Record<string, unknown> | null };
      if (envelope.batch.length === 0) {
        throw new ApiError(400, 'invalid_body', 'the batch contains no messages', [{ field: 'batch', message: 'must not be empty' }]);
      }
      const messages = check(envelope.batch).map((message) =>
        envelope.context == null ? message : { ...message, context: { ...envelope.context, ...message.context } },
      );
      return envelope.sentAt == null ? { messages } : { messages, sentAt: envelope.sentAt };
    },

    /** `POST …/track` and the other single calls: the body is one message, its type given by the path. */
    single(call: SegmentCall, body: unknown): SegmentRequest {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ApiError(400, 'invalid_body', `the body must be one ${call} message`);
      }
      const given = (body as { type?: unknown }).type;
      if (given != null && given !== call) {
        throw new ApiError(400, 'invalid_events', `this endpoint takes ${call} calls`, [{ index: 0, field: 'type', message: `must be "${call}" here` }]);
      }
      const [message] = check([{ ...body, type: call }]);
      return message.sentAt == null ? { messages: [message] } : { messages: [message], sentAt: message.sentAt };
    },
  };
}

/** What the spec requires of each call beyond the fields' types. */
function missingFields(message: SegmentMessage): FieldDetail[] {
  const missing: FieldDetail[] = [];
  if (message.type === 'alias') {
    // An alias says which identity (previousId) the user (userId) had before.
    if (message.previousId == null) missing.push({ field: 'previousId', message: 'is required for an alias call' });
    if (message.userId == null) missing.push({ field: 'userId', message: 'is required for an alias call' });
    return missing;
  }
  if (message.userId == null && message.anonymousId == null) missing.push({ field: 'userId', message: 'userId or anonymousId is required' });
  if (message.type === 'track' && message.event == null) missing.push({ field: 'event', message: 'is required for a track call' });
  if (message.type === 'group' && message.groupId == null) missing.push({ field: 'groupId', message: 'is required for a group call' });
  return missing;
}

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { segmentField, toIngestEvent, type SegmentMessage } from '../../src/api/events/segment-mapping.ts';

describe('Segment messages as EventFlow events', () => {
  test('a track call: messageId is the id, the event name the type, properties and context kept as sent', () => {
    const context = { library: { name: '@segment/analytics-node', version: '3.1.0' }, ip: '203.0.113.5' };
    assert.deepEqual(
      toIngestEvent({
        type: 'track',
        event: 'Order Completed',
        messageId: 'node-next-1-abc',
        userId: 'u1',
        anonymousId: 'a1',
        timestamp: '2026-03-01T10:00:00.000Z',
        properties: { total: 30 },
        context,
      }),
      {
        id: 'node-next-1-abc',
        type: 'Order Completed',
        user_id: 'u1',
        anonymous_id: 'a1',
        timestamp: '2026-03-01T10:00:00.000Z',
        properties: { total: 30 },
        context,
      },
    );
  });

  test('identify keeps its traits as the properties; group adds group_id to its traits', () => {
    assert.deepEqual(toIngestEvent({ type: 'identify', userId: 'u1', traits: { plan: 'pro' } }), {
      type: 'identify',
      user_id: 'u1',
      properties: { plan: 'pro' },
    });
    assert.deepEqual(toIngestEvent({ type: 'group', userId: 'u1', groupId: 'acme', traits: { employees: 40 } }), {
      type: 'group',
      user_id: 'u1',
      properties: { employees: 40, group_id: 'acme' },
    });
  });

  test('page and screen keep their name and category beside the properties; the call wins over a property', () => {
    assert.deepEqual(
      toIngestEvent({ type: 'page', anonymousId: 'a1', name: 'Pricing', category: 'Docs', properties: { url: 'https://x.example/pricing', name: 'old' } }),
      { type: 'page', anonymous_id: 'a1', properties: { url: 'https://x.example/pricing', name: 'Pricing', category: 'Docs' } },
    );
    assert.deepEqual(toIngestEvent({ type: 'screen', userId: 'u1', name: 'Home' }), { type: 'screen', user_id: 'u1', properties: { name: 'Home' } });
    assert.deepEqual(toIngestEvent({ type: 'page', userId: 'u1' }), { type: 'page', user_id: 'u1' });
  });

  test('alias keeps previous_id', () => {
    assert.deepEqual(toIngestEvent({ type: 'alias', userId: 'u1', previousId: 'anon-7' }), {
      type: 'alias',
      user_id: 'u1',
      properties: { previous_id: 'anon-7' },
    });
  });

  test('null is absent, and originalTimestamp (RudderStack) stands in for a missing timestamp', () => {
    const message: SegmentMessage = {
      type: 'track',
      event: 'Clicked',
      userId: null,
      anonymousId: 'a1',
      messageId: null,
      properties: null,
      context: null,
      timestamp: null,
      originalTimestamp: '2026-03-01T10:00:00.000Z',
    };
    assert.deepEqual(toIngestEvent(message), { type: 'Clicked', anonymous_id: 'a1', timestamp: '2026-03-01T10:00:00.000Z' });
  });

  test("an error on the mapped event names the message's own field", () => {
    const track: SegmentMessage = { type: 'track', event: 'x', userId: 'u' };
    const identify: SegmentMessage = { type: 'identify', userId: 'u' };
    const rudder: SegmentMessage = { type: 'track', event: 'x', userId: 'u', originalTimestamp: '2026-01-01T00:00:00Z' };
    assert.equal(segmentField(track, 'id'), 'messageId');
    assert.equal(segmentField(track, 'type'), 'event');
    assert.equal(segmentField(track, 'user_id'), 'userId');
    assert.equal(segmentField(track, 'anonymous_id'), 'anonymousId');
    assert.equal(segmentField(track, 'properties'), 'properties');
    assert.equal(segmentField(identify, 'properties'), 'traits');
    assert.equal(segmentField({ type: 'alias', userId: 'u', previousId: 'p' }, 'properties'), 'previousId');
    assert.equal(segmentField(track, 'timestamp'), 'timestamp');
    assert.equal(segmentField(rudder, 'timestamp'), 'originalTimestamp');
    assert.equal(segmentField(track, 'context.page'), 'context.page');
    assert.equal(segmentField(track, 'event'), 'message');
    assert.equal(segmentField(undefined, 'sent_at'), 'sentAt');
  });
});

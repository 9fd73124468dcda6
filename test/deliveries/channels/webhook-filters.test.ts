import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventTypePatternProblem, matchesEventType } from '../../../src/deliveries/channels/webhook/filters.ts';

test('an exact name matches only itself', () => {
  assert.equal(matchesEventType(['order.created'], 'order.created'), true);
  assert.equal(matchesEventType(['order.created'], 'order.created.v2'), false);
  assert.equal(matchesEventType(['order.created'], 'order'), false);
  assert.equal(matchesEventType(['Order Completed'], 'Order Completed'), true);
});

test('* matches every type', () => {
  assert.equal(matchesEventType(['*'], 'anything.at.all'), true);
  assert.equal(matchesEventType(['*'], 'x'), true);
});

test('a prefix pattern matches every type below it, at any depth, but not the prefix itself', () => {
  assert.equal(matchesEventType(['order.*'], 'order.created'), true);
  assert.equal(matchesEventType(['order.*'], 'order.refund.done'), true);
  assert.equal(matchesEventType(['order.*'], 'order'), false);
  assert.equal(matchesEventType(['order.*'], 'orders.created'), false);
  assert.equal(matchesEventType(['order.*'], 'order.'), false);
});

test('any pattern in the list is enough, and an empty list matches nothing', () => {
  assert.equal(matchesEventType(['user.signed_up', 'order.*'], 'order.paid'), true);
  assert.equal(matchesEventType(['user.signed_up', 'order.*'], 'user.signed_up'), true);
  assert.equal(matchesEventType(['user.signed_up', 'order.*'], 'user.deleted'), false);
  assert.equal(matchesEventType([], 'order.paid'), false);
});

test('patterns are validated at the edge: wildcards only as * or a final .*', () => {
  for (const good of ['*', 'order.created', 'order.*', 'a.b.*', 'Order Completed']) {
    assert.equal(eventTypePatternProblem(good), undefined, good);
  }
  for (const bad of ['', 'order*', '*.created', 'order.*.done', '.*', 'a**', ' order', 'order\n', 'x'.repeat(201)]) {
    assert.ok(eventTypePatternProblem(bad), JSON.stringify(bad));
  }
});

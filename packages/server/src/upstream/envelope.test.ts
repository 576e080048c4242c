import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnvelope } from '@botpulse/protocol';
import { envelopeFor, FORWARDED_TAG, prepareForUpstream, sampled, wasForwarded } from './envelope.js';

describe('what the forwarder sends', () => {
  it('keeps tags that are set, and takes origin and gen_request_id from extra or contexts otherwise', () => {
    const tagged = prepareForUpstream({ tags: { origin: 'celery', gen_request_id: 'g1' }, extra: { origin: 'other' } }, 'event', 'https://bp.example');
    assert.deepEqual(tagged['tags'], { origin: 'celery', gen_request_id: 'g1', [FORWARDED_TAG]: 'https://bp.example' });
    const fromExtra = prepareForUpstream({ extra: { origin: 'webhook', payload: { gen_request_id: 42 } } }, 'event', 'x');
    assert.deepEqual(fromExtra['tags'], { origin: 'webhook', gen_request_id: '42', [FORWARDED_TAG]: 'x' });
    const fromContexts = prepareForUpstream({ tags: { origin: '' }, contexts: { trace: {}, error_tracker: { origin: 'miniapp', gen_request_id: 'g3' } } }, 'transaction', 'x');
    assert.deepEqual(fromContexts['tags'], { origin: 'miniapp', gen_request_id: 'g3', [FORWARDED_TAG]: 'x' });
    assert.deepEqual(prepareForUpstream({ tags: 'not an object', extra: [] }, 'event', 'x')['tags'], { [FORWARDED_TAG]: 'x' });
  });

  it('recognises what a Botpulse forwarded already', () => {
    assert.equal(wasForwarded(prepareForUpstream({}, 'event', 'x')), true);
    assert.equal(wasForwarded({ tags: { origin: 'celery' } }), false);
    assert.equal(wasForwarded({ tags: null }), false);
  });

  it('writes one envelope per item that the protocol parser reads back', () => {
    const envelope = parseEnvelope(envelopeFor('event', 'a'.repeat(32), { message: 'line\nbreak' }, 0));
    assert.equal(envelope.headers.event_id, 'a'.repeat(32));
    assert.equal(envelope.items.length, 1);
    assert.equal(envelope.items[0]!.headers.type, 'event');
    assert.deepEqual(JSON.parse(envelope.items[0]!.payload.toString()), { message: 'line\nbreak' });
    const logs = parseEnvelope(envelopeFor('log', null, { items: [{ body: 'a' }, { body: 'b' }] }, 0));
    assert.equal(logs.items[0]!.headers['item_count'], 2);
    assert.equal(logs.headers.event_id, undefined);
  });

  it('samples by id: the same id always gets the same answer, about the rate of ids pass', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `event-${i}`);
    const passed = ids.filter((id) => sampled(id, 0.25)).length;
    assert.ok(passed > 400 && passed < 600, `${passed} of 2000 at 0.25`);
    assert.deepEqual(ids.map((id) => sampled(id, 0.25)), ids.map((id) => sampled(id, 0.25)));
    assert.equal(ids.every((id) => sampled(id, 1)), true);
    assert.equal(ids.some((id) => sampled(id, 0)), false);
  });
});

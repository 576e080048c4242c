import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SentryEventPayload } from '@botpulse/protocol';
import { fingerprintV1 } from '../grouping/v1.js';
import { decodePayload } from '../store/payload.js';
import type { DigestedRow, SpoolRow } from '../store/store.js';
import { mutatedEvents } from '../test-support/event-mutations.js';
import { createRowDigester } from './process.js';

const NOW = Date.UTC(2025, 9, 10, 17, 11, 30);
let nextId = 1;

function row(payload: string, eventId = (nextId++).toString(16).padStart(32, '0')): SpoolRow {
  return { id: nextId++, projectId: 1, kind: 'event', eventId, receivedAt: NOW, payload: Buffer.from(payload), meta: null };
}

function digestOne(event: unknown, onRejected?: (row: SpoolRow, err: Error) => void): Extract<DigestedRow, { kind: 'event' }> {
  const [written] = createRowDigester(onRejected ? { onRejected } : {})([row(JSON.stringify(event))]);
  assert.equal(written?.kind, 'event', `not stored: ${JSON.stringify(written)}`);
  return written as Extract<DigestedRow, { kind: 'event' }>;
}

/** What the digest handed to grouping before the shape pass: the event with `exception` as {values}. */
function previousGroupingInput(event: SentryEventPayload): SentryEventPayload {
  const raw = event.exception;
  const values: unknown = Array.isArray(raw) ? raw : raw !== null && typeof raw === 'object' ? (raw as { values?: unknown }).values : undefined;
  const exceptions = Array.isArray(values) ? values.filter((v) => v !== null && typeof v === 'object' && !Array.isArray(v)) : [];
  return event.exception === undefined ? event : { ...event, exception: { values: exceptions } };
}

describe('createRowDigester: nothing answered 200 is dropped', () => {
  it('stores an event whose fingerprint part cannot become text, grouped as without that part', () => {
    const event = { message: 'Payment timeout', fingerprint: [{ toString: 1 }] };
    const written = digestOne(event);
    assert.equal(written.event.title, 'Payment timeout');
    assert.equal(written.fingerprint, fingerprintV1({ message: 'Payment timeout' }).hash);
    const mixed = digestOne({ message: 'x', fingerprint: ['payments', { toString: 1 }, [{ toString: 1 }]] });
    assert.equal(mixed.fingerprint, fingerprintV1({ message: 'x', fingerprint: ['payments'] }).hash);
  });

  it('keeps the fingerprint as sent in the stored payload _meta', () => {
    const written = digestOne({ message: 'x', fingerprint: ['a', { toString: 1 }] });
    const stored = decodePayload<{ fingerprint: string[]; _meta: { fingerprint: { '': { val: unknown } } } }>(written.compressedPayload);
    assert.deepEqual(stored.fingerprint, ['a']);
    assert.deepEqual(stored._meta.fingerprint[''].val, ['a', { toString: 1 }]);
  });

  it('stores even an event it cannot read at all, as an unreadable event with its payload, and says why', () => {
    const told: string[] = [];
    const [written] = createRowDigester({ onRejected: (_row, err) => told.push(err.message) })([row('{"message": "cut off')]);
    assert.equal(written?.kind, 'event');
    const event = (written as Extract<DigestedRow, { kind: 'event' }>).event;
    assert.match(event.title, /^Unreadable event \(SyntaxError: /);
    assert.deepEqual(Object.keys(event.payload), ['botpulse_unparsed_payload', 'event_id']);
    assert.equal(told.length, 1);
  });

  it('stores every one of 1,000 seeded mutations of real events, grouped as before the shape pass', () => {
    let compared = 0;
    for (const { event, description } of mutatedEvents({ seed: 3, count: 1000 })) {
      const rejected: string[] = [];
      const written = digestOne(event, (_row, err) => rejected.push(err.message));
      assert.deepEqual(rejected, [], description);
      let before: string | null = null;
      try {
        before = fingerprintV1(previousGroupingInput(event as SentryEventPayload)).hash;
      } catch {
        continue; // this event was dropped before (`rejected:undigestible`): it has no earlier issue
      }
      assert.equal(written.fingerprint, before, `regrouped: ${description}`);
      compared += 1;
    }
    assert.ok(compared > 800, `only ${compared} events could be compared`);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeEnvelope } from '@botpulse/protocol';
import { parseClientReport } from './client-report.js';
import { intakeEnvelope, type IntakeOptions } from './intake.js';

const limits: IntakeOptions = { maxEventBytes: 1_000_000, maxAttachmentBytes: 1_000_000, scrubber: { scrubEvent: (v) => v, scrubString: (s) => s } };
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('client reports', () => {
  it('reads the discards of @botpulse/sdk, @sentry/node and sentry-python alike, summing repeats', () => {
    const report = parseClientReport(json({
      timestamp: 1_767_225_600.5,
      discarded_events: [
        { reason: 'queue_overflow', category: 'error', quantity: 23 },
        { reason: 'queue_overflow', category: 'error', quantity: 2 },
        { reason: 'ratelimit_backoff', category: 'transaction', quantity: 1321 },
      ],
    }));
    assert.deepEqual(report, {
      discards: [{ reason: 'queue_overflow', category: 'error', quantity: 25 }, { reason: 'ratelimit_backoff', category: 'transaction', quantity: 1321 }],
      invalid: 0,
      timestamp: 1_767_225_600_500,
    });
    assert.equal(parseClientReport(json({ timestamp: '2026-01-01T00:00:00Z', discarded_events: [] }))?.timestamp, Date.parse('2026-01-01T00:00:00Z'));
  });

  it('counts entries that do not fit instead of trusting them', () => {
    const report = parseClientReport(json({
      discarded_events: [
        { reason: 'before_send', category: 'error', quantity: 0 },
        { reason: 'before_send', category: 'error', quantity: 1.5 },
        { reason: '<script>', category: 'error', quantity: 1 },
        { reason: 'x'.repeat(65), category: 'error', quantity: 1 },
        { reason: 'sample_rate', category: 'error', quantity: '3' },
        'nonsense',
        { reason: 'sample_rate', category: 'error', quantity: 5 },
      ],
    }));
    assert.deepEqual(report?.discards, [{ reason: 'sample_rate', category: 'error', quantity: 5 }]);
    assert.equal(report?.invalid, 6);
    assert.equal(parseClientReport(Buffer.from('not json')), null);
    assert.equal(parseClientReport(json({ discarded_events: 'all of them' })), null);
  });

  it('an envelope with an event and an unreadable client report: the event is accepted, the report counted as invalid', () => {
    const body = serializeEnvelope({
      headers: { event_id: 'a'.repeat(32) },
      items: [
        { headers: { type: 'event' }, payload: json({ message: 'kept' }) },
        { headers: { type: 'client_report' }, payload: Buffer.from('{broken') },
        { headers: { type: 'client_report' }, payload: json({ timestamp: 1, discarded_events: [{ reason: 'network_error', category: 'error', quantity: 4 }] }) },
      ],
    });
    const receivedAt = Date.parse('2026-03-01T00:00:00Z');
    const intake = intakeEnvelope(body, 7, limits, receivedAt);
    assert.equal(intake.items.length, 1);
    assert.equal(intake.items[0]?.kind, 'event');
    assert.deepEqual(intake.counts, { client_report: 2, client_report_invalid: 1 });
    // A report dated 1970 is implausible: the time it arrived is used.
    assert.deepEqual(intake.discards, [{ discards: [{ reason: 'network_error', category: 'error', quantity: 4 }], at: receivedAt }]);
  });
});

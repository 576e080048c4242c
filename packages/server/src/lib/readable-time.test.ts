import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readableTime, relativeTime } from './readable-time.js';

const at = Date.UTC(2026, 11, 5, 14, 3, 27);

describe('readable times (Telegram texts, the CLI)', () => {
  const cases: [string, number, string][] = [
    ['a moment ago', at + 2_000, '2026-12-05 14:03 UTC (just now)'],
    ['seconds', at + 40_000, '2026-12-05 14:03 UTC (40 s ago)'],
    ['minutes', at + 5 * 60_000, '2026-12-05 14:03 UTC (5 min ago)'],
    ['hours and minutes', at + (3 * 60 + 10) * 60_000, '2026-12-05 14:03 UTC (3 h 10 min ago)'],
    ['whole hours', at + 2 * 3_600_000, '2026-12-05 14:03 UTC (2 h ago)'],
    ['one day', at + 25 * 3_600_000, '2026-12-05 14:03 UTC (1 day ago)'],
    ['days', at + 3 * 86_400_000, '2026-12-05 14:03 UTC (3 days ago)'],
    ['a clock ahead of ours', at - 5 * 60_000, '2026-12-05 14:03 UTC (in 5 min)'],
  ];
  for (const [name, now, expected] of cases) {
    it(name, () => assert.equal(readableTime(at, now), expected));
  }

  it('never prints NaN or an ISO string for a bad time', () => {
    assert.equal(readableTime(Number.NaN, at), 'unknown time');
    assert.equal(relativeTime(at, at), 'just now');
  });
});

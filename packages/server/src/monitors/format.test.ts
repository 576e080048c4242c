import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { downText } from './format.js';

describe('the bot-down alert text', () => {
  const who = { project: 'Pay Bot', slug: 'poller' };
  const timing = { periodMs: 60_000, graceMs: 30_000 };

  it('dates the last heartbeat for a person: UTC minute and how long ago, not an ISO string', () => {
    const text = downText(who, { ...timing, lastPingAt: Date.UTC(2026, 11, 5, 14, 3, 27) }, 'no heartbeat for 300 s', 'https://e.example/monitors', Date.UTC(2026, 11, 5, 14, 8, 30));
    assert.match(text, /^Last heartbeat: 2026-12-05 14:03 UTC \(5 min ago\)$/m);
    assert.doesNotMatch(text, /\d{4}-\d\d-\d\dT|\d{13}/, 'no ISO string, no epoch milliseconds');
  });

  it('says never when no heartbeat came', () => {
    assert.match(downText(who, { ...timing, lastPingAt: null }, 'no heartbeat', 'https://e.example/monitors', Date.now()), /^Last heartbeat: never$/m);
  });
});

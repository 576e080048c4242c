import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimits } from './rate-limits.js';

const headers = (h: Record<string, string>) => (name: string) => h[name.toLowerCase()] ?? null;

describe('upstream rate limits', () => {
  it('reads X-Sentry-Rate-Limits per category, on any status; no categories means all', () => {
    const limits = new RateLimits();
    assert.equal(limits.update(200, headers({ 'x-sentry-rate-limits': '60:transaction:key, 2:error;default:organization:quota' }), 1000), true);
    assert.equal(limits.limitedUntil('transaction', 1000), 61_000);
    assert.equal(limits.limitedUntil('event', 1000), 3000);
    assert.equal(limits.limitedUntil('check_in', 1000), 0);
    assert.equal(limits.limitedUntil('event', 3000), 0, 'over once its time has passed');
    limits.update(429, headers({ 'x-sentry-rate-limits': '5::organization' }), 10_000);
    assert.equal(limits.limitedUntil('log', 10_000), 15_000);
    assert.equal(limits.limitedUntil('check_in', 10_000), 15_000);
  });

  it('on a 429 without the header: Retry-After in seconds or as a date, else 60 s for everything', () => {
    const a = new RateLimits();
    a.update(429, headers({ 'retry-after': '7' }), 0);
    assert.equal(a.limitedUntil('event', 0), 7000);
    const b = new RateLimits();
    b.update(429, headers({ 'retry-after': new Date(20_000).toUTCString() }), 0);
    assert.equal(b.limitedUntil('transaction', 0), 20_000);
    const c = new RateLimits();
    c.update(429, headers({}), 0);
    assert.equal(c.limitedUntil('check_in', 0), 60_000);
    const d = new RateLimits();
    assert.equal(d.update(503, headers({ 'retry-after': '7' }), 0), false, 'a 503 is a failure to retry, not a limit');
    assert.equal(d.limitedUntil('event', 0), 0);
  });

  it('ignores entries it cannot read and keeps the longer of two limits', () => {
    const limits = new RateLimits();
    limits.update(200, headers({ 'x-sentry-rate-limits': 'soon:error, -1:error, 30:error' }), 0);
    limits.update(200, headers({ 'x-sentry-rate-limits': '10:error' }), 0);
    assert.equal(limits.limitedUntil('event', 0), 30_000);
  });
});

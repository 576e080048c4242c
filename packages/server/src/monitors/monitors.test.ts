import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Monitor } from '../store/monitors.js';
import { failureOf, onBeat, onDeadline, type HeartbeatContext } from './heartbeat.js';
import { bucketOf, emptyBuckets, quantileMs } from './latency.js';

const ctx: HeartbeatContext = { who: { project: 'Pay <Bot>', slug: 'pay' }, url: 'http://x/monitors', deafAfterPolls: 3, conflictAlertMs: 90_000 };
function monitor(over: Partial<Monitor> = {}): Monitor {
  return { id: 1, projectId: 1, slug: 'pay', kind: 'heartbeat', source: 'api', manualFields: [], stateId: 1, environment: null, status: 'up', periodMs: 1000, graceMs: 500, schedule: null, timezone: null, failureThreshold: 1, recoveryThreshold: 1, url: null, timeoutMs: null, lockKey: null, failures: 0, successes: 0, deadline: 2000, lastPingAt: 1000, lastOkAt: 1000, lastReason: null, downSince: null, downReason: null, alertSent: false, polling: null, gauges: null, conflictsTotal: 0, conflictSince: null, conflictAlerted: false, createdAt: 0, updatedAt: 1000, ...over };
}

describe('heartbeat state machine', () => {
  it('up → late → down with one notification, escaped', () => {
    const late = onDeadline(monitor(), 2000, ctx)!;
    assert.equal(late.set.status, 'late');
    assert.equal(late.set.deadline, 2500);
    assert.equal(late.notify, undefined);
    const down = onDeadline(monitor({ status: 'late', deadline: 2500 }), 2600, ctx)!;
    assert.equal(down.set.status, 'down');
    assert.equal(down.notify?.length, 1);
    assert.match(down.notify![0]!.text, /Pay &lt;Bot&gt;/);
    assert.equal(onDeadline(monitor({ deadline: 3000 }), 2000, ctx), null, 'not due yet');
  });

  it('counts a missed check-in as one failure: below the threshold it stays late for the next one', () => {
    const m = monitor({ status: 'late', deadline: 2500, failureThreshold: 3, failures: 0 });
    const first = onDeadline(m, 2600, ctx)!;
    assert.equal(first.set.status, undefined, 'still late');
    assert.equal(first.set.failures, 1);
    assert.equal(first.set.deadline, 3500, 'next expected check-in (2000 + period) plus grace');
    assert.equal(first.notify, undefined);
    const second = onDeadline(monitor({ ...m, failures: 1, deadline: 3500 }), 3600, ctx)!;
    assert.equal(second.set.failures, 2);
    assert.equal(second.set.deadline, 4500);
    const third = onDeadline(monitor({ ...m, failures: 2, deadline: 4500 }), 4600, ctx)!;
    assert.equal(third.set.status, 'down');
    assert.equal(third.set.downSince, 4500);
    assert.equal(third.notify?.length, 1);
    assert.match(third.set.downReason as string, /3 check-ins missed or failed in a row/);
  });

  it('counts missed and error check-ins together; a good one resets the count', () => {
    const m = monitor({ status: 'late', deadline: 2500, failureThreshold: 2, failures: 1 });
    assert.equal(onDeadline(m, 2600, ctx)!.set.status, 'down', 'an error check-in, then a missed one');
    const reset = onBeat(monitor({ failureThreshold: 2, failures: 1 }), { at: 1800, status: 'ok' }, ctx);
    assert.equal(reset.set.failures, 0);
    const error = onBeat(monitor({ failureThreshold: 2, failures: 1, status: 'late' }), { at: 2200, status: 'error' }, ctx);
    assert.equal(error.set.status, 'down');
  });

  it('a cron monitor that misses a run waits for the next match', () => {
    const hour = 3_600_000;
    const base = Date.parse('2025-03-01T09:00:00Z');
    const m = monitor({ status: 'late', schedule: '0 * * * *', timezone: 'UTC', periodMs: hour, graceMs: 60_000, failureThreshold: 2, deadline: base + 60_000 });
    const t = onDeadline(m, base + 61_000, ctx)!;
    assert.equal(t.set.deadline, base + hour + 60_000);
  });

  it('recovers only after the recovery threshold of good check-ins', () => {
    const down = monitor({ status: 'down', downSince: 10_000, alertSent: true, deadline: null, recoveryThreshold: 2 });
    const one = onBeat(down, { at: 20_000, status: 'ok' }, ctx);
    assert.equal(one.set.status, undefined);
    assert.equal(one.set.successes, 1);
    const two = onBeat(monitor({ ...down, successes: 1 }), { at: 21_000, status: 'ok' }, ctx);
    assert.equal(two.set.status, 'up');
    assert.equal(two.notify?.length, 1);
  });

  it('recovers with the downtime only where the down alert went out', () => {
    const t = onBeat(monitor({ status: 'down', downSince: 10_000, alertSent: true, deadline: null }), { at: 70_000, status: 'ok' }, ctx);
    assert.equal(t.set.status, 'up');
    assert.match(t.notify![0]!.text, /Down for 1 m 0 s/);
    assert.equal(onBeat(monitor({ status: 'down', downSince: 10_000, alertSent: false }), { at: 70_000, status: 'ok' }, ctx).notify, undefined);
  });

  it('calls a bot deaf after 3 poll windows without a successful getUpdates', () => {
    const polling = { interval_seconds: 20, poll_timeout_seconds: 20, last_get_updates_ok_at: new Date(0).toISOString() };
    assert.equal(failureOf({ at: 59_000, status: 'ok', polling }, 3), null);
    assert.equal(failureOf({ at: 61_000, status: 'ok', polling }, 3)?.deaf, true);
    assert.equal(failureOf({ at: 1, status: 'error', polling: { reason: 'stuck' } }, 3)?.reason, 'stuck');
  });
});

describe('latency histogram', () => {
  it('estimates percentiles within a bucket', () => {
    const b = emptyBuckets();
    for (let i = 0; i < 95; i++) b[bucketOf(100)]! += 1;
    for (let i = 0; i < 5; i++) b[bucketOf(1500)]! += 1;
    assert.ok(Math.abs(quantileMs(b, 0.5)! - 100) / 100 < 0.1);
    assert.ok(Math.abs(quantileMs(b, 0.99)! - 1500) / 1500 < 0.1);
    assert.equal(quantileMs(emptyBuckets(), 0.95), null);
  });
});

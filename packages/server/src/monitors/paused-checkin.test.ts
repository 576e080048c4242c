import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Monitor } from '../store/monitors.js';
import { BOT_PAUSED, onBeat, type HeartbeatContext } from './heartbeat.js';

const ctx: HeartbeatContext = { who: { project: 'Pay Bot', slug: 'poller' }, url: 'http://botpulse/monitors', deafAfterPolls: 3, conflictAlertMs: 120_000 };
const T0 = Date.parse('2026-03-01T10:00:00Z');

function monitor(patch: Partial<Monitor> = {}): Monitor {
  return {
    id: 1, projectId: 1, slug: 'poller', kind: 'heartbeat', source: 'checkin', manualFields: [], stateId: 11, environment: 'production', status: 'up', failures: 0, successes: 3,
    deadline: T0 + 60_000, lastPingAt: T0, lastOkAt: T0, lastReason: null, downSince: null, downReason: null, alertSent: false,
    polling: null, gauges: null, conflictsTotal: 0, conflictSince: null, conflictAlerted: false, createdAt: T0 - 3_600_000, updatedAt: T0,
    periodMs: 20_000, graceMs: 300_000, schedule: null, timezone: null, failureThreshold: 1, recoveryThreshold: 1, url: null, timeoutMs: null, lockKey: null,
    ...patch,
  };
}
const apply = (m: Monitor, t: ReturnType<typeof onBeat>): Monitor => ({ ...m, ...t.set }) as Monitor;

describe("the SDK's paused check-in (the bot stopped polling on purpose)", () => {
  it('pauses the monitor at once, without an alert, and expects nothing meanwhile', () => {
    const t = onBeat(monitor(), { at: T0 + 5000, status: 'paused', polling: { reason: 'the bot stopped polling (bot.stop())', stopped: true } }, ctx);
    assert.equal(t.set.status, 'paused');
    assert.equal(t.set.deadline, null, 'no silence deadline');
    assert.equal(t.set.lastReason, `${BOT_PAUSED}the bot stopped polling (bot.stop())`);
    assert.deepEqual(t.flip && { from: t.flip.from, to: t.flip.to }, { from: 'up', to: 'paused' });
    assert.equal(t.notify, undefined, 'shown, not alerted');
    assert.equal(t.stateId, 11, "the check-in's environment state");
  });

  it("the bot's next ok check-in resumes it; a monitor a person paused stays paused", () => {
    const paused = apply(monitor(), onBeat(monitor(), { at: T0 + 5000, status: 'paused' }, ctx));
    const resumed = onBeat(paused, { at: T0 + 60_000, status: 'ok' }, ctx);
    assert.equal(resumed.set.status, 'up');
    assert.equal(resumed.expect.status, 'paused');
    assert.deepEqual(resumed.flip && { from: resumed.flip.from, to: resumed.flip.to }, { from: 'paused', to: 'up' });
    assert.ok(resumed.set.deadline! > T0 + 60_000, 'watched again');
    assert.equal(resumed.notify, undefined);

    const byPerson = monitor({ status: 'paused', deadline: null, lastReason: null });
    const ignored = onBeat(byPerson, { at: T0 + 60_000, status: 'ok' }, ctx);
    assert.equal(ignored.set.status, undefined, 'still paused');
    assert.equal(ignored.flip, undefined);
  });

  it('an error check-in after a bot pause counts as a failure from a clean state (down with one alert)', () => {
    const paused = apply(monitor({ status: 'down', alertSent: true, downSince: T0 - 1000, failures: 2 }), onBeat(monitor({ status: 'down', alertSent: true, downSince: T0 - 1000 }), { at: T0, status: 'paused' }, ctx));
    const failed = onBeat(paused, { at: T0 + 30_000, status: 'error', polling: { reason: 'polling ended on an error: GrammyError: 401', stopped: true } }, ctx);
    assert.equal(failed.set.status, 'down');
    assert.equal(failed.notify?.length, 1);
    assert.equal(failed.notify?.[0]?.kind, 'failing', 'a loop that ended is down, not deaf');
  });

  it("the last check-in of a loop that ended on an error takes the monitor down at once, as 'failing', not 'deaf'", () => {
    const t = onBeat(monitor(), { at: T0 + 1000, status: 'error', polling: { reason: 'polling ended on an error: Error: order 7 failed', stopped: true } }, ctx);
    assert.equal(t.set.status, 'down');
    assert.equal(t.notify?.[0]?.kind, 'failing');
    assert.match(t.set.downReason ?? '', /polling ended on an error/);
    const deaf = onBeat(monitor(), { at: T0 + 1000, status: 'error', polling: { reason: 'no successful getUpdates for 90 s' } }, ctx);
    assert.equal(deaf.notify?.[0]?.kind, 'deaf', 'a live loop that cannot get updates is still deaf');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Monitor } from '../store/monitors.js';
import { onBeat, type HeartbeatContext } from './heartbeat.js';
import { judgeSignals, readBotSignals, signalLimits, type SignalLimits } from './signals.js';

const T0 = Date.parse('2026-12-05T10:00:00Z');
const MINUTE = 60_000;
const limits: SignalLimits = signalLimits({ updateLagMs: null, updateLagForMs: null }, { updateLag: { value: 60_000, forMs: 5 * MINUTE }, throttle: { value: 30_000, forMs: 3 * MINUTE }, webhookErrorRecentMs: 600_000 });
const ctx: HeartbeatContext = { who: { project: 'Pay Bot', slug: 'hook-bot', environment: 'production' }, url: 'http://botpulse/monitors#monitor-1', deafAfterPolls: 3, conflictAlertMs: 120_000, signals: limits };

function monitor(patch: Partial<Monitor> = {}): Monitor {
  return {
    id: 1, projectId: 1, slug: 'hook-bot', kind: 'heartbeat', source: 'checkin', manualFields: [], stateId: 11, environment: 'production', status: 'up', failures: 0, successes: 3,
    deadline: T0 + 60_000, lastPingAt: T0, lastOkAt: T0, lastReason: null, downSince: null, downReason: null, alertSent: false,
    polling: null, gauges: null, signals: null, conflictsTotal: 0, conflictSince: null, conflictAlerted: false, createdAt: T0 - 3_600_000, updatedAt: T0,
    periodMs: 60_000, graceMs: 240_000, schedule: null, timezone: null, failureThreshold: 1, recoveryThreshold: 1, url: null, timeoutMs: null, lockKey: null, updateLagMs: null, updateLagForMs: null,
    ...patch,
  };
}

const minute = (i: number, patch: Record<string, unknown> = {}) => ({ start: new Date(T0 + i * MINUTE).toISOString(), updates: 10, dated: 10, lag_p50_s: 1, lag_p95_s: 2, lag_max_s: 3, throttled: 0, retry_after_s: 0, ...patch });

/** Feeds check-ins (each a `contexts.bot_signals`) through onBeat, applying each transition; returns the notifications. */
function feed(reports: unknown[], start: Monitor = monitor(), context: HeartbeatContext = ctx) {
  let m = start;
  const notes: { kind: string; text: string }[] = [];
  reports.forEach((raw, i) => {
    const at = T0 + (i + 1) * 20_000;
    const t = onBeat(m, { at, status: 'ok', receivedAt: at, signals: readBotSignals(raw, at) }, context);
    m = { ...m, ...t.set } as Monitor;
    for (const n of t.notify ?? []) notes.push({ kind: n.kind, text: n.text });
  });
  return { m, notes };
}

describe('bot signals: webhook health', () => {
  const failing = { checked_at: new Date(T0).toISOString(), url_set: true, pending_update_count: 57, last_error_date: new Date(T0 - 30_000).toISOString(), last_error_message: 'Connection refused' };
  const healthy = { ...failing, pending_update_count: 0 };

  it('one alert while Telegram cannot deliver, one recovery when it delivers again', () => {
    const { notes, m } = feed([{ webhook: failing }, { webhook: failing }, { webhook: failing }, { webhook: healthy }, { webhook: healthy }]);
    assert.deepEqual(notes.map((n) => n.kind), ['webhook_failing', 'webhook_ok']);
    assert.match(notes[0]!.text, /Webhook failing/);
    assert.match(notes[0]!.text, /Telegram could not reach your webhook: Connection refused; 57 updates waiting/);
    assert.match(notes[1]!.text, /Webhook delivering again/);
    assert.equal(m.signals?.rules.webhook.state, 'inactive');
  });

  it('an old error, or one with nothing waiting, is history; a missing webhook is a problem', () => {
    const old = { ...failing, last_error_date: new Date(T0 - 3_600_000).toISOString() };
    assert.deepEqual(feed([{ webhook: old }, { webhook: healthy }]).notes, []);
    const unset = feed([{ webhook: { ...healthy, url_set: false, pending_update_count: 4 } }]).notes;
    assert.match(unset[0]!.text, /no webhook set for this bot.*4 updates waiting/);
  });

  it('a getWebhookInfo that failed in the bot decides nothing', () => {
    const { notes } = feed([{ webhook: failing }, { webhook: { ...healthy, check_error: 'fetch failed' } }]);
    assert.deepEqual(notes.map((n) => n.kind), ['webhook_failing'], 'still failing: the bot could not ask');
  });
});

describe('bot signals: update lag', () => {
  it('p95 above 60 s for 5 minutes: exactly one alert, at the fifth minute; one recovery when it drops', () => {
    const late = (i: number) => minute(i, { lag_p50_s: 90, lag_p95_s: 90, lag_max_s: 95 });
    // Each check-in repeats the last minutes, as the SDK does: every minute is judged once.
    const reports = [];
    for (let i = 0; i < 8; i++) reports.push({ minutes: [late(i - 2), late(i - 1), late(i)].filter((_, k) => i - 2 + k >= 0) });
    const fired = feed(reports);
    assert.deepEqual(fired.notes.map((n) => n.kind), ['update_lag'], 'one alert over 8 late minutes');
    assert.match(fired.notes[0]!.text, /Updates late/);
    assert.match(fired.notes[0]!.text, /waited 90 s \(p95; max 95 s\).*above 60 s for 5 minutes/);
    const firstFour = feed(reports.slice(0, 4));
    assert.deepEqual(firstFour.notes, [], 'not before five minutes');
    assert.equal(firstFour.m.signals?.rules.update_lag.state, 'pending');
    const recovered = feed([{ minutes: [minute(8)] }], fired.m);
    assert.deepEqual(recovered.notes.map((n) => n.kind), ['update_lag_ok']);
    assert.match(recovered.notes[0]!.text, /Updates on time again/);
  });

  it('a minute without updates or a hole in the reports starts the streak again', () => {
    const late = (i: number) => minute(i, { lag_p95_s: 90 });
    const idle = feed([{ minutes: [late(0), late(1), late(2), minute(3, { updates: 0, dated: 0, lag_p95_s: null }), late(4), late(5), late(6), late(7)] }]);
    assert.deepEqual(idle.notes, []);
    const hole = feed([{ minutes: [late(0), late(1), late(2)] }, { minutes: [late(5), late(6), late(7), late(8)] }]);
    assert.deepEqual(hole.notes, []);
  });

  it("a monitor's own limit wins, and 0 turns the rule off", () => {
    const lag = (i: number) => minute(i, { lag_p95_s: 20 });
    const reports = [{ minutes: [0, 1].map(lag) }];
    const own = { ...ctx, signals: signalLimits({ updateLagMs: 10_000, updateLagForMs: 2 * MINUTE }, { updateLag: { value: 60_000, forMs: 5 * MINUTE }, throttle: null, webhookErrorRecentMs: 600_000 }) };
    assert.deepEqual(feed(reports, monitor(), own).notes.map((n) => n.kind), ['update_lag']);
    const off = { ...ctx, signals: signalLimits({ updateLagMs: 0, updateLagForMs: null }, { updateLag: { value: 1000, forMs: MINUTE }, throttle: null, webhookErrorRecentMs: 600_000 }) };
    assert.deepEqual(feed([{ minutes: [0, 1, 2, 3, 4, 5].map((i) => minute(i, { lag_p95_s: 500 })) }], monitor(), off).notes, []);
  });

  it('turned off while it alerts: the alert ends with a recovery that says so', () => {
    const fired = feed([{ minutes: [0, 1, 2, 3, 4].map((i) => minute(i, { lag_p95_s: 500 })) }]);
    assert.equal(fired.m.signals?.rules.update_lag.state, 'firing');
    const off = { ...ctx, signals: { ...limits, lagMs: null } };
    const ended = feed([{ minutes: [minute(5, { lag_p95_s: 500 })] }, { minutes: [minute(6, { lag_p95_s: 500 })] }], fired.m, off);
    assert.deepEqual(ended.notes.map((n) => n.kind), ['update_lag_ok']);
    assert.match(ended.notes[0]!.text, /turned off/);
    assert.equal(ended.m.signals?.rules.update_lag.state, 'inactive');
  });

  it('a paused monitor records the minutes without judging them', () => {
    const { notes, m } = feed([{ minutes: [0, 1, 2, 3, 4, 5].map((i) => minute(i, { lag_p95_s: 500 })) }], monitor({ status: 'paused', deadline: null }));
    assert.deepEqual(notes, []);
    assert.equal(m.signals?.minutes.length, 6);
    assert.equal(m.signals?.judgedUpTo, T0 + 5 * MINUTE);
  });
});

describe('bot signals: Telegram throttling', () => {
  it('retry_after totalling 30 s or more in each of 3 minutes: one alert, one recovery', () => {
    const throttled = (i: number) => minute(i, { throttled: 6, retry_after_s: 45, throttled_methods: { sendMessage: 5, editMessageText: 1 } });
    const { notes, m } = feed([{ minutes: [throttled(0), throttled(1)] }, { minutes: [throttled(1), throttled(2), throttled(3)] }, { minutes: [throttled(3), minute(4)] }]);
    assert.deepEqual(notes.map((n) => n.kind), ['throttled', 'throttled_ok']);
    assert.match(notes[0]!.text, /429 Too Many Requests to 6 calls \(sendMessage 5, editMessageText 1\) with retry_after totalling 45 s/);
    assert.deepEqual(m.signals?.totals, { updates: 50, throttled: 24, retryAfterSeconds: 180 }, 'each minute counted once');
  });
});

describe('bot signals: junk is read around, never a reason to fail', () => {
  const junk: unknown[] = [
    'not an object', 42, [], { minutes: 'soon' }, { minutes: [null, 7, 'x', {}] }, { minutes: [{ start: 'yesterday' }] },
    { minutes: [{ start: 1e30 }] }, { minutes: [{ start: new Date(T0).toISOString(), updates: -1, lag_p95_s: 'slow', retry_after_s: Infinity, throttled_methods: { '<script>': 5, sendMessage: 'x' } }] },
    { minutes: [minute(0, { throttled_methods: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`m${i}`, 1])) })] },
    { webhook: 'down' }, { webhook: { pending_update_count: 'many', last_error_date: {}, last_error_message: 12, url_set: 'yes', checked_at: [] } },
    { minutes: [{ start: { toString: 1 } }], webhook: null }, { __proto__: { minutes: [] } }, { minutes: new Array(500).fill(minute(0)) },
  ];

  it('reads what it can of every junk report and names what it left out', () => {
    for (const raw of junk) {
      const report = readBotSignals(raw, T0);
      assert.ok(report, `a report for ${JSON.stringify(raw)?.slice(0, 60)}`);
      assert.ok(report.minutes.length <= 60);
      for (const m of report.minutes) for (const n of Object.values(m.methods)) assert.equal(typeof n, 'number');
      const t = onBeat(monitor(), { at: T0, status: 'ok', receivedAt: T0, signals: report }, ctx);
      assert.equal(t.set.status, 'up', 'the check-in still counts');
    }
    const bad = readBotSignals(junk[7], T0)!;
    assert.ok(bad.ignoredCount >= 4);
    assert.deepEqual(bad.minutes[0]!.methods, {}, 'no method name that is not one, no count that is no number');
    assert.equal(readBotSignals(junk[8], T0)!.minutes[0]!.methods && Object.keys(readBotSignals(junk[8], T0)!.minutes[0]!.methods).length, 10, 'bounded');
    assert.equal(readBotSignals(undefined, T0), null, 'a Sentry SDK check-in has none');
    const t = onBeat(monitor(), { at: T0, status: 'ok', receivedAt: T0, signals: readBotSignals(junk[7], T0) }, ctx);
    assert.ok((t.set.signals?.ignored.count ?? 0) >= 4, 'counted on the state (the card shows it)');
  });

  it('keeps the state bounded: at most 10 minutes kept', () => {
    const { m } = feed([{ minutes: Array.from({ length: 30 }, (_, i) => minute(i)) }]);
    assert.equal(m.signals?.minutes.length, 10);
    assert.equal(judgeSignals(m.signals, readBotSignals({ minutes: [minute(29)] }, T0)!, limits, T0, true).state.totals.updates, 300, 'a repeated minute is not counted again');
  });
});

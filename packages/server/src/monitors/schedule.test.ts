import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { monitorConfigSettings } from './checkin.js';
import { monitorDefinition } from './definition.js';
import { nextCronMatch, nextExpectedAt, scheduleProblem } from './schedule.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const every = (schedule: string, timezone: string | null = null) => ({ periodMs: 60_000, schedule, timezone });

describe('cron schedules (croner)', () => {
  it('reads day and month names', () => {
    // 2026-03-28 is a Saturday: the next Monday 09:00 UTC is 2026-03-30.
    assert.equal(iso(nextCronMatch('0 9 * * MON', at('2026-03-28T12:00:00Z'), 'UTC')), '2026-03-30T09:00:00.000Z');
    assert.equal(iso(nextCronMatch('30 6 1 JAN,JUL *', at('2026-03-28T12:00:00Z'), 'UTC')), '2026-07-01T06:30:00.000Z');
    assert.equal(iso(nextCronMatch('0 18 * * mon-fri', at('2026-03-28T12:00:00Z'), 'UTC')), '2026-03-30T18:00:00.000Z', 'names in any case, in ranges');
    assert.equal(scheduleProblem('0 9 * * MON'), null);
  });

  it('reads macros', () => {
    const from = at('2026-03-28T12:34:00Z');
    assert.equal(iso(nextCronMatch('@hourly', from, 'UTC')), '2026-03-28T13:00:00.000Z');
    assert.equal(iso(nextCronMatch('@daily', from, 'UTC')), '2026-03-29T00:00:00.000Z');
    assert.equal(iso(nextCronMatch('@weekly', from, 'UTC')), '2026-03-29T00:00:00.000Z', 'Sunday midnight');
    assert.equal(iso(nextCronMatch('@monthly', from, 'UTC')), '2026-04-01T00:00:00.000Z');
    assert.equal(iso(nextCronMatch('@yearly', from, 'UTC')), '2027-01-01T00:00:00.000Z');
    for (const macro of ['@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually']) assert.equal(scheduleProblem(macro), null, macro);
  });

  it('computes matches in the monitor time zone, across a DST change', () => {
    // Europe/Berlin moves from CET (+1) to CEST (+2) at 02:00 on 2026-03-29.
    const berlin = (after: string) => iso(nextExpectedAt(every('0 9 * * *', 'Europe/Berlin'), at(after)));
    assert.equal(berlin('2026-03-28T07:00:00Z'), '2026-03-28T08:00:00.000Z', '09:00 CET');
    assert.equal(berlin('2026-03-28T08:00:00Z'), '2026-03-29T07:00:00.000Z', '09:00 CEST the next day: 23 hours later');
    // 02:30 does not exist on the day of the change: the job is expected when the clock jumps (03:00 CEST).
    assert.equal(iso(nextCronMatch('30 2 * * *', at('2026-03-28T12:00:00Z'), 'Europe/Berlin')), '2026-03-29T01:00:00.000Z');
    // In autumn (CEST → CET on 2026-10-25) a 09:00 job moves to 08:00 UTC.
    assert.equal(iso(nextCronMatch('0 9 * * *', at('2026-10-24T08:00:00Z'), 'Europe/Berlin')), '2026-10-25T08:00:00.000Z');
    assert.equal(iso(nextCronMatch('0 9 * * *', at('2025-03-01T07:00:00Z'), 'Europe/Moscow')), '2025-03-02T06:00:00.000Z');
  });

  it('refuses impossible dates and unreadable schedules with the reason', () => {
    assert.match(scheduleProblem('0 0 31 4 *')!, /never runs/);
    assert.match(scheduleProblem('0 0 30 2 *')!, /never runs/);
    assert.match(scheduleProblem('0 0 31 2,4,6 *')!, /never runs/);
    assert.equal(scheduleProblem('0 0 29 2 *'), null, 'leap days happen');
    assert.match(scheduleProblem('61 * * * *')!, /cannot be read/);
    assert.match(scheduleProblem('* * * * * *')!, /cannot be read.*5 fields/, 'seconds are not a cron monitor schedule');
    assert.match(scheduleProblem('every day')!, /cannot be read/);
    assert.match(scheduleProblem('0 9 * * *', 'Mars/Olympus')!, /unknown time zone/);
  });

  it('answers at once for a schedule that never runs (was a 2.6 s scan of every minute of a year)', () => {
    const m = every('0 0 31 4 *');
    const started = performance.now();
    for (let i = 0; i < 100; i++) assert.equal(nextExpectedAt(m, at('2026-01-01T00:00:00Z') + i * 60_000), at('2026-01-01T00:00:00Z') + i * 60_000 + 60_000, 'falls back to the period');
    // Not a timing target (benchmarks hold those): the parsed schedule is cached, so 100 calls cost
    // one parse. The old scan took 2.6 s a call (260 s here); the bound is that, divided by 13, so
    // a loaded CI machine never trips it while the old code always would.
    assert.ok(performance.now() - started < 20_000);
  });

  it('is refused where a monitor is defined: the API body and the config file, and a check-in monitor_config', () => {
    const refused = monitorDefinition.safeParse({ slug: 'billing', schedule: '0 0 31 4 *' });
    assert.equal(refused.success, false);
    assert.match(refused.error!.issues[0]!.message, /never runs/);
    assert.deepEqual(refused.error!.issues[0]!.path, ['schedule']);
    assert.equal(monitorDefinition.safeParse({ slug: 'billing', schedule: '@daily', timezone: 'Europe/Berlin' }).success, true);
    assert.equal(monitorDefinition.safeParse({ slug: 'billing', schedule: '0 9 * * MON' }).success, true);

    for (const unit of ['constructor', 'toString']) {
      const inherited = monitorConfigSettings({ schedule: { type: 'interval', value: 5, unit }, checkin_margin: 5 });
      assert.equal(inherited.problem, null, 'an unknown unit is not refused (a later SDK may send one)');
      assert.deepEqual(inherited.settings, { graceMs: 300_000 }, `"${unit}" is no unit: the period is left as it was, not NaN`);
      assert.match(inherited.ignored[0]!, new RegExp(`unit "${unit}" is no interval unit`), 'and what was left out is named');
    }
    const bad = monitorConfigSettings({ schedule: { type: 'crontab', value: '0 0 30 2 *' }, checkin_margin: 5 });
    assert.match(bad.problem!, /monitor_config\.schedule: .*never runs/);
    assert.deepEqual(bad.settings, {}, 'nothing of a refused config is applied');
    const good = monitorConfigSettings({ schedule: { type: 'crontab', value: '@daily' }, timezone: 'Europe/Berlin', checkin_margin: 5 });
    assert.equal(good.problem, null);
    assert.deepEqual(good.settings, { schedule: '@daily', timezone: 'Europe/Berlin', graceMs: 300_000 });
    assert.match(monitorConfigSettings({ schedule: { type: 'crontab', value: '0 9 * * *' }, timezone: 'Nowhere/Town' }).problem!, /unknown time zone/);
  });
});

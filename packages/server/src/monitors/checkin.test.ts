import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { environmentOf, monitorConfigSettings, slugCandidates, slugify } from './checkin.js';
import { itemDurationsMs } from './latency.js';

describe('check-in slugs, read as Relay and Sentry read them', () => {
  it('slugifies free text and keeps 50 characters', () => {
    assert.equal(slugify('Nightly Backup Job'), 'nightly-backup-job');
    assert.equal(slugify('billing/daily'), 'billingdaily', 'Django slugify drops "/"');
    assert.equal(slugify('  Crème brûlée -- export_v2 '), 'creme-brulee-export_v2', 'accents folded, runs of spaces and hyphens made one');
    assert.equal(slugify('x'.repeat(120)), 'x'.repeat(50));
    assert.equal(slugify(`${'a'.repeat(49)} tail`), 'a'.repeat(49), 'a hyphen left at the cut is dropped');
    assert.equal(slugify('🦀'.repeat(60) + 'crab'), null, 'Relay trims to 50 characters first: only emoji remain, nothing to slugify');
    for (const bad of ['', '!!!', '---', 42, null, undefined, { slug: 'x' }]) assert.equal(slugify(bad), null, JSON.stringify(bad));
  });

  it('looks up an exact legacy slug first, so monitors made before keep theirs', () => {
    assert.deepEqual(slugCandidates('bot.poller'), { exact: 'bot.poller', slug: 'botpoller' });
    assert.deepEqual(slugCandidates('MyJob'), { exact: 'MyJob', slug: 'myjob' });
    assert.deepEqual(slugCandidates('poller'), { exact: null, slug: 'poller' });
    assert.deepEqual(slugCandidates('Nightly Backup Job'), { exact: null, slug: 'nightly-backup-job' });
  });

  it("names the check-in's environment, production by default", () => {
    assert.equal(environmentOf('staging'), 'staging');
    assert.equal(environmentOf('  '), 'production');
    assert.equal(environmentOf(undefined), 'production');
    assert.equal(environmentOf(7), 'production');
    assert.equal(environmentOf('e'.repeat(100)).length, 64);
  });

  it('reads monitor_config as Sentry SDKs send it', () => {
    assert.deepEqual(monitorConfigSettings({ schedule: { type: 'interval', value: 20, unit: 'second' }, checkin_margin: 4.67, failure_issue_threshold: 2, recovery_threshold: 3 }).settings, {
      periodMs: 20_000,
      schedule: null,
      graceMs: 280_200,
      failureThreshold: 2,
      recoveryThreshold: 3,
    });
    assert.match(monitorConfigSettings({ schedule: { type: 'interval', value: 0, unit: 'minute' } }).problem!, /not positive/);
    assert.deepEqual(monitorConfigSettings('nonsense'), { settings: {}, problem: null, ignored: [] });
    assert.deepEqual(monitorConfigSettings({ schedule: { type: 'interval', value: 5, unit: 'minute' } }).ignored, [], 'nothing is left out of a readable config');
  });

  it('leaves out, and names, the parts it cannot read (a later SDK may send them)', () => {
    const read = monitorConfigSettings({
      schedule: { type: 'solar', value: 'dawn' },
      checkin_margin: -3,
      failure_issue_threshold: '2',
      recovery_threshold: 4,
    });
    assert.equal(read.problem, null);
    assert.deepEqual(read.settings, { recoveryThreshold: 4 });
    assert.deepEqual(read.ignored, [
      'monitor_config.schedule of type "solar" with value "dawn" is no interval or crontab this server reads',
      'monitor_config.checkin_margin -3 is not a usable number',
      'monitor_config.failure_issue_threshold "2" is not a usable number',
    ]);
    const unit = monitorConfigSettings({ schedule: { type: 'interval', value: 1, unit: 'x'.repeat(100) } }).ignored;
    assert.equal(unit.length, 1);
    assert.ok(unit[0]!.length < 200, 'a long value is shortened in the note');
  });
});

describe('latency from parked items', () => {
  const buf = (v: unknown) => Buffer.from(JSON.stringify(v));
  it('takes a transaction from start to end', () => {
    assert.deepEqual(itemDurationsMs('transaction', buf({ start_timestamp: 100, timestamp: 100.25 })), [250]);
    assert.deepEqual(itemDurationsMs('transaction', buf({ start_timestamp: '2026-01-01T00:00:00.000Z', timestamp: '2026-01-01T00:00:01.500Z' })), [1500]);
    assert.deepEqual(itemDurationsMs('transaction', buf({ start_timestamp: 5, timestamp: 4 })), []);
  });

  it('takes the segment spans of a span v2 container (and a lone v1 span), not their children', () => {
    const container = {
      version: 2,
      items: [
        { span_id: 'b', parent_span_id: 'a', is_segment: false, start_timestamp: 10, end_timestamp: 10.1 },
        { span_id: 'a', is_segment: true, start_timestamp: 10, end_timestamp: 10.4 },
        { span_id: 'c', start_timestamp: 20, end_timestamp: 20.05 },
        { span_id: 'd', parent_span_id: 'c', start_timestamp: 20, end_timestamp: 20.01 },
        'junk',
        { span_id: 'e', is_segment: true, start_timestamp: 30 },
      ],
    };
    const ms = itemDurationsMs('span', buf(container)).map((x) => Math.round(x));
    assert.deepEqual(ms, [400, 50]);
    assert.deepEqual(itemDurationsMs('span', buf({ span_id: 'a', is_segment: true, start_timestamp: 1, timestamp: 1.2 })).map(Math.round), [200]);
    assert.deepEqual(itemDurationsMs('span', Buffer.from('not json')), []);
  });
});

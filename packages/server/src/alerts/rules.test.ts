import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import type { IssueChange } from '../store/model.js';
import { failures } from '../lib/failures.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { issueTriggers, resolveRules, RulesResolver } from './rules.js';

const change = (over: Partial<IssueChange> = {}, level: 'error' | 'fatal' = 'error'): IssueChange =>
  ({ issue: { level, status: 'new' }, created: false, regressed: false, unignored: false, newEvents: 1, lastEvent: { level }, ...over }) as unknown as IssueChange;

describe('alert rules', () => {
  const { alerts } = loadConfig({});

  it('gives a new project sensible defaults', () => {
    const rules = resolveRules(alerts, 'any', {});
    assert.equal(rules.newIssue, 'alert');
    assert.equal(rules.regression, 'alert');
    assert.deepEqual(rules.level, { threshold: 'fatal', tier: 'critical' });
    assert.deepEqual(rules.frequency, { count: 10, windowMs: 600_000, tier: 'alert' });
    assert.equal(rules.projectFrequency.tier, 'off');
    assert.equal(rules.cooldownMs, 300_000);
  });

  it('fires new, regression, unignored, level and frequency triggers', () => {
    const rules = resolveRules(alerts, 'any', {});
    assert.deepEqual(issueTriggers(change({ created: true }), rules, false), [{ reason: 'new', tier: 'alert' }]);
    assert.deepEqual(issueTriggers(change({ regressed: true }), rules, false), [{ reason: 'regression', tier: 'alert' }]);
    assert.deepEqual(issueTriggers(change({ unignored: true }), rules, false), [{ reason: 'unignored', tier: 'alert' }]);
    assert.deepEqual(issueTriggers(change({}, 'fatal'), rules, false), [{ reason: 'level', tier: 'critical' }]);
    assert.deepEqual(issueTriggers(change(), rules, true), [{ reason: 'frequency', tier: 'alert' }]);
    assert.deepEqual(issueTriggers(change(), rules, false), []);
  });

  it('applies BOTPULSE_ALERT_RULES for * and the slug, then the project settings', () => {
    const config = loadConfig({
      ERROR_ALERT_CHAT_ID: '-1001',
      BOTPULSE_ALERT_RULES: JSON.stringify({ '*': { level: 'error' }, 'pay-bot': { newIssue: 'critical', frequency: '5/1m', chatIds: ['-1002'] } }),
    }).alerts;
    const pay = resolveRules(config, 'pay-bot', { alert_rules: JSON.stringify({ cooldownSeconds: 60 }) });
    assert.equal(pay.newIssue, 'critical');
    assert.deepEqual(pay.level, { threshold: 'error', tier: 'critical' });
    assert.deepEqual(pay.frequency, { count: 5, windowMs: 60_000, tier: 'alert' });
    assert.deepEqual(pay.chatIds, ['-1002']);
    assert.equal(pay.cooldownMs, 60_000);
    assert.deepEqual(resolveRules(config, 'other', {}).chatIds, ['-1001']);
    assert.deepEqual(resolveRules(config, 'other', { alert_chat_id: '-1003' }).chatIds, ['-1003'], 'the dashboard setting wins');
  });

  it('refuses bad alert values at start, naming the key', () => {
    const bad: Record<string, string> = {
      ERROR_ALERT_COOLDOWN: 'soon',
      ERROR_ALERT_CHAT_ID: 'my group',
      BOTPULSE_TELEGRAM_ADMINS: 'ada',
      BOTPULSE_TELEGRAM_TOKEN: 'not-a-token',
      BOTPULSE_ALERT_FREQUENCY: '10 per minute',
      BOTPULSE_ALERT_LEVEL: 'loud',
      BOTPULSE_ALERT_RULES: '{"pay-bot": {"newIssue": "page-everyone"}}',
      BOTPULSE_ALERT_SILENT: 'maybe',
      BOTPULSE_ALERT_WEBHOOK_SECRET: 'short',
    };
    for (const [key, value] of Object.entries(bad)) assert.throws(() => loadConfig({ [key]: value }), new RegExp(key), `${key}=${value}`);
    assert.equal(loadConfig({ BOTPULSE_ALERT_LEVEL: 'critical' }).alerts.defaults.level.threshold, 'fatal');
    assert.equal(loadConfig({ BOTPULSE_ALERT_FREQUENCY: 'off' }).alerts.defaults.frequency.tier, 'off');
  });

  it('ignores stored alert rules that cannot be read, and logs and counts it once (not at every cache refresh)', async () => {
    const store = await SqliteStore.open(':memory:');
    try {
      const project = await store.createProject({ name: 'Hand edited', shortIdPrefix: 'H' });
      await store.setProjectSetting(project.id, 'alert_rules', '{"cooldownSeconds": "soon"');
      const lines: { obj: Record<string, unknown>; msg: string }[] = [];
      const logger = { error: (obj: Record<string, unknown>, msg: string) => void lines.push({ obj, msg }), warn: () => undefined };
      const resolver = new RulesResolver(alerts, store, 0, logger);
      const before = failures.get('stored_alert_rules');
      const rules = await resolver.forProject(project);
      await resolver.forProject(project); // the cache has expired (ttl 0): resolved again, not reported again
      assert.deepEqual(rules, alerts.defaults, 'the configured rules apply');
      assert.equal(failures.get('stored_alert_rules') - before, 1, 'counted once');
      assert.equal(lines.length, 1, 'logged once');
      assert.match(lines[0]!.msg, /alert_rules\) cannot be read/);
      assert.match(String(lines[0]!.obj['err']), /not JSON/);
      assert.equal(lines[0]!.obj['project'], project.slug);
    } finally {
      await store.close();
    }
  });
});


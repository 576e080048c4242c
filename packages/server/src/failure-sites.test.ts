import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { FakeTelegram } from '@botpulse/fake-telegram';
import type { Logger } from 'pino';
import { BotApi } from './alerts/channels/telegram/api.js';
import { AlertBot } from './alerts/channels/telegram/bot.js';
import { loadConfig } from './config/load.js';
import { failures } from './lib/failures.js';
import { LogRuleEvaluator } from './logs/evaluator.js';
import { RetentionJob } from './retention.js';
import { ProjectDeleter } from './http/project-deleter.js';
import { SqliteAlertStore } from './store/sqlite/alerts.js';
import { SqliteStore } from './store/sqlite/index.js';
import { SqliteLogStore } from './store/sqlite/logs.js';

/**
 * Failures the server carries on from are logged and counted (`botpulse_failures_total{site}`,
 * docs/architecture.md "Failure paths (audit)"), each made real here by a store whose table is gone.
 */
describe('failure sites that log and count', () => {
  const dirs: string[] = [];
  let store: SqliteStore;
  let lines: { obj: Record<string, unknown>; msg: string; level: string }[];
  let logger: Logger;
  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-failure-sites-'));
    dirs.push(dir);
    store = await SqliteStore.open(join(dir, 'botpulse.db'));
    lines = [];
    const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ obj, msg, level });
    logger = { error: at('error'), warn: at('warn'), info: () => undefined, debug: () => undefined, child: () => logger } as unknown as Logger;
  });
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("a failed chunk of a project's deletion: logged, counted, tried again until the project is gone", async () => {
    const project = await store.createProject({ name: 'Doomed' });
    store.db.exec('ALTER TABLE alert_log RENAME TO alert_log_away');
    const before = failures.get('project_delete');
    const deleter = new ProjectDeleter(store, logger, () => undefined, 20);
    await deleter.delete(project);
    while (failures.get('project_delete') === before) await new Promise((r) => setTimeout(r, 10));
    assert.ok(deleter.isRunning(project.id), 'still being deleted: retried');
    assert.ok(lines.some((l) => l.level === 'warn' && /could not remove part of a deleted project's data/.test(l.msg) && l.obj.site === 'project_delete'));
    assert.ok(await store.getProject(project.id), 'not gone yet');
    store.db.exec('ALTER TABLE alert_log_away RENAME TO alert_log');
    await deleter.settled(project.id);
    assert.equal(await store.getProject(project.id), null, 'the retry finished the deletion');
    deleter.stop();
  });

  it('a failed retention run: logged, counted, tried again the next day', async () => {
    store.db.exec('DROP TABLE raw_items');
    const before = failures.get('retention');
    const result = await new RetentionJob(store, loadConfig({ BOTPULSE_DATA_DIR: dirs.at(-1)! }), logger).runOnce();
    assert.deepEqual(result, { events: 0, rawItems: 0, latencyMinutes: 0, logLines: 0 });
    assert.equal(failures.get('retention') - before, 1);
    assert.ok(lines.some((l) => l.level === 'error' && /retention run failed/.test(l.msg) && l.obj['site'] === 'retention'));
    await store.close();
  });

  it('log rules that cannot read their cursor: logged, counted, tried again (the lines wait after it)', async () => {
    const config = loadConfig({ BOTPULSE_DATA_DIR: dirs.at(-1)! });
    store.db.exec('DROP TABLE log_rule_cursor');
    const before = failures.get('log_rules');
    const evaluator = new LogRuleEvaluator({
      logs: new SqliteLogStore(store.db),
      store,
      config: config.logs,
      spoolEvents: async () => undefined,
      lease: async () => true,
      notify: () => undefined,
      clock: { now: () => Date.now() },
      logger,
      workerId: 'w-logs',
      pollMs: 10,
    });
    evaluator.start();
    while (failures.get('log_rules') - before < 2) await new Promise((r) => setTimeout(r, 10));
    await evaluator.stop();
    assert.ok(lines.some((l) => l.level === 'error' && /log rules could not be evaluated/.test(l.msg) && l.obj['site'] === 'log_rules'));
    await store.close();
  });

  it('an alert bot that cannot release its poller lease on stop (once a silent catch): logged and counted', async () => {
    const tg = await FakeTelegram.start();
    try {
      const { token } = tg.createBot();
      const config = loadConfig({ BOTPULSE_DATA_DIR: dirs.at(-1)! });
      const bot = new AlertBot({ api: new BotApi(token, tg.apiRoot), store, alerts: new SqliteAlertStore(store.db), config: config.alerts, publicUrl: config.publicUrl, logger, workerId: 'w-lease' });
      store.db.exec('DROP TABLE alert_leases');
      const before = failures.get('alert_bot_lease_release');
      await bot.stop();
      assert.equal(failures.get('alert_bot_lease_release') - before, 1);
      assert.ok(lines.some((l) => /could not release its lease/.test(l.msg)));
    } finally {
      await tg.stop();
      await store.close();
    }
  });
});

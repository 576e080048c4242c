import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { failures } from '../lib/failures.js';
import { SqliteAlertStore } from '../store/sqlite/alerts.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { OutboxSender } from './outbox.js';
import { RulesResolver } from './rules.js';

/**
 * The outbox loop carries on when its store fails: each failed turn, and each failed look at when
 * the next row is due (once a silent `.catch(() => null)`), is logged and counted
 * (`botpulse_failures_total{site="alert_outbox_turn"}`).
 */
describe('alert outbox when its store fails', () => {
  let dir: string;
  let store: SqliteStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-outbox-failures-'));
    store = await SqliteStore.open(join(dir, 'botpulse.db'));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs and counts every failed turn and every failed read of the next due time', async () => {
    const config = loadConfig({ BOTPULSE_DATA_DIR: dir });
    // A real store failure: the outbox table is gone.
    store.db.exec('DROP TABLE alert_outbox');
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const record = (obj: Record<string, unknown>, msg: string) => void lines.push({ obj, msg });
    const logger = { error: record, warn: record, info: () => undefined, debug: () => undefined, child: () => logger } as unknown as import('pino').Logger;
    const sender = new OutboxSender({
      store,
      alerts: new SqliteAlertStore(store.db),
      channels: {},
      config: config.alerts,
      publicUrl: config.publicUrl,
      rules: new RulesResolver(config.alerts, store),
      logger,
      workerId: 'w-failures',
      idleMs: 5,
    });
    const before = failures.get('alert_outbox_turn');
    sender.start();
    try {
      for (let i = 0; i < 1500 && failures.get('alert_outbox_turn') - before < 4; i++) await new Promise((r) => setTimeout(r, 10));
    } finally {
      await sender.stop();
    }
    assert.ok(failures.get('alert_outbox_turn') - before >= 4, 'failed turns are counted');
    assert.ok(lines.some((l) => /alert outbox turn failed/.test(l.msg)), 'a failed turn is logged');
    assert.ok(lines.some((l) => /next alert is due/.test(l.msg)), 'a failed read of the next due time is logged');
    assert.ok(lines.every((l) => l.obj['site'] === 'alert_outbox_turn'));
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Kysely, Migrator, SqliteDialect, type Migration } from 'kysely';
import { migrations } from '../migrations/index.js';
import { monitorStoreContract } from '../monitors.contract.js';
import { SqliteStore } from './index.js';
import { SqliteMonitorStore } from './monitors.js';

monitorStoreContract('SQLite (two connections to one WAL file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-monitors-store-'));
  const first = await SqliteStore.open(join(dir, 'botpulse.db'));
  const second = await SqliteStore.open(join(dir, 'botpulse.db'));
  return {
    store: first,
    a: new SqliteMonitorStore(first.db),
    b: new SqliteMonitorStore(second.db),
    cleanup: async () => {
      await first.close();
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('migration 009: state per environment', () => {
  it('moves every monitor state into monitor_states (same id, no environment yet), marks API settings as set by hand, and the first check-in environment adopts it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-migration-009-'));
    try {
      const store = await SqliteStore.open(join(dir, 'botpulse.db'), { migrate: false });
      const kysely = new Kysely<any>({ dialect: new SqliteDialect({ database: store.db }) });
      const before = await new Migrator({ db: kysely, provider: { getMigrations: async (): Promise<Record<string, Migration>> => migrations } }).migrateTo('006_monitor_outbox');
      assert.equal(before.error, undefined);
      const project = await store.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'P' });
      const insert = store.db.prepare(
        `INSERT INTO monitors (id, project_id, slug, kind, source, status, period_ms, grace_ms, failures, deadline, last_ping_at, down_since, down_reason, alert_sent, polling, created_at, updated_at)
         VALUES (?, ?, ?, 'heartbeat', ?, ?, 60000, 240000, ?, ?, ?, ?, ?, ?, ?, 100, ?)`,
      );
      insert.run(7, project.id, 'poller', 'checkin', 'down', 1, null, 5000, 4000, 'no heartbeat for 300 s', 1, '{"host":"bot-1"}', 6000);
      insert.run(8, project.id, 'nightly', 'api', 'up', 0, 90_000, 8000, null, null, 0, null, 8000);
      store.db.prepare("INSERT INTO monitor_flips (monitor_id, project_id, at, from_status, to_status, reason) VALUES (7, ?, 4000, 'late', 'down', 'no heartbeat')").run(project.id);
      await store.migrate();
      const monitors = new SqliteMonitorStore(store.db);
      const poller = (await monitors.getMonitor(7))!;
      assert.equal(poller.stateId, 7, 'the state keeps the monitor id');
      assert.equal(poller.environment, null);
      assert.deepEqual([poller.status, poller.failures, poller.downSince, poller.downReason, poller.alertSent, poller.polling, poller.updatedAt], ['down', 1, 4000, 'no heartbeat for 300 s', true, { host: 'bot-1' }, 6000]);
      assert.deepEqual(poller.manualFields, []);
      const nightly = (await monitors.getMonitor(8))!;
      assert.equal(nightly.deadline, 90_000);
      assert.deepEqual(nightly.manualFields, ['failureThreshold', 'graceMs', 'lockKey', 'periodMs', 'recoveryThreshold', 'schedule', 'timeoutMs', 'timezone', 'url'], 'API settings kept winning over monitor_config');
      assert.deepEqual((await monitors.dueMonitors(100_000, 10)).map((m) => m.stateId), [8]);
      const adopted = await monitors.ensureEnvironment(7, 'staging', 9000);
      assert.equal(adopted.stateId, 7);
      assert.equal(adopted.status, 'down', 'the down alert stays with the environment it was fed from');
      assert.deepEqual((await monitors.flips(7)).map((f) => f.environment), ['staging']);
      const fresh = await monitors.createMonitor({ projectId: project.id, slug: 'new-one', kind: 'heartbeat', source: 'ping' }, 10_000);
      assert.ok(fresh.stateId > 8, 'new states get new ids');
      await kysely.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

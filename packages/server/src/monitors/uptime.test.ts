import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Monitor, MonitorStatus, MonitorStore } from '../store/monitors.js';
import { PostgresDatabase } from '../store/postgres/database.js';
import { PostgresMonitorStore } from '../store/postgres/monitors.js';
import { one } from '../store/postgres/query.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { SqliteMonitorStore } from '../store/sqlite/monitors.js';
import { createTestSchema, postgresUnavailable } from '../test-support/postgres.js';
import { DAY_MS, HOUR_MS, errorBudget, monitorUptime, uptimeBetween } from './uptime.js';

/**
 * Uptime and the error budget from the state history, on both stores: flips written at known
 * times (the clock is the `now` handed in), exact percentages out. Paused and `new` time is not
 * watched, so it is neither up nor down.
 */
const T0 = Date.UTC(2026, 10, 1); // the monitor is made here
const NOW = T0 + 40 * DAY_MS;

async function flipAt(store: MonitorStore, m: Monitor, to: MonitorStatus, at: number): Promise<Monitor> {
  assert.ok(await store.transition({ stateId: m.stateId, expect: { status: m.status, updatedAt: m.updatedAt }, set: { status: to, updatedAt: Math.max(at, m.updatedAt + 1) }, flip: { at, from: m.status, to, reason: to } }));
  return (await store.getState(m.stateId))!;
}

function uptimeSuite(name: string, open: () => Promise<{ monitors: MonitorStore; projectId: number; cleanup: () => Promise<void> }>, skip: boolean | string = false): void {
  describe(`uptime from the state history: ${name}`, { skip }, () => {
    let monitors: MonitorStore;
    let projectId: number;
    let cleanup: () => Promise<void>;
    before(async () => ({ monitors, projectId, cleanup } = await open()));
    after(async () => cleanup?.());

    it('counts down time over watched time per window; paused time and time before the first ping are neither', async () => {
      let m = await monitors.createMonitor({ projectId, slug: 'poller', kind: 'heartbeat', source: 'api' }, T0);
      m = await flipAt(monitors, m, 'up', T0 + HOUR_MS); // new for its first hour: not watched
      m = await flipAt(monitors, m, 'down', NOW - 20 * DAY_MS); // 6 h down, 20 days ago
      m = await flipAt(monitors, m, 'up', NOW - 20 * DAY_MS + 6 * HOUR_MS);
      m = await flipAt(monitors, m, 'paused', NOW - 3 * DAY_MS); // paused for a day: not counted
      m = await flipAt(monitors, m, 'new', NOW - 2 * DAY_MS); // resumed, waiting for a ping for an hour
      m = await flipAt(monitors, m, 'up', NOW - 2 * DAY_MS + HOUR_MS);
      m = await flipAt(monitors, m, 'late', NOW - 10 * HOUR_MS); // late is still up
      m = await flipAt(monitors, m, 'down', NOW - 9 * HOUR_MS); // 3 h down
      m = await flipAt(monitors, m, 'up', NOW - 6 * HOUR_MS);

      const u = await monitorUptime(monitors, m.id, NOW, 99.5);
      assert.deepEqual(u.uptime24h, { percent: 87.5, countedMs: 24 * HOUR_MS, downMs: 3 * HOUR_MS });
      // 7 days: 1 day paused and 1 hour new leave 143 h watched, 3 of them down.
      assert.deepEqual(u.uptime7d, { percent: (140 / 143) * 100, countedMs: 143 * HOUR_MS, downMs: 3 * HOUR_MS });
      // 30 days: 720 h − 24 h paused − 1 h new = 695 h watched, 9 h down.
      assert.deepEqual(u.uptime30d, { percent: (686 / 695) * 100, countedMs: 695 * HOUR_MS, downMs: 9 * HOUR_MS });
      // 99.5 % of 695 h allows 3.475 h of downtime; 9 h were used.
      assert.deepEqual(u.errorBudget, { targetPercent: 99.5, windowDays: 30, allowedMs: Math.round(695 * HOUR_MS * 0.005), usedMs: 9 * HOUR_MS, leftMs: Math.round(695 * HOUR_MS * 0.005) - 9 * HOUR_MS, leftPercent: ((Math.round(695 * HOUR_MS * 0.005) - 9 * HOUR_MS) / Math.round(695 * HOUR_MS * 0.005)) * 100 });
    });

    it('a monitor made an hour ago counts only that hour; a monitor never heard from has no uptime', async () => {
      let m = await monitors.createMonitor({ projectId, slug: 'young', kind: 'uptime', source: 'api', url: 'http://127.0.0.1:1/health' }, NOW - HOUR_MS);
      m = await flipAt(monitors, m, 'up', NOW - HOUR_MS);
      m = await flipAt(monitors, m, 'down', NOW - 15 * 60_000);
      const u = await monitorUptime(monitors, m.id, NOW, 99.5);
      assert.deepEqual([u.uptime24h.percent, u.uptime30d.percent, u.uptime30d.countedMs, u.uptime30d.downMs], [75, 75, HOUR_MS, 15 * 60_000]);
      const quiet = await monitors.createMonitor({ projectId, slug: 'quiet', kind: 'heartbeat', source: 'api' }, T0);
      const none = await monitorUptime(monitors, quiet.id, NOW, 99.5);
      assert.equal(none.uptime30d.percent, null);
      assert.deepEqual([none.errorBudget.allowedMs, none.errorBudget.usedMs, none.errorBudget.leftPercent], [0, 0, 100]);
    });

    it('a monitor with two environments is down while either is down', async () => {
      const m = await monitors.createMonitor({ projectId, slug: 'envs', kind: 'heartbeat', source: 'checkin' }, NOW - 2 * DAY_MS);
      let prod = await monitors.ensureEnvironment(m.id, 'production', NOW - 2 * DAY_MS);
      let staging = await monitors.ensureEnvironment(m.id, 'staging', NOW - 2 * DAY_MS);
      prod = await flipAt(monitors, prod, 'up', NOW - DAY_MS);
      staging = await flipAt(monitors, staging, 'up', NOW - DAY_MS);
      prod = await flipAt(monitors, prod, 'down', NOW - 12 * HOUR_MS);
      staging = await flipAt(monitors, staging, 'down', NOW - 11 * HOUR_MS);
      prod = await flipAt(monitors, prod, 'up', NOW - 10 * HOUR_MS);
      staging = await flipAt(monitors, staging, 'up', NOW - 6 * HOUR_MS); // down from −12 h to −6 h: 6 h
      assert.deepEqual((await monitorUptime(monitors, m.id, NOW, 99.5)).uptime24h, { percent: 75, countedMs: 24 * HOUR_MS, downMs: 6 * HOUR_MS });
    });
  });
}

uptimeSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-uptime-'));
  const store = await SqliteStore.open(join(dir, 'botpulse.db'));
  const project = await store.createProject({ name: 'Uptime', shortIdPrefix: 'U' });
  return {
    monitors: new SqliteMonitorStore(store.db),
    projectId: project.id,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const pgSkip = await postgresUnavailable();
uptimeSuite(
  'PostgreSQL',
  async () => {
    const schema = await createTestSchema('uptime');
    const database = await PostgresDatabase.open(schema.options());
    const key = randomBytes(16).toString('hex');
    const row = await one<{ id: number }>(database.db, sql`INSERT INTO projects (slug, name, public_key, short_id_prefix, created_at) VALUES (${`p-${key}`}, 'Uptime', ${key}, 'U', ${Date.now()}) RETURNING id`);
    return {
      monitors: new PostgresMonitorStore(database.db),
      projectId: Number(row!.id),
      cleanup: async () => {
        await database.close();
        await schema.drop();
      },
    };
  },
  pgSkip,
);

describe('error budget arithmetic', () => {
  it("seed 002's 99.5 % over a full 30 days allows 3.6 hours", () => {
    const full = uptimeBetween([], 0, 30 * DAY_MS);
    assert.equal(full.countedMs, 0, 'no flips: never watched');
    const b = errorBudget({ percent: 100, countedMs: 30 * DAY_MS, downMs: HOUR_MS }, 99.5);
    assert.equal(b.allowedMs, 12_960_000, '3.6 h');
    assert.equal(b.leftMs, 9_360_000, '2.6 h');
    assert.equal(Math.round(b.leftPercent * 1000) / 1000, 72.222);
  });
});

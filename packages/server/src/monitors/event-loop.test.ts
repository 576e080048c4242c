// The event loop never stalls (issue 11, item 19): with 10,000 monitors in a real SQLite store, a
// /metrics scrape and every periodic pass (deadline sweep, threshold rules, retention, postponing
// deadlines) hand the event loop back while they work. No timing here: a probe on setImmediate
// counts the turns of the loop during the work and, where the work writes, how many rows changed
// between two turns (the longest stretch the loop was held, counted in rows). The times are the
// monitors benchmark's (docs/performance.md).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type Sqlite from 'better-sqlite3';
import { createAlerting } from '../alerts/alerting.js';
import { loadConfig, type Config } from '../config/load.js';
import { IngestStats } from '../http/stats.js';
import { openStore } from '../main.js';
import { createMetrics } from '../metrics/registry.js';
import { RetentionJob } from '../retention.js';
import type { Project } from '../store/model.js';
import type { SqliteStore } from '../store/sqlite/index.js';
import { startTestServer, type TestServer } from '../test-support/server.js';
import { ManualClock } from './clock.js';
import { alertStoreFor, monitorStoreFor } from '../stores.js';
import { Monitors } from './service.js';

const MONITORS = 10_000;
const PROMTOOL = '/usr/bin/promtool';

/**
 * Runs `work` while a setImmediate chain counts the turns of the event loop; `rows()` (a cheap
 * count) is read at every turn, and `largest` is the most it changed between two turns: the
 * work done in one stretch without letting a ping or an ingest request in.
 */
async function loopTurnsDuring<T>(work: () => Promise<T>, rows: () => number = () => 0): Promise<{ result: T; turns: number; largest: number }> {
  let turns = 0;
  let largest = 0;
  let last = rows();
  let running = true;
  const probe = () => {
    if (!running) return;
    turns += 1;
    const now = rows();
    largest = Math.max(largest, Math.abs(now - last));
    last = now;
    setImmediate(probe);
  };
  setImmediate(probe);
  const result = await work();
  running = false;
  const end = rows();
  largest = Math.max(largest, Math.abs(end - last));
  return { result, turns, largest };
}

/** MONITORS heartbeat monitors (one state each) written straight into the tables: seeding through the API would take minutes. */
function seedHeartbeats(db: Sqlite.Database, projectId: number, state: { status: string; deadline: number | null; lastPingAt: number | null; now: number }, prefix = 'hb'): void {
  db.transaction(() => {
    const monitor = db.prepare(
      "INSERT INTO monitors (project_id, slug, kind, source, period_ms, grace_ms, failure_threshold, recovery_threshold, manual_fields, created_at, updated_at) VALUES (?, ?, 'heartbeat', 'ping', 60000, 30000, 1, 1, '[]', ?, ?)",
    );
    const row = db.prepare('INSERT INTO monitor_states (monitor_id, environment, status, deadline, last_ping_at, last_ok_at, created_at, updated_at) VALUES (?, NULL, ?, ?, ?, ?, ?, ?)');
    for (let i = 0; i < MONITORS; i++) {
      const id = monitor.run(projectId, `${prefix}-${i}`, state.now, state.now).lastInsertRowid;
      row.run(id, state.status, state.deadline, state.lastPingAt, state.lastPingAt, state.now, state.now);
    }
  })();
}

const count = (db: Sqlite.Database, sql: string) => () => Number(db.prepare(sql).pluck().get());

describe('the event loop at 10,000 monitors', () => {
  describe('/metrics', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(async () => server.close());

    it('exports one status series per monitor and turns the loop at least once per 1,000 series', async () => {
      const { store, config, alerting, digest, spool, monitoring } = server.botpulse;
      const db = (store as SqliteStore).db;
      const now = Date.now();
      seedHeartbeats(db, server.project.id, { status: 'up', deadline: now + 3_600_000, lastPingAt: now, now });
      // An uptime monitor whose /health answered a field name that needs escaping in the text format.
      const probe = await monitoring.store.createMonitor({ projectId: server.project.id, slug: 'health', kind: 'uptime', source: 'api', url: 'http://127.0.0.1:9/health', timeoutMs: 1000 }, now);
      db.prepare('UPDATE monitor_states SET gauges = ? WHERE id = ?').run(JSON.stringify({ queue_size: 3, 'odd "name"\\\n': 1 }), probe.stateId);
      const metrics = createMetrics({ config, alerting, stats: new IngestStats(), digest, spool, monitoring, store, logger: pino({ level: 'silent' }) });
      try {
        const { result: text, turns } = await loopTurnsDuring(() => metrics.text());
        const status = text.split('\n').filter((l) => l.startsWith('botpulse_monitor_status{'));
        assert.equal(status.length, MONITORS + 1, 'one status series per monitor');
        assert.ok(status.every((l) => l.endsWith(' 1')), 'the series of the current status, value 1');
        assert.ok(status.includes(`botpulse_monitor_status{bot="${server.project.slug}",monitor="hb-9999",kind="heartbeat",status="up"} 1`));
        assert.ok(text.includes(`botpulse_health_value{bot="${server.project.slug}",monitor="health",field="odd \\"name\\"\\\\\\n"} 1`), 'label values escaped');
        const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
        assert.ok(series < 3.5 * MONITORS, `${series} series for ${MONITORS} monitors (was ≈7 each)`);
        assert.ok(turns >= series / 1000, `the loop turned ${turns} times while ${series} series were written: more than 1,000 series per turn`);
        if (existsSync(PROMTOOL)) {
          const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', maxBuffer: 64 << 20 });
          assert.equal(check.status, 0, `promtool: ${check.stdout.slice(0, 2000)}${check.stderr.slice(0, 2000)}`);
        }
      } finally {
        metrics.close();
      }
    });
  });

  describe('periodic passes', () => {
    const logger = pino({ level: 'silent' });
    let dir: string;
    let config: Readonly<Config>;
    let store: SqliteStore;
    let seq = 0;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'botpulse-event-loop-'));
      config = loadConfig({ BOTPULSE_DATA_DIR: dir, BOTPULSE_LOG_LEVEL: 'silent', BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '300' });
      store = (await openStore(config)) as SqliteStore;
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function service(): Promise<{ monitors: Monitors; project: Project; clock: ManualClock }> {
      const clock = new ManualClock(Date.parse('2026-12-05T12:00:00Z'));
      const project = await store.createProject({ name: `Fleet ${++seq}`, shortIdPrefix: 'F' });
      const monitors = new Monitors({ config, store, monitors: monitorStoreFor(store), alerting: createAlerting(config, store, alertStoreFor(store), logger), logger, clock });
      return { monitors, project, clock };
    }

    it('sweeps 10,000 passed deadlines at most 500 flips per turn of the loop', async () => {
      const { monitors, project, clock } = await service();
      const now = clock.now();
      seedHeartbeats(store.db, project.id, { status: 'up', deadline: now - 1000, lastPingAt: now - 61_000, now: now - 61_000 }, 'sweep');
      const flips = count(store.db, `SELECT COUNT(*) FROM monitor_flips WHERE project_id = ${project.id}`);
      const { result: moved, largest } = await loopTurnsDuring(() => monitors.sweep(), flips);
      assert.equal(moved, MONITORS, 'every monitor went late');
      assert.equal(flips(), MONITORS);
      assert.ok(largest <= 500, `${largest} flips written without a turn of the loop`);
    });

    it('steps 10,000 stale heartbeat-age rules at most 500 per turn of the loop', async () => {
      const { monitors, project, clock } = await service();
      const now = clock.now();
      // Pinged 10 minutes ago (age limit 5 min); the deadline is far: only the threshold pass sees them.
      seedHeartbeats(store.db, project.id, { status: 'up', deadline: now + 3_600_000, lastPingAt: now - 600_000, now: now - 600_000 }, 'stale');
      const rules = count(store.db, `SELECT COUNT(*) FROM monitor_rule_state WHERE project_id = ${project.id} AND state = 'firing'`);
      const { largest } = await loopTurnsDuring(() => monitors.thresholds.evaluate(), rules);
      assert.equal(rules(), MONITORS, 'every monitor\'s age rule fired');
      assert.ok(largest <= 500, `${largest} rule states written without a turn of the loop`);
    });

    it('postpones 10,000 deadlines (a server taking over evaluation) at most 1,000 per turn of the loop', async () => {
      const { project, clock } = await service();
      const now = clock.now();
      seedHeartbeats(store.db, project.id, { status: 'up', deadline: now - 1000, lastPingAt: now - 61_000, now: now - 61_000 }, 'postpone');
      const postponed = count(store.db, `SELECT COUNT(*) FROM monitor_states s JOIN monitors m ON m.id = s.monitor_id WHERE m.project_id = ${project.id} AND s.deadline > ${now}`);
      const { result: moved, largest } = await loopTurnsDuring(() => monitorStoreFor(store).postponeDeadlines((m) => now + m.periodMs), postponed);
      assert.ok(moved >= MONITORS);
      assert.equal(postponed(), MONITORS);
      assert.ok(largest <= 1000, `${largest} deadlines moved without a turn of the loop`);
    });

    it('applies a backlog of 5,000 parked check-ins at most 500 per turn of the loop', async () => {
      const { monitors, project, clock } = await service();
      const now = clock.now();
      seedHeartbeats(store.db, project.id, { status: 'up', deadline: now + 3_600_000, lastPingAt: now - 60_000, now: now - 60_000 }, 'ci');
      const insert = store.db.prepare("INSERT INTO raw_items (project_id, kind, event_id, received_at, payload, meta) VALUES (?, 'check_in', NULL, ?, ?, NULL)");
      store.db.transaction(() => {
        for (let i = 0; i < MONITORS / 2; i++) insert.run(project.id, now, Buffer.from(JSON.stringify({ check_in_id: 'c'.repeat(32), monitor_slug: `ci-${i}`, status: 'ok' })));
      })();
      const applied = count(store.db, `SELECT COUNT(*) FROM monitor_states s JOIN monitors m ON m.id = s.monitor_id WHERE m.project_id = ${project.id} AND s.last_ping_at = ${now}`);
      const { largest } = await loopTurnsDuring(() => monitors.consume(), applied);
      assert.equal(applied(), MONITORS / 2, 'every check-in applied');
      assert.ok(largest <= 500, `${largest} check-ins applied without a turn of the loop`);
    });

    it('prunes 20,000 old raw items at most 1,000 per turn of the loop', async () => {
      const project = await store.createProject({ name: `Raw ${++seq}`, shortIdPrefix: 'R' });
      const insert = store.db.prepare("INSERT INTO raw_items (project_id, kind, event_id, received_at, payload, meta) VALUES (?, 'check_in', NULL, ?, ?, NULL)");
      store.db.transaction(() => {
        for (let i = 0; i < 2 * MONITORS; i++) insert.run(project.id, 1000 + i, Buffer.from('{"monitor_slug":"x","status":"ok"}'));
      })();
      const left = count(store.db, `SELECT COUNT(*) FROM raw_items WHERE project_id = ${project.id}`);
      const job = new RetentionJob(store, config, logger);
      const { result, largest } = await loopTurnsDuring(() => job.runOnce(), left);
      assert.equal(result.rawItems, 2 * MONITORS);
      assert.equal(left(), 0);
      assert.ok(largest <= 1000, `${largest} raw items deleted without a turn of the loop`);
    });
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createAlerting } from '../alerts/alerting.js';
import { loadConfig, type Config } from '../config/load.js';
import { openStore } from '../main.js';
import type { Project } from '../store/model.js';
import type { SqliteStore } from '../store/sqlite/index.js';
import { ManualClock } from './clock.js';
import { alertStoreFor, monitorStoreFor } from '../main.js';
import { Monitors } from './service.js';

/**
 * Two servers on one database (two connections to one SQLite file, as two processes would have):
 * the evaluator lease makes one of them consume, sweep and judge, and hands over cleanly.
 */
describe('one monitor evaluator across servers', () => {
  const logger = pino({ level: 'silent' });
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  let dir: string;
  let config: Readonly<Config>;
  let stores: SqliteStore[];
  let project: Project;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-evaluator-'));
    config = loadConfig({ BOTPULSE_DATA_DIR: dir, BOTPULSE_LOG_LEVEL: 'silent' });
    stores = [(await openStore(config)) as SqliteStore, (await openStore(config)) as SqliteStore];
    project = await stores[0]!.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'P' });
  });
  after(async () => {
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function server(store: SqliteStore): Monitors {
    const alerting = createAlerting(config, store, alertStoreFor(store), logger);
    return new Monitors({ config, store, monitors: monitorStoreFor(store), alerting, logger, clock });
  }

  function parkTransactions(count: number, durationMs: number): void {
    const insert = stores[0]!.db.prepare("INSERT INTO raw_items (project_id, kind, event_id, received_at, payload, meta) VALUES (?, 'transaction', ?, ?, ?, NULL)");
    for (let i = 0; i < count; i++) {
      const start = clock.now() / 1000;
      const body = JSON.stringify({ type: 'transaction', start_timestamp: start, timestamp: start + durationMs / 1000 });
      insert.run(project.id, `${Date.now()}${i}`.padEnd(32, '0').slice(0, 32), clock.now(), Buffer.from(body));
    }
  }

  async function latencyCount(): Promise<number> {
    const rows = await monitorStoreFor(stores[0]!).latency(project.id, 0, clock.now() + 60_000);
    return rows.reduce((sum, r) => sum + r.count, 0);
  }

  it('counts each transaction once, sweeps once, and the other server takes over after a clean stop', async () => {
    const a = server(stores[0]!);
    const b = server(stores[1]!);
    // A first start with nothing to read begins the transaction cursor at the newest item.
    await a.tick();
    await b.tick();
    assert.equal(a.evaluating, true);
    assert.equal(b.evaluating, false, 'the lease is held by the first server');

    parkTransactions(10, 300);
    // Both tick at once, as two processes would: without the lease both would read the same cursor.
    await Promise.all([a.tick(), b.tick()]);
    await Promise.all([b.tick(), a.tick()]);
    assert.equal(await latencyCount(), 10, 'ten transactions, counted once');

    await a.deps.monitors.createMonitor({ projectId: project.id, slug: 'poller', kind: 'heartbeat', source: 'ping', periodMs: 1000, graceMs: 500 }, clock.now());
    await a.ping(project.id, 'poller', { at: clock.now(), status: 'ok' });
    clock.advance(1100);
    await Promise.all([a.tick(), b.tick()]);
    const store = monitorStoreFor(stores[1]!);
    const monitor = (await store.findMonitor(project.id, 'poller'))!;
    assert.equal(monitor.status, 'late');

    // A stops (releasing the lease); B leads from its next tick. A hand-over, not an outage: the
    // deadlines are not pushed back, so the missed heartbeat is judged on time.
    await a.stop();
    clock.advance(500);
    parkTransactions(5, 300);
    await Promise.all([b.tick(), a.tick()]);
    assert.equal(b.evaluating, true);
    assert.equal(a.evaluating, false);
    assert.equal((await store.getMonitor(monitor.id))!.status, 'down');
    assert.equal(await latencyCount(), 15, 'the new evaluator resumes at the shared cursor');
    const notes = await store.notifications({ monitorId: monitor.id });
    assert.deepEqual(notes.map((n) => n.kind), ['down'], 'one down notification');
    const flips = await store.flips(monitor.id);
    assert.deepEqual(flips.map((f) => f.to).sort(), ['down', 'late', 'up']);
    await b.stop();
  });
});

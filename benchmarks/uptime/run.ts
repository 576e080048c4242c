// How long the uptime read of one monitor takes (monitors/uptime.ts: flipsForUptime + the sweep)
// on SQLite and PostgreSQL when the monitor has a long history: FLIPS flips (a flip every 10 min,
// so most lie before the 30-day window), two environments. Prints a table and writes results/latest.json.
// 2026-12-05, 200,000 flips, before flipsForUptime walked the index per environment (a window
// function over all earlier flips): SQLite median 707 ms, PostgreSQL 230 ms; after: 19 ms and 35 ms.
// Run: npx tsx benchmarks/uptime/run.ts [flips]   (PostgreSQL at BOTPULSE_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test, if reachable)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { monitorUptime } from '../../packages/server/src/monitors/uptime.js';
import type { MonitorStore } from '../../packages/server/src/store/monitors.js';
import { PostgresDatabase } from '../../packages/server/src/store/postgres/database.js';
import { PostgresMonitorStore } from '../../packages/server/src/store/postgres/monitors.js';
import { SqliteStore } from '../../packages/server/src/store/sqlite/index.js';
import { SqliteMonitorStore } from '../../packages/server/src/store/sqlite/monitors.js';
import { createTestSchema, postgresUnavailable } from '../../packages/server/src/test-support/postgres.js';

const FLIPS = Number(process.argv[2] ?? 200_000);
const STEP = 10 * 60_000;
const NOW = Date.UTC(2027, 0, 1);
const RUNS = 20;

async function fill(insert: (rows: [number, number, string, string, string][]) => Promise<void>, monitorId: number, projectId: number): Promise<void> {
  const start = NOW - FLIPS * STEP;
  let batch: [number, number, string, string, string][] = [];
  for (let i = 0; i < FLIPS; i++) {
    const env = i % 2 ? 'production' : 'staging';
    batch.push([monitorId, start + i * STEP, (i >> 1) % 2 ? 'up' : 'down', (i >> 1) % 2 ? 'down' : 'up', env]);
    if (batch.length === 5000) (await insert(batch), (batch = []));
  }
  if (batch.length) await insert(batch);
  void projectId;
}

async function time(store: MonitorStore, monitorId: number): Promise<{ medianMs: number; maxMs: number }> {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await monitorUptime(store, monitorId, NOW, 99.5);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { medianMs: Math.round(ms[Math.floor(RUNS / 2)]! * 100) / 100, maxMs: Math.round(ms[RUNS - 1]! * 100) / 100 };
}

const results: Record<string, unknown>[] = [];
const dir = mkdtempSync(join(tmpdir(), 'botpulse-bench-uptime-'));
try {
  const store = await SqliteStore.open(join(dir, 'botpulse.db'));
  const project = await store.createProject({ name: 'Bench', shortIdPrefix: 'B' });
  const ms = new SqliteMonitorStore(store.db);
  const m = await ms.createMonitor({ projectId: project.id, slug: 'flappy', kind: 'heartbeat', source: 'api' }, NOW - FLIPS * STEP);
  await ms.ensureEnvironment(m.id, 'production', NOW - FLIPS * STEP);
  await ms.ensureEnvironment(m.id, 'staging', NOW - FLIPS * STEP);
  const stmt = store.db.prepare('INSERT INTO monitor_flips (monitor_id, project_id, at, from_status, to_status, reason, environment) VALUES (?, ?, ?, ?, ?, NULL, ?)');
  await fill(async (rows) => void store.db.transaction(() => rows.forEach((r) => stmt.run(r[0], project.id, r[1], r[2], r[3], r[4])))(), m.id, project.id);
  results.push({ store: 'SQLite', flips: FLIPS, ...(await time(ms, m.id)) });
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (!(await postgresUnavailable())) {
  const schema = await createTestSchema('bench_uptime');
  const database = await PostgresDatabase.open(schema.options());
  try {
    const project = (await sql<{ id: number }>`INSERT INTO projects (slug, name, public_key, short_id_prefix, created_at) VALUES ('bench', 'Bench', 'k', 'B', 0) RETURNING id`.execute(database.db)).rows[0]!;
    const ms = new PostgresMonitorStore(database.db);
    const m = await ms.createMonitor({ projectId: Number(project.id), slug: 'flappy', kind: 'heartbeat', source: 'api' }, NOW - FLIPS * STEP);
    await ms.ensureEnvironment(m.id, 'production', NOW - FLIPS * STEP);
    await ms.ensureEnvironment(m.id, 'staging', NOW - FLIPS * STEP);
    await fill(async (rows) => {
      await sql`INSERT INTO monitor_flips (monitor_id, project_id, at, from_status, to_status, reason, environment) VALUES ${sql.join(rows.map((r) => sql`(${r[0]}, ${project.id}, ${r[1]}, ${r[2]}, ${r[3]}, NULL, ${r[4]})`))}`.execute(database.db);
    }, m.id, Number(project.id));
    await sql`ANALYZE monitor_flips`.execute(database.db);
    results.push({ store: 'PostgreSQL', flips: FLIPS, ...(await time(ms, m.id)) });
  } finally {
    await database.close();
    await schema.drop();
  }
}

console.table(results);
writeFileSync(join(import.meta.dirname, 'results', 'latest.json'), `${JSON.stringify({ at: new Date().toISOString(), flipsPerMonitor: FLIPS, runs: RUNS, results }, null, 2)}\n`);

#!/usr/bin/env node
// Longest stretch without a turn of the event loop, per pass, at 10,000 monitors in a real SQLite
// store (in this process, from a build's packages/server/dist): a /metrics scrape over HTTP, the
// deadline sweep, the threshold pass, postponing deadlines, draining parked check-ins, and
// retention of old raw items. A setImmediate probe notes, at each turn of the loop, the wall time
// and this process's CPU time (process.cpuUsage) since the previous turn: the CPU figure is what
// the pass itself held the loop for, the wall figure adds whatever the machine's other jobs took
// meanwhile. Companion of run.mjs for a machine shared with other jobs (docs/performance.md).
//
// Usage: node stretch.mjs [--dist <packages/server/dist>] [--monitors 10000] [--rounds 3] [--out file]
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({ options: { dist: { type: 'string' }, monitors: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' } } });
const DIST = resolve(flags.dist ?? join(HERE, '../../packages/server/dist'));
const N = Number(flags.monitors ?? 10_000);
const ROUNDS = Number(flags.rounds ?? 3);
const OUT = resolve(HERE, flags.out ?? 'results/stretch-latest.json');
const load = async (p) => import(join(DIST, p));
const { startTestServer } = await load('test-support/server.js');
const { Monitors } = await load('monitors/service.js');
const { ManualClock } = await load('monitors/clock.js');
const { monitorStoreFor } = await load('monitors/monitoring.js');
const { createAlerting } = await load('alerts/alerting.js');
const { RetentionJob } = await load('retention.js');
const { pino } = await import('pino');

/** Runs `work` under a setImmediate probe; the longest gap between turns, in wall and CPU ms. */
async function stretch(work) {
  let running = true;
  let wall = performance.now();
  let cpu = process.cpuUsage();
  let turns = 0;
  const worst = { wallMs: 0, cpuMs: 0 };
  const note = () => {
    const w = performance.now();
    const c = process.cpuUsage();
    worst.wallMs = Math.max(worst.wallMs, w - wall);
    worst.cpuMs = Math.max(worst.cpuMs, (c.user - cpu.user + c.system - cpu.system) / 1000);
    wall = w;
    cpu = c;
  };
  const probe = () => {
    if (!running) return;
    turns += 1;
    note();
    setImmediate(probe);
  };
  setImmediate(probe);
  const t0 = performance.now();
  await work();
  running = false;
  note();
  return { ...worst, totalMs: performance.now() - t0, turns };
}

function seed(db, projectId, prefix, { status, deadline, lastPingAt, now }) {
  db.transaction(() => {
    const m = db.prepare("INSERT INTO monitors (project_id, slug, kind, source, period_ms, grace_ms, failure_threshold, recovery_threshold, manual_fields, created_at, updated_at) VALUES (?, ?, 'heartbeat', 'ping', 60000, 30000, 1, 1, '[]', ?, ?)");
    const s = db.prepare('INSERT INTO monitor_states (monitor_id, environment, status, deadline, last_ping_at, last_ok_at, created_at, updated_at) VALUES (?, NULL, ?, ?, ?, ?, ?, ?)');
    for (let i = 0; i < N; i++) s.run(m.run(projectId, `${prefix}-${i}`, now, now).lastInsertRowid, status, deadline, lastPingAt, lastPingAt, now, now);
  })();
}

const logger = pino({ level: 'silent' });
const server = await startTestServer({ BOTPULSE_CHECKIN_MONITOR_LIMIT: String(10 * N), BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '300' });
const { store, config } = server.botpulse;
const db = store.db;
// The server's own monitor loop stops: its ticks would drain this script's parked check-ins and
// add their work to the stretches measured. /metrics keeps answering.
await server.botpulse.monitoring.stop();
const results = {};
const record = (name, r) => (results[name] ??= []).push(r);
try {
  // The server's own monitors: N heartbeats, up, for the scrape (pinged and due "in 2100", so the
  // passes below, on clocks of their own in 2030, leave them alone).
  const now0 = Date.now();
  const far = Date.parse('2100-01-01T00:00:00Z');
  seed(db, server.project.id, 'scrape', { status: 'up', deadline: far, lastPingAt: far, now: now0 });
  for (let round = 0; round < ROUNDS; round++) {
    record('/metrics scrape (HTTP)', await stretch(async () => (await fetch(`${server.url}/metrics`)).text()));

    // A separate Monitors on the same store with a clock of its own (the server's ticks see nothing due).
    const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z') + round * 86_400_000);
    const project = await store.createProject({ name: `Fleet ${round}`, shortIdPrefix: 'F' });
    const monitors = new Monitors({ config, store, monitors: monitorStoreFor(store), alerting: createAlerting(config, store, logger), logger, clock });
    const now = clock.now();
    seed(db, project.id, `sweep${round}`, { status: 'up', deadline: now - 1000, lastPingAt: now - 61_000, now: now - 61_000 });
    record(`sweep: ${N} monitors late at once`, await stretch(() => monitors.sweep()));
    clock.advance(600_000);
    record(`threshold pass: ${N} heartbeats stale at once`, await stretch(() => monitors.thresholds.evaluate()));
    db.prepare('UPDATE monitor_states SET deadline = ? WHERE monitor_id IN (SELECT id FROM monitors WHERE project_id = ?)').run(clock.now() - 1, project.id);
    record(`postpone deadlines: ${N} states`, await stretch(() => monitorStoreFor(store).postponeDeadlines((m) => clock.now() + m.periodMs)));
    const insert = db.prepare("INSERT INTO raw_items (project_id, kind, event_id, received_at, payload, meta) VALUES (?, 'check_in', NULL, ?, ?, NULL)");
    db.transaction(() => {
      for (let i = 0; i < N / 2; i++) insert.run(project.id, clock.now(), Buffer.from(JSON.stringify({ check_in_id: 'c'.repeat(32), monitor_slug: `sweep${round}-${i}`, status: 'ok' })));
    })();
    record(`drain ${N / 2} parked check-ins`, await stretch(() => monitors.consume()));
    db.transaction(() => {
      for (let i = 0; i < 20 * N; i++) insert.run(project.id, 1000 + i, Buffer.from('{"monitor_slug":"x","status":"ok"}'));
    })();
    record(`retention: ${20 * N} old raw items`, await stretch(() => new RetentionJob(store, config, logger).runOnce()));
    // This round's fleet goes, so the next round's passes see only their own.
    for (const table of ['monitor_flips', 'monitor_rule_state', 'monitor_notifications']) db.prepare(`DELETE FROM ${table} WHERE project_id = ?`).run(project.id);
    db.prepare('DELETE FROM monitor_states WHERE monitor_id IN (SELECT id FROM monitors WHERE project_id = ?)').run(project.id);
    db.prepare('DELETE FROM monitors WHERE project_id = ?').run(project.id);
  }
} finally {
  await server.close();
}

const rows = Object.entries(results).map(([name, rs]) => {
  const best = (k) => Math.min(...rs.map((r) => r[k]));
  const worst = (k) => Math.max(...rs.map((r) => r[k]));
  return { name, cpuMs: { best: best('cpuMs'), worst: worst('cpuMs') }, wallMs: { best: best('wallMs'), worst: worst('wallMs') }, totalMs: { best: best('totalMs') }, turns: rs[0].turns, rounds: rs };
});
const f = (v) => v.toFixed(1);
const table = [
  `pass | longest stretch, CPU ms (best–worst of ${ROUNDS}) | longest stretch, wall ms | whole pass, wall ms (best) | turns of the loop`,
  '--- | --- | --- | --- | ---',
  ...rows.map((r) => `${r.name} | ${f(r.cpuMs.best)}–${f(r.cpuMs.worst)} | ${f(r.wallMs.best)}–${f(r.wallMs.worst)} | ${f(r.totalMs.best)} | ${r.turns}`),
].join('\n');
console.log(`\n${DIST}, ${N} monitors, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n\n${table}\n`);
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify({ when: new Date().toISOString(), dist: DIST, monitors: N, machine: { cpus: os.cpus().length, node: process.version, loadavgAtEnd: os.loadavg() }, rows, table }, null, 2) + '\n');
console.log(`wrote ${OUT}`);

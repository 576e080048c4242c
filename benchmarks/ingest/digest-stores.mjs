#!/usr/bin/env node
// Digest rate of each Store, side by side in one run: the same realistic events (lib/events.mjs)
// are spooled into SQLite and into PostgreSQL, then digested in this process with the server's own
// digester and issue lifecycle, BOTPULSE_DIGEST_BATCH rows per batch, as the digest thread does.
// No HTTP: this isolates what the store costs. Prints a table and writes results/digest-stores.json.
//
//   npm run build                                   # at the repository root, once
//   node benchmarks/ingest/digest-stores.mjs [--events 20000] [--size 5k] [--batch 500] [--database-url postgres://…]
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { buildCallSites, makeEvent, rng, SIZE_CLASSES } from './lib/events.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, '../../packages/server/dist');
const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    size: { type: 'string', default: '5k' },
    batch: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    'database-url': { type: 'string', default: process.env.BOTPULSE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    out: { type: 'string', default: join(HERE, 'results/digest-stores.json') },
  },
});
const total = Number(opts.events);
const batch = Number(opts.batch);

const { SqliteStore } = await import(join(DIST, 'store/sqlite/index.js'));
const { PostgresStore } = await import(join(DIST, 'store/postgres/index.js'));
const { createRowDigester } = await import(join(DIST, 'digest/process.js'));
const { issueLifecycle } = await import(join(DIST, 'digest/lifecycle.js'));
const { DatabaseUrl } = await import(join(DIST, 'lib/database-url.js'));
const pg = createRequire(join(DIST, 'index.js'))('pg');

const cls = SIZE_CLASSES[opts.size];
if (!cls) throw new Error(`unknown --size ${opts.size}; expected one of ${Object.keys(SIZE_CLASSES).join(', ')}`);
const t0 = performance.now();
// 200 call sites, a few hot and most rare (the weights of lib/events.mjs buildPool).
const sites = buildCallSites();
const r = rng(1);
const weights = sites.map((_, i) => 1 / (i + 1) ** 0.8);
const weightSum = weights.reduce((a, b) => a + b, 0);
const pickSite = (i) => {
  if (i < sites.length) return sites[i];
  let x = r.next() * weightSum;
  for (let k = 0; k < sites.length; k++) if ((x -= weights[k]) <= 0) return sites[k];
  return sites[sites.length - 1];
};
const events = Array.from({ length: Math.min(total, 4000) }, (_, i) => makeEvent(r, pickSite(i), cls, Date.now() / 1000, randomUUID().replace(/-/g, '')));
process.stdout.write(`built ${events.length} distinct events in ${Math.round(performance.now() - t0)} ms\n`);

/** `total` spool items: the pool's events repeated with fresh event ids. */
function spoolItems(projectId) {
  const items = [];
  for (let i = 0; i < total; i++) {
    const base = events[i % events.length];
    const eventId = (i.toString(16).padStart(8, '0') + base.event_id.slice(8)).slice(0, 32);
    items.push({ projectId, kind: 'event', eventId, receivedAt: Date.now(), payload: Buffer.from(JSON.stringify({ ...base, event_id: eventId })) });
  }
  return items;
}

async function measure(name, store) {
  const project = await store.createProject({ name: `Bench ${name}` });
  const items = spoolItems(project.id);
  for (let i = 0; i < items.length; i += 500) await store.appendToSpool(items.slice(i, i + 500));
  const digest = createRowDigester({});
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let rows = 0;
  const drain = async () => {
    for (;;) {
      const result = await store.digestBatch(batch, digest, issueLifecycle);
      if (result.rows === 0) return;
      rows += result.rows;
    }
  };
  await drain();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const issues = (await store.listIssues({ projectId: project.id, limit: 1 })).total;
  return { store: name, events: rows, seconds, perSecond: rows / seconds, nodeCpuSeconds: (cpu.user + cpu.system) / 1e6, issues, rssMb: process.memoryUsage.rss() / 2 ** 20 };
}

async function measureSqlite() {
  const dir = mkdtempSync(join(os.tmpdir(), 'botpulse-digest-bench-'));
  try {
    const sqlite = await SqliteStore.open(join(dir, 'botpulse.db'));
    try {
      return await measure('sqlite', sqlite);
    } finally {
      await sqlite.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measurePostgres() {
  const schema = `bench_digest_${process.pid}`;
  const admin = new pg.Client({ connectionString: opts['database-url'] });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  try {
    const url = new URL(opts['database-url']);
    url.searchParams.set('options', `-c search_path=${schema}`);
    // The digest thread's pool: 2 connections.
    const store = await PostgresStore.open({ url: new DatabaseUrl(url.toString()), poolMax: 2, statementTimeoutMs: 0 });
    try {
      return await measure('postgres', store);
    } finally {
      await store.close();
    }
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

// Rounds alternate the stores, so a busy moment of a shared machine hurts both alike; the median counts.
const rounds = [];
for (let i = 0; i < Number(opts.rounds); i++) {
  rounds.push([await measureSqlite(), await measurePostgres()]);
  process.stdout.write(`round ${i + 1}: sqlite ${Math.round(rounds[i][0].perSecond)}/s, postgres ${Math.round(rounds[i][1].perSecond)}/s\n`);
}
const median = (k) => {
  const sorted = rounds.map((r) => r[k]).sort((a, b) => a.perSecond - b.perSecond);
  return sorted[Math.floor(sorted.length / 2)];
};
const results = [median(0), median(1)];

const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
process.stdout.write(`\n${os.cpus().length} cores, load avg ${load}; ${total} events of ${opts.size}, ${batch} per batch\n\n`);
process.stdout.write('median of the rounds:\nstore     events  seconds  events/s  node cpu-s  issues\n');
for (const r of results) {
  process.stdout.write(`${r.store.padEnd(8)}  ${String(r.events).padStart(6)}  ${r.seconds.toFixed(2).padStart(7)}  ${Math.round(r.perSecond).toString().padStart(8)}  ${r.nodeCpuSeconds.toFixed(2).padStart(10)}  ${String(r.issues).padStart(6)}\n`);
}
const ratio = results[1].perSecond / results[0].perSecond;
process.stdout.write(`\nPostgreSQL / SQLite digest rate: ${(ratio * 100).toFixed(0)}% (goal ≥ 70%)\n`);
mkdirSync(dirname(opts.out), { recursive: true });
writeFileSync(opts.out, JSON.stringify({ at: new Date().toISOString(), loadavg: os.loadavg(), cores: os.cpus().length, options: { ...opts, 'database-url': undefined }, results, rounds, ratio }, null, 2));

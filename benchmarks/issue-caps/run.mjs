#!/usr/bin/env node
// Per-issue caps under an error storm: N events into ONE issue over D days (through the bulk seeder,
// benchmarks/lib/bulk-seed.mjs: the server's digester and batch writer in big transactions), then the issue
// page timed (app.inject with a session), the caps run (store.capIssues, as the retention job runs
// them every 10 minutes), the disk measured, the page timed again; then one more storm day arrives
// and is capped, to show the file stops growing. Prints a table and writes results/latest.json.
//
//   npm run build && node benchmarks/issue-caps/run.mjs [--events 1000000] [--days 7] [--runs 30]
//   (10 M events: --events 10000000; about 250 CPU-seconds of seeding and ~12 GB in $TMPDIR)

import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { brotliDecompressSync } from 'node:zlib';
import { payloadFor, rng } from '../dashboard/seed.mjs';
import { BulkSeeder, seedEvents } from '../lib/bulk-seed.mjs';

const require = createRequire(import.meta.url);
const Sqlite = require('better-sqlite3');
const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = resolve(HERE, '../../packages/server/dist');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const { values: flags } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '7' },
    runs: { type: 'string', default: '30' },
    out: { type: 'string', default: join(HERE, 'results', 'latest.json') },
    keep: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(flags.events);
const DAYS = Number(flags.days);
const RUNS = Number(flags.runs);
const log = (s) => process.stdout.write(s + '\n');

const { loadConfig } = await import(pathToFileURL(join(DIST, 'config/load.js')).href);
const { createBotpulse } = await import(pathToFileURL(join(DIST, 'main.js')).href);
const { SqliteStore } = await import(pathToFileURL(join(DIST, 'store/sqlite/index.js')).href);
const { hashPassword } = await import(pathToFileURL(join(DIST, 'lib/password.js')).href);

const dataDir = mkdtempSync(join(os.tmpdir(), 'botpulse-caps-'));
const dbFile = join(dataDir, 'botpulse.db');
const now = Date.now();
const stormStart = now - DAYS * DAY;

/** Event `k` of the storm: one issue (an explicit fingerprint), 500 payload variants. */
function stormItem(projectId, k, t) {
  const variant = k % 500;
  return {
    projectId,
    receivedAt: t,
    template: variant,
    event: () => {
      const event = JSON.parse(JSON.stringify(stormTemplate(variant)));
      // benchmarks/lib/bulk-seed.mjs's convention for event k
      event.contexts.telegram = { update_id: 100000 + k, chat_id: k % 1_000_000, user_id: k % 50_000, chat_type: 'private' };
      return { ...event, event_id: k.toString(16).padStart(32, '0'), timestamp: t / 1000 };
    },
  };
}

const templates = new Map();
function stormTemplate(variant) {
  if (!templates.has(variant)) {
    const event = JSON.parse(brotliDecompressSync(payloadFor(variant * 10, rng(7 + variant))).toString('utf8'));
    event.exception.values[0].type = 'TypeError';
    event.exception.values[0].value = "Cannot read properties of undefined (reading 'balance')";
    event.fingerprint = ['storm'];
    event.tags = { origin: 'handler', chat_type: 'private' };
    event.contexts.telegram.chat_type = 'private';
    delete event.user;
    templates.set(variant, event);
  }
  return templates.get(variant);
}

/** Appends `count` events to the storm's issue, spread evenly over [from, to), through the bulk seeder. */
async function storm(projectId, firstK, count, from, to) {
  const seeder = await BulkSeeder.open(DIST, dbFile);
  const seconds = seedEvents(seeder, count, (k) => stormItem(projectId, k, Math.round(from + ((to - from) * (k - firstK)) / count)), { offset: firstK, log, every: Math.max(100_000, Math.round(count / 10)) });
  seeder.close();
  return seconds;
}

function disk() {
  const db = new Sqlite(dbFile, { readonly: true });
  const pageSize = db.pragma('page_size', { simple: true });
  const used = (db.pragma('page_count', { simple: true }) - db.pragma('freelist_count', { simple: true })) * pageSize;
  const rows = db.prepare('SELECT COUNT(*) FROM events').pluck().get();
  db.close();
  return { fileMB: statSync(dbFile).size / 2 ** 20, usedMB: used / 2 ** 20, rows };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function issuePage() {
  const config = loadConfig({ BOTPULSE_DATA_DIR: dataDir, BOTPULSE_LOG_LEVEL: 'silent', BOTPULSE_PORT: '0' });
  const botpulse = await createBotpulse(config);
  await botpulse.app.ready();
  await botpulse.store.addUser('bench', await hashPassword('bench password'));
  const form = await botpulse.app.inject({ method: 'GET', url: '/login' });
  const token = /bp_login_csrf=([^;]+)/.exec(String(form.headers['set-cookie']))[1];
  const res = await botpulse.app.inject({
    method: 'POST', url: '/login', cookies: { bp_login_csrf: token },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: token, login: 'bench', password: 'bench password' }).toString(),
  });
  const cookies = { bp_session: /bp_session=([^;]+)/.exec([res.headers['set-cookie']].flat().join('\n'))[1] };
  const samples = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const t0 = performance.now();
    const page = await botpulse.app.inject({ method: 'GET', url: '/issues/1', cookies });
    if (page.statusCode !== 200) throw new Error(`issue page: HTTP ${page.statusCode}`);
    if (i >= 3) samples.push(performance.now() - t0);
  }
  await botpulse.close();
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95) };
}

async function cap() {
  const store = await SqliteStore.open(dbFile);
  const t0 = performance.now();
  const result = await store.capIssues({ keepFirst: 100, keepLatest: 1000 }, Math.floor((stormStart - DAY) / HOUR));
  const seconds = (performance.now() - t0) / 1000;
  await store.close();
  const db = new Sqlite(dbFile);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { ...result, seconds };
}

log(`${EVENTS.toLocaleString('en-US')} events into one issue over ${DAYS} days, in ${dbFile}`);
const store = await SqliteStore.open(dbFile); // the schema through the real migrations
const project = await store.createProject({ name: 'Storm Bot', shortIdPrefix: 'S' });
await store.close();
const perDay = Math.round(EVENTS / DAYS);
const seedSeconds = await storm(project.id, 0, EVENTS - perDay, stormStart, now - DAY);
log(`seeded ${(EVENTS - perDay).toLocaleString('en-US')} events in ${seedSeconds.toFixed(0)} s (${Math.round((EVENTS - perDay) / seedSeconds).toLocaleString('en-US')}/s)`);

const rows = [];
const row = async (stage, extra = {}) => rows.push({ stage, ...disk(), ...(await issuePage()), ...extra });
await row(`storm, ${DAYS - 1} days, no caps`);
const first = await cap();
await row('after the caps', { capped: first });
await storm(project.id, EVENTS - perDay, perDay, now - DAY, now);
await row('one more storm day, before the caps');
const second = await cap();
await row('after the caps again', { capped: second });

const table = [
  `${'stage'.padEnd(38)} ${'events kept'.padStart(12)} ${'file MB'.padStart(8)} ${'used MB'.padStart(8)} ${'page p50'.padStart(9)} ${'page p95'.padStart(9)} ${'caps deleted'.padStart(13)} ${'caps s'.padStart(7)}`,
  ...rows.map((r) =>
    `${r.stage.padEnd(38)} ${r.rows.toLocaleString('en-US').padStart(12)} ${r.fileMB.toFixed(1).padStart(8)} ${r.usedMB.toFixed(1).padStart(8)} ${r.p50.toFixed(1).padStart(9)} ${r.p95.toFixed(1).padStart(9)} ${(r.capped ? r.capped.events.toLocaleString('en-US') : '').padStart(13)} ${(r.capped ? r.capped.seconds.toFixed(1) : '').padStart(7)}`),
].join('\n');
log(`\nissue page: app.inject with a session, ${RUNS} requests (ms, server time); caps: keep first 100, latest 1000, one per hour\n`);
log(table);
mkdirSync(dirname(flags.out), { recursive: true });
writeFileSync(flags.out, JSON.stringify({
  generatedAt: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, load: os.loadavg() },
  dataset: { events: EVENTS, days: DAYS, seedSeconds, seedRate: (EVENTS - perDay) / seedSeconds },
  runs: RUNS,
  rows,
}, null, 2) + '\n');
log(`wrote ${flags.out}`);
if (!flags.keep) rmSync(dataDir, { recursive: true, force: true });

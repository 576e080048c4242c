#!/usr/bin/env node
// Dashboard benchmark: seeds 100,000 issues / 1,000,000 events into a SQLite file (once; reused
// while the sizes match), then times the dashboard's pages server-side with app.inject and a real
// session cookie: the issue list (default and each saved view), searches, deep paging and issue
// pages. Prints p50/p95 per page and writes results/latest.json. Target: p95 < 100 ms.
//
//   npm run build && node benchmarks/dashboard/run.mjs [--issues N] [--events N] [--runs N] [--fresh]

import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { seed } from './seed.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = resolve(HERE, '../../packages/server/dist');
const TARGET_P95_MS = 100;

const { values: flags } = parseArgs({
  options: {
    issues: { type: 'string', default: '100000' },
    events: { type: 'string', default: '1000000' },
    projects: { type: 'string', default: '5' },
    runs: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    'data-dir': { type: 'string', default: join(HERE, 'data') },
    out: { type: 'string', default: join(HERE, 'results', 'latest.json') },
    fresh: { type: 'boolean', default: false },
  },
});
const ISSUES = Number(flags.issues);
const EVENTS = Number(flags.events);
const RUNS = Number(flags.runs);
const log = (s) => process.stdout.write(s + '\n');

if (!existsSync(join(DIST, 'main.js'))) {
  console.error('packages/server is not built: run `npm run build` first');
  process.exit(1);
}
const { loadConfig } = await import(pathToFileURL(join(DIST, 'config/load.js')).href);
const { createBotpulse } = await import(pathToFileURL(join(DIST, 'main.js')).href);
const { SqliteStore } = await import(pathToFileURL(join(DIST, 'store/sqlite/index.js')).href);
const { hashPassword } = await import(pathToFileURL(join(DIST, 'lib/password.js')).href);

const dataDir = resolve(flags['data-dir'], `${ISSUES}-${EVENTS}`);
const dbFile = join(dataDir, 'botpulse.db');
const now = Date.now();

async function ensureSeeded() {
  if (flags.fresh) rmSync(dataDir, { recursive: true, force: true });
  if (existsSync(dbFile)) {
    log(`reusing ${dbFile} (pass --fresh to seed again)`);
    return null;
  }
  mkdirSync(dataDir, { recursive: true });
  const store = await SqliteStore.open(dbFile); // creates the schema through the real migrations
  await store.close();
  log(`seeding ${ISSUES.toLocaleString('en-US')} issues / ${EVENTS.toLocaleString('en-US')} events into ${dbFile}`);
  const t0 = performance.now();
  seed(dbFile, { issues: ISSUES, events: EVENTS, projects: Number(flags.projects), now, log });
  const seconds = (performance.now() - t0) / 1000;
  log(`seeded in ${seconds.toFixed(1)} s`);
  return seconds;
}

async function logIn(app, store) {
  await store.addUser('bench', await hashPassword('bench password'));
  const form = await app.inject({ method: 'GET', url: '/login' });
  const token = /bp_login_csrf=([^;]+)/.exec(String(form.headers['set-cookie']))[1];
  const res = await app.inject({
    method: 'POST',
    url: '/login',
    cookies: { bp_login_csrf: token },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: token, login: 'bench', password: 'bench password' }).toString(),
  });
  const session = /bp_session=([^;]+)/.exec([res.headers['set-cookie']].flat().join('\n'));
  if (res.statusCode !== 303 || !session) throw new Error(`login failed: ${res.statusCode}`);
  return { bp_session: session[1] };
}

async function pages(store) {
  const { issues: top } = await store.searchIssues({ sort: 'count', limit: 1 });
  const { issues: typical } = await store.searchIssues({ sort: 'last_seen', limit: 1, offset: 5000 });
  return [
    ['issue list (default: unresolved)', '/issues'],
    ['view: most frequent today', '/issues?view=today'],
    ['view: recurring, untracked', '/issues?view=untracked'],
    ['view: open critical', '/issues?view=critical'],
    ['view: HTTP 5xx, last hour', '/issues?view=http5xx'],
    ['sort by events, all statuses', '/issues?status=all&sort=count'],
    ['sort by users, one project', '/issues?project=bot-2&sort=users'],
    ['search: free text', '/issues?q=payments'],
    ['search: tag + level + period', `/issues?q=${encodeURIComponent('chat_type:group level:error')}&period=7d`],
    ['search: environment + release', '/issues?environment=staging&release=bot%401.10.0'],
    ['page 40 of the default list', '/issues?page=40'],
    [`issue page (top issue, ${top[0].eventCount.toLocaleString('en-US')} events)`, `/issues/${top[0].id}`],
    ['issue page (typical issue)', `/issues/${typical[0].id}`],
    ['projects', '/projects'],
    ['monitors', '/monitors'],
  ];
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function time(app, cookies, url) {
  for (let i = 0; i < Number(flags.warmup); i++) await app.inject({ method: 'GET', url, cookies });
  const samples = [];
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const res = await app.inject({ method: 'GET', url, cookies });
    samples.push(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}`);
    bytes = res.body.length;
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), max: samples[samples.length - 1], bytes };
}

const seedSeconds = await ensureSeeded();
const config = loadConfig({ BOTPULSE_DATA_DIR: dataDir, BOTPULSE_LOG_LEVEL: 'silent', BOTPULSE_PORT: '0' });
const botpulse = await createBotpulse(config);
await botpulse.app.ready();
const cookies = await logIn(botpulse.app, botpulse.store);

const rows = [];
for (const [name, url] of await pages(botpulse.store)) {
  const r = await time(botpulse.app, cookies, url);
  rows.push({ name, url, ...r, ok: r.p95 < TARGET_P95_MS });
}
await botpulse.close();

const fmt = (ms) => ms.toFixed(1).padStart(7);
const width = Math.max(...rows.map((r) => r.name.length));
const table = [
  `${'page'.padEnd(width)}  ${'p50 ms'.padStart(7)}  ${'p95 ms'.padStart(7)}  ${'max ms'.padStart(7)}  ${'KB'.padStart(5)}`,
  ...rows.map((r) => `${r.name.padEnd(width)}  ${fmt(r.p50)}  ${fmt(r.p95)}  ${fmt(r.max)}  ${(r.bytes / 1024).toFixed(0).padStart(5)}${r.ok ? '' : '  > target'}`),
].join('\n');
log(`\n${ISSUES.toLocaleString('en-US')} issues / ${EVENTS.toLocaleString('en-US')} events, ${RUNS} requests per page after ${flags.warmup} warm-up, app.inject with a session (server time)\n`);
log(table);
const failed = rows.filter((r) => !r.ok);
log(failed.length ? `\n${failed.length} page(s) over the p95 target of ${TARGET_P95_MS} ms` : `\nall pages under the p95 target of ${TARGET_P95_MS} ms`);

mkdirSync(dirname(flags.out), { recursive: true });
writeFileSync(
  flags.out,
  JSON.stringify(
    {
      generatedAt: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}` },
      dataset: { issues: ISSUES, events: EVENTS, projects: Number(flags.projects), seedSeconds },
      runs: RUNS,
      targetP95Ms: TARGET_P95_MS,
      results: rows,
    },
    null,
    2,
  ) + '\n',
);
log(`wrote ${flags.out}`);
process.exitCode = failed.length ? 1 : 0;

#!/usr/bin/env node
// Dashboard benchmark: seeds 100,000 issues / 1,000,000 events into a SQLite file (once; reused
// while the sizes match), then times the dashboard's pages server-side with app.inject and a real
// session cookie: the issue list (default and each saved view), searches, deep paging and issue
// pages. Prints p50/p95 per page and writes results/latest.json. Target: p95 < 50 ms at 1M events,
// < 100 ms at 10M (`--events 10000000`). Seeding: benchmarks/lib/bulk-seed.mjs (the server's own
// migrations, digester and batch writer; one digest per issue, the other events copied in SQL).
//
//   npm run build && node benchmarks/dashboard/run.mjs [--issues N] [--events N] [--runs N] [--fresh]
//     [--compare <other build's packages/server/dist>]   time a second build side by side (A/B,
//                                                        requests alternate), e.g. main's checkout
//     [--postgres]   copy the dataset into a private schema of the local PostgreSQL
//                    (BOTPULSE_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test),
//                    time the same pages there, drop the schema after (unless --keep-schema)
//     [--postgres-schema <name>]   time a schema an earlier --keep-schema run left (no copy, kept
//                    after): at 10M events the copy takes half an hour, the timing minutes

import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadIntoPostgres } from '../lib/pg-load.mjs';
import { seed } from './seed.mjs';

const pg = createRequire(import.meta.url)('pg');

const HERE = dirname(fileURLToPath(import.meta.url));

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
    dist: { type: 'string', default: resolve(HERE, '../../packages/server/dist') },
    compare: { type: 'string' },
    postgres: { type: 'boolean', default: false },
    'keep-schema': { type: 'boolean', default: false },
    'postgres-schema': { type: 'string' },
    'seed-batch': { type: 'string', default: '20000' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  // The usage is this file's opening comment.
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  const usage = lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3));
  process.stdout.write(usage.join('\n') + '\n');
  process.exit(0);
}
if (flags['postgres-schema']) {
  if (flags.compare) {
    console.error('--postgres-schema times one build: it cannot be combined with --compare');
    process.exit(1);
  }
  flags.postgres = true;
}
const DIST = resolve(flags.dist);
const ISSUES = Number(flags.issues);
const EVENTS = Number(flags.events);
const RUNS = Number(flags.runs);
const TARGET_P95_MS = EVENTS > 1_000_000 ? 100 : 50;
const POSTGRES_URL = process.env.BOTPULSE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const log = (s) => process.stdout.write(s + '\n');

if (!existsSync(join(DIST, 'main.js'))) {
  console.error('packages/server is not built: run `npm run build` first');
  process.exit(1);
}
/** One server build's modules (this checkout's, or the one `--compare` names). */
async function loadBuild(dist) {
  const load = (path) => import(pathToFileURL(join(dist, path)).href);
  return {
    dist,
    ...(await load('config/load.js')),
    ...(await load('main.js')),
    ...(await load('store/sqlite/index.js')),
    ...(await load('lib/password.js')),
    ...(await load('store/postgres/database.js')),
    ...(await load('store/sqlite-to-postgres.js')),
    ...(await load('lib/database-url.js')),
  };
}
const build = await loadBuild(DIST);
const baseline = flags.compare ? await loadBuild(resolve(flags.compare)) : null;

const dataDir = resolve(flags['data-dir'], `${ISSUES}-${EVENTS}`);
const dbFile = join(dataDir, 'botpulse.db');
const now = Date.now();
/** Seconds each PostgreSQL load took (one per build). */
const loadSeconds = [];

async function ensureSeeded() {
  if (flags.fresh) for (const dir of [dataDir, `${dataDir}-this-build`]) rmSync(dir, { recursive: true, force: true });
  if (existsSync(dbFile)) {
    log(`reusing ${dbFile} (pass --fresh to seed again)`);
    return null;
  }
  mkdirSync(dataDir, { recursive: true });
  log(`seeding ${ISSUES.toLocaleString('en-US')} issues / ${EVENTS.toLocaleString('en-US')} events into ${dbFile}`);
  // The schema through the seeding build's migrations, the rows through its digester and batch writer.
  const { seconds, rate } = await seed({ dist: (baseline ?? build).dist, file: dbFile, issues: ISSUES, events: EVENTS, projects: Number(flags.projects), now, log, batch: Number(flags['seed-batch']) });
  log(`seeded in ${seconds.toFixed(1)} s (${Math.round(rate).toLocaleString('en-US')} events/s)`);
  return seconds;
}

async function logIn(app, store, hashPassword) {
  // One user per run: a kept PostgreSQL schema (--postgres-schema) already holds earlier runs' users.
  const login = `bench-${process.pid}`;
  await store.addUser(login, await hashPassword('bench password'));
  const form = await app.inject({ method: 'GET', url: '/login' });
  const token = /bp_login_csrf=([^;]+)/.exec(String(form.headers['set-cookie']))[1];
  const res = await app.inject({
    method: 'POST',
    url: '/login',
    cookies: { bp_login_csrf: token },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: token, login, password: 'bench password' }).toString(),
  });
  const session = /bp_session=([^;]+)/.exec([res.headers['set-cookie']].flat().join('\n'));
  if (res.statusCode !== 303 || !session) throw new Error(`login failed: ${res.statusCode}`);
  return { bp_session: session[1] };
}

async function pages(store) {
  const { issues: top } = await store.searchIssues({ sort: 'count', limit: 1 });
  const { issues: typical } = await store.searchIssues({ sort: 'last_seen', limit: 1, offset: Math.min(5000, Math.floor(ISSUES / 2)) });
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

function summary(samples, bytes, cpuMs, pgCpuMs) {
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), max: samples[samples.length - 1], bytes, cpuMs, ...(pgCpuMs !== null ? { pgCpuMs } : {}) };
}

/**
 * CPU time of each of its PostgreSQL backends (pid → ms; null on SQLite), from /proc: the work a
 * page asks of the database, which the machine's load does not change as it changes the wall time.
 * Clock ticks of 10 ms: meaningful summed over a page's requests, not per request.
 */
function backendCpuMs(server) {
  const clients = server.store.database?.pool?._clients;
  if (!clients) return null;
  const byPid = new Map();
  for (const c of clients) {
    try {
      const fields = readFileSync(`/proc/${c.processID}/stat`, 'utf8').split(') ')[1].split(' ');
      byPid.set(c.processID, ((Number(fields[11]) + Number(fields[12])) * 1000) / 100); // utime, stime (fields 14 and 15)
    } catch {
      // a backend that ended (its connection closed) took its time with it
    }
  }
  return byPid;
}

/**
 * What the backends used between two readings: a backend in both, its difference; one born in
 * between, all of its time. One that ended in between (the pool closes idle connections) is lost,
 * so this is a lower bound when the pool changed.
 */
function backendCpuBetween(before, after) {
  if (before === null || after === null) return null;
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}

/** Times one page on every server, requests alternating between them so load swings hit all alike. */
async function time(servers, url) {
  for (let i = 0; i < Number(flags.warmup); i++) for (const s of servers) await s.app.inject({ method: 'GET', url, cookies: s.cookies });
  const samples = servers.map(() => []);
  const bytes = servers.map(() => 0);
  const cpu = servers.map(() => 0);
  const pgBefore = servers.map(backendCpuMs);
  for (let i = 0; i < RUNS; i++) {
    for (const [n, s] of servers.entries()) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const res = await s.app.inject({ method: 'GET', url, cookies: s.cookies });
      const c1 = process.cpuUsage(c0);
      samples[n].push(performance.now() - t0);
      cpu[n] += (c1.user + c1.system) / 1000;
      if (res.statusCode !== 200) throw new Error(`${s.label}: ${url}: HTTP ${res.statusCode}`);
      bytes[n] = res.body.length;
    }
  }
  const pgAfter = servers.map(backendCpuMs);
  return servers.map((_, n) => summary(samples[n], bytes[n], cpu[n] / RUNS, pgBefore[n] === null ? null : backendCpuBetween(pgBefore[n], pgAfter[n]) / RUNS));
}

/** A copy of the seeded file for a build that migrates it (the seed stays openable by the older build). */
function copyOfSeed(label) {
  const dir = `${dataDir}-${label}`;
  if (!existsSync(join(dir, 'botpulse.db'))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const f of ['botpulse.db', 'botpulse-spool.db']) if (existsSync(join(dataDir, f))) copyFileSync(join(dataDir, f), join(dir, f));
  }
  return dir;
}

/** A private PostgreSQL schema holding a copy of the SQLite dataset, as `b` migrates it. */
async function postgresCopy(b, label, sqliteDir) {
  const schema = `bench_dashboard_${label}_${process.pid}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = schemaUrl(schema);
  const t0 = performance.now();
  await (await b.SqliteStore.open(join(sqliteDir, 'botpulse.db'))).close(); // the copy wants the source at the build's schema
  const target = await b.PostgresDatabase.open({ url: new b.DatabaseUrl(url.toString()), poolMax: 4, statementTimeoutMs: 600_000 }).catch(async (err) => {
    await dropSchema(schema);
    throw err;
  });
  await target.close();
  log(`${label}: loading ${sqliteDir} into PostgreSQL schema ${schema}`);
  // benchmarks/lib/pg-load.mjs: unnest INSERTs with triggers off and indexes built after, then
  // VACUUM (ANALYZE), as a live server's autovacuum would have left it (statistics, visibility map).
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const loaded = await loadIntoPostgres({ sqliteFile: join(sqliteDir, 'botpulse.db'), client, log });
    loadSeconds.push(loaded.seconds);
    log(`${label}: loaded in ${loaded.seconds.toFixed(0)} s wall, CPU ${loaded.cpuSeconds.node.toFixed(0)} s here + ${loaded.cpuSeconds.backend.toFixed(0)} s PostgreSQL backend (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  } catch (err) {
    await dropSchema(schema);
    throw err;
  } finally {
    await client.end();
  }
  log(`${label}: copied in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return { url: url.toString(), drop: () => dropSchema(schema) };
}

function schemaUrl(schema) {
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url;
}

async function dropSchema(schema) {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}

async function start(b, label, dir, databaseUrl) {
  const env = { BOTPULSE_DATA_DIR: dir, BOTPULSE_LOG_LEVEL: 'silent', BOTPULSE_PORT: '0' };
  if (databaseUrl) env.BOTPULSE_DATABASE_URL = databaseUrl;
  const botpulse = await b.createBotpulse(b.loadConfig(env));
  await botpulse.app.ready();
  return { label, botpulse, app: botpulse.app, store: botpulse.store, cookies: await logIn(botpulse.app, botpulse.store, b.hashPassword) };
}

const seedSeconds = await ensureSeeded();
// Baseline (the seeding build) on the seed itself, this build on a copy it migrates; PostgreSQL: each on its own schema.
// Alone, this build opens the seed itself: a 10M-event copy would double the disk it takes.
const builds = [{ label: 'this build', b: build, dir: baseline ? copyOfSeed('this-build') : dataDir }];
if (baseline) builds.push({ label: 'baseline', b: baseline, dir: dataDir });
const schemas = [];
const servers = [];
try {
  for (const { label, b, dir } of builds) {
    let databaseUrl;
    if (flags['postgres-schema']) {
      databaseUrl = schemaUrl(flags['postgres-schema']).toString();
      log(`${label}: timing the kept schema ${flags['postgres-schema']}`);
    } else if (flags.postgres) {
      const copy = await postgresCopy(b, label.replace(/\W+/g, '_'), dir);
      schemas.push(copy);
      databaseUrl = copy.url;
    }
    servers.push(await start(b, label, dir, databaseUrl));
  }
  const rows = [];
  for (const [name, url] of await pages(servers[0].store)) {
    const [r, base] = await time(servers, url);
    rows.push({ name, url, ...r, ok: r.p95 < TARGET_P95_MS, ...(base ? { baseline: base } : {}) });
  }
  await report(rows);
} finally {
  for (const s of servers) await s.botpulse.close();
  for (const s of schemas) if (flags['keep-schema']) log(`kept ${s.url}`);
  else await s.drop();
}

async function report(rows) {
  const fmt = (ms) => ms.toFixed(1).padStart(7);
  const width = Math.max(...rows.map((r) => r.name.length));
  const compared = rows.some((r) => r.baseline);
  const pgCpu = rows.some((r) => r.pgCpuMs !== undefined);
  // CPU per request (this process; PostgreSQL's backends apart): what the page costs, whatever the load.
  const cpuCols = (r) => `${fmt(r.cpuMs).padStart(7)}${pgCpu ? `  ${fmt(r.pgCpuMs ?? 0).padStart(7)}` : ''}`;
  const cpuHead = (prefix) => `${`${prefix}cpu`.padStart(7)}${pgCpu ? `  ${`${prefix}pg`.padStart(7)}` : ''}`;
  const table = [
    `${'page'.padEnd(width)}  ${'p50 ms'.padStart(7)}  ${'p95 ms'.padStart(7)}  ${'max ms'.padStart(7)}  ${'KB'.padStart(5)}  ${cpuHead('')}${compared ? `  ${'base p50'.padStart(8)}  ${'base p95'.padStart(8)}  ${cpuHead('b ')}` : ''}`,
    ...rows.map(
      (r) =>
        `${r.name.padEnd(width)}  ${fmt(r.p50)}  ${fmt(r.p95)}  ${fmt(r.max)}  ${(r.bytes / 1024).toFixed(0).padStart(5)}  ${cpuCols(r)}` +
        (r.baseline ? `  ${fmt(r.baseline.p50).padStart(8)}  ${fmt(r.baseline.p95).padStart(8)}  ${cpuCols(r.baseline)}` : '') +
        (r.ok ? '' : '  > target'),
    ),
  ].join('\n');
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  log(`\n${ISSUES.toLocaleString('en-US')} issues / ${EVENTS.toLocaleString('en-US')} events on ${flags.postgres ? 'PostgreSQL' : 'SQLite'}, ${RUNS} requests per page after ${flags.warmup} warm-up, app.inject with a session (server time; cpu = this process's CPU ms per request, pg = PostgreSQL backends' CPU ms per request)`);
  log(`load average ${load} on ${os.cpus().length} CPUs${compared ? `; base = ${flags.compare}, requests alternating` : ''}\n`);
  log(table);
  const failed = rows.filter((r) => !r.ok);
  log(failed.length ? `\n${failed.length} page(s) over the p95 target of ${TARGET_P95_MS} ms` : `\nall pages under the p95 target of ${TARGET_P95_MS} ms`);

  mkdirSync(dirname(flags.out), { recursive: true });
  writeFileSync(
    flags.out,
    JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}`, loadAverage: os.loadavg() },
        database: flags.postgres ? 'postgresql' : 'sqlite',
        ...(flags.compare ? { baseline: flags.compare } : {}),
        dataset: { issues: ISSUES, events: EVENTS, projects: Number(flags.projects), seedSeconds, ...(flags.postgres ? { postgresLoadSeconds: loadSeconds } : {}) },
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
}

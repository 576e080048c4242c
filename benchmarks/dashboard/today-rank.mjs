#!/usr/bin/env node
// "Most frequent today" at the end of a full day, at any dataset size, without seeding the events:
// the benchmark's event plan (seed.mjs: 100,000 issues, power law, denser recently) is counted per
// issue and hour / day for its last three days, the last one being today (UTC) in full, and only
// those counts (`issue_hourly`, `issue_daily`) and the issues are written, into a SQLite file and
// optionally a PostgreSQL schema made by the server's migrations. Then the page's ranking is timed
// both ways: from `issue_daily` (migration 028: the store's own `searchIssues`, and its SQL under
// EXPLAIN ANALYZE) and by summing today's `issue_hourly` rows as before. The dashboard benchmark
// (run.mjs) times the page at whatever hour it runs, when "today" may hold minutes of events.
//
//   node benchmarks/dashboard/today-rank.mjs [--issues 100000] [--events 10000000] [--postgres] [--runs 15]
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { eventPlan } from './seed.mjs';

const require = createRequire(import.meta.url);
const Sqlite = require('better-sqlite3');
const pg = require('pg');
const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    issues: { type: 'string', default: '100000' },
    events: { type: 'string', default: '10000000' },
    runs: { type: 'string', default: '15' },
    postgres: { type: 'boolean', default: false },
    dist: { type: 'string', default: resolve(HERE, '../../packages/server/dist') },
    out: { type: 'string', default: join(HERE, 'results', 'today-rank.json') },
  },
});
const ISSUES = Number(flags.issues);
const EVENTS = Number(flags.events);
const RUNS = Number(flags.runs);
const DAY = 86_400_000;
const POSTGRES_URL = process.env.BOTPULSE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const load = (path) => import(pathToFileURL(join(resolve(flags.dist), path)).href);
const { SqliteStore } = await load('store/sqlite/index.js');
const { PostgresStore } = await load('store/postgres/index.js');
const { DatabaseUrl } = await load('lib/database-url.js');
const log = (s) => process.stdout.write(s + '\n');

const today = Math.floor(Date.now() / DAY);
/** Hourly and daily counts of the plan's last three days (today the last, in full). */
function counts() {
  const { eventIssue, eventTime } = eventPlan({ issues: ISSUES, events: EVENTS, now: (today + 1) * DAY - 1 });
  const hourly = new Map();
  const daily = new Map();
  for (let k = 0; k < EVENTS; k++) {
    if (eventTime[k] < (today - 2) * DAY) continue;
    const issue = eventIssue[k] + 1;
    const h = `${issue}:${Math.floor(eventTime[k] / 3_600_000)}`;
    const d = `${issue}:${Math.floor(eventTime[k] / DAY)}`;
    hourly.set(h, (hourly.get(h) ?? 0) + 1);
    daily.set(d, (daily.get(d) ?? 0) + 1);
  }
  const rows = (m) => [...m].map(([key, count]) => [...key.split(':').map(Number), count]);
  return { hourly: rows(hourly), daily: rows(daily) };
}

const SQL = {
  daily: (day) => [
    `SELECT i.*, p.short_id_prefix, top.count AS recent FROM (SELECT issue_id, count FROM issue_daily WHERE day = ${day} ORDER BY count DESC, issue_id DESC LIMIT 50 OFFSET 0) top JOIN issues i ON i.id = top.issue_id JOIN projects p ON p.id = i.project_id ORDER BY top.count DESC, i.id DESC`,
    `SELECT COUNT(*) AS n FROM (SELECT 1 FROM issue_daily WHERE day = ${day} LIMIT 1051) m`,
  ],
  // The query before migration 028 (topIssuesSince), SQLite's with its INDEXED BY.
  hourly: (day, sqlite) => [
    `WITH r AS MATERIALIZED (SELECT issue_id, SUM(count) AS recent FROM issue_hourly ${sqlite ? 'INDEXED BY issue_hourly_hour ' : ''}WHERE hour >= ${day * 24} GROUP BY issue_id)
     SELECT i.*, p.short_id_prefix, top.recent, (SELECT COUNT(*) FROM r) AS total_rows FROM (SELECT issue_id, recent FROM r ORDER BY recent DESC, issue_id DESC LIMIT 50 OFFSET 0) top
     JOIN issues i ON i.id = top.issue_id JOIN projects p ON p.id = i.project_id ORDER BY top.recent DESC, i.id DESC`,
  ],
};
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function fill(exec, insertMany) {
  await exec(`INSERT INTO projects (id, slug, name, public_key, short_id_prefix, next_short_id, created_at) SELECT n, 'bot-' || n, 'Bot', 'key' || n, 'B' || n, 1, 0 FROM (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5) p`);
  const issues = Array.from({ length: ISSUES }, (_, n) => [n + 1, (n % 5) + 1, n + 1, `fp-${n + 1}`, `TypeError: issue ${n + 1}`]);
  await insertMany('issues', ['id', 'project_id', 'short_number', 'fingerprint', 'title'], issues, `grouping_version, level, first_seen, last_seen`, `1, 'error', 0, 0`);
}

async function sqliteRun(rows) {
  const dir = mkdtempSync(join(os.tmpdir(), 'botpulse-today-rank-'));
  try {
    const file = join(dir, 'botpulse.db');
    await (await SqliteStore.open(file)).close();
    const db = new Sqlite(file);
    db.pragma('journal_mode = WAL');
    db.exec('DROP TRIGGER IF EXISTS events_count_hourly; DROP TRIGGER IF EXISTS events_count_daily');
    const insertMany = async (table, cols, values, extraCols = '', extraVals = '') => {
      const stmt = db.prepare(`INSERT INTO ${table} (${cols.join(', ')}${extraCols ? `, ${extraCols}` : ''}) VALUES (${cols.map(() => '?').join(', ')}${extraVals ? `, ${extraVals}` : ''})`);
      db.transaction(() => values.forEach((v) => stmt.run(...v)))();
    };
    await fill(async (s) => db.exec(s), insertMany);
    await insertMany('issue_hourly', ['issue_id', 'hour', 'count'], rows.hourly);
    await insertMany('issue_daily', ['issue_id', 'day', 'count'], rows.daily);
    db.close();
    const store = await SqliteStore.open(file);
    const cpu = (fn) => {
      const c0 = process.cpuUsage();
      fn();
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / 1000;
    };
    const raw = new Sqlite(file, { readonly: true });
    const statements = (list) => list.map((s) => raw.prepare(s));
    const daily = statements(SQL.daily(today).map((s) => s.replace('FROM issue_daily WHERE', 'FROM issue_daily INDEXED BY issue_daily_rank WHERE')));
    const hourly = statements(SQL.hourly(today, true));
    const t = { store: [], daily: [], hourly: [] };
    for (let r = 0; r < RUNS + 2; r++) {
      const c0 = process.cpuUsage();
      await store.searchIssues({ eventsSince: today * DAY, limit: 50, offset: 0, countUpTo: 1050 });
      const c = process.cpuUsage(c0);
      const s = (c.user + c.system) / 1000;
      const d = cpu(() => daily.forEach((x) => x.all()));
      const h = cpu(() => hourly.forEach((x) => x.all()));
      if (r >= 2) t.store.push(s), t.daily.push(d), t.hourly.push(h);
    }
    raw.close();
    await store.close();
    return { measure: 'CPU ms in this process', store: median(t.store), daily: median(t.daily), hourly: median(t.hourly) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresRun(rows) {
  const schema = `bench_today_rank_${process.pid}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  try {
    const store = await PostgresStore.open({ url: new DatabaseUrl(url.toString()), poolMax: 2 });
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    await c.query('SET session_replication_role = replica');
    const insertMany = async (table, cols, values, extraCols = '', extraVals = '') => {
      const types = { issues: ['bigint', 'bigint', 'int', 'text', 'text'] }[table] ?? ['bigint', 'bigint', 'bigint'];
      for (let i = 0; i < values.length; i += 50_000) {
        const chunk = values.slice(i, i + 50_000);
        await c.query(
          `INSERT INTO ${table} (${cols.join(', ')}${extraCols ? `, ${extraCols}` : ''}) SELECT *${extraVals ? `, ${extraVals}` : ''} FROM unnest(${cols.map((_, n) => `$${n + 1}::${types[n]}[]`).join(', ')})`,
          cols.map((_, n) => chunk.map((v) => v[n])),
        );
      }
    };
    await fill((s) => c.query(s), insertMany);
    await insertMany('issue_hourly', ['issue_id', 'hour', 'count'], rows.hourly);
    await insertMany('issue_daily', ['issue_id', 'day', 'count'], rows.daily);
    await c.query('SET session_replication_role = origin');
    await c.query('VACUUM (ANALYZE)');
    const explain = async (list) => {
      let ms = 0;
      for (const s of list) ms += Number(/Execution Time: ([\d.]+)/.exec((await c.query(`EXPLAIN (ANALYZE) ${s}`)).rows.at(-1)['QUERY PLAN'])[1]);
      return ms;
    };
    const t = { daily: [], hourly: [] };
    for (let r = 0; r < RUNS + 2; r++) {
      await store.searchIssues({ eventsSince: today * DAY, limit: 50, offset: 0, countUpTo: 1050 });
      const d = await explain(SQL.daily(today));
      const h = await explain(SQL.hourly(today, false));
      if (r >= 2) t.daily.push(d), t.hourly.push(h);
    }
    await c.end();
    await store.close();
    return { measure: 'backend execution ms (EXPLAIN ANALYZE)', daily: median(t.daily), hourly: median(t.hourly) };
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

const rows = counts();
const todays = rows.daily.filter((r) => r[1] === today);
log(`${ISSUES.toLocaleString('en-US')} issues / ${EVENTS.toLocaleString('en-US')} events: today ${todays.reduce((n, r) => n + r[2], 0).toLocaleString('en-US')} events in ${todays.length.toLocaleString('en-US')} issues, ${rows.hourly.filter((r) => Math.floor(r[1] / 24) === today).length.toLocaleString('en-US')} hourly rows`);
const results = { sqlite: await sqliteRun(rows) };
if (flags.postgres) results.postgres = await postgresRun(rows);
const load_ = os.loadavg().map((l) => l.toFixed(1)).join(' ');
log(`load average ${load_} on ${os.cpus().length} CPUs; medians of ${RUNS}`);
log(`SQLite (${results.sqlite.measure}): store.searchIssues ${results.sqlite.store.toFixed(1)}, issue_daily SQL ${results.sqlite.daily.toFixed(1)}, summing issue_hourly (before) ${results.sqlite.hourly.toFixed(1)}`);
if (results.postgres) log(`PostgreSQL (${results.postgres.measure}): issue_daily SQL ${results.postgres.daily.toFixed(1)}, summing issue_hourly (before) ${results.postgres.hourly.toFixed(1)}`);
mkdirSync(dirname(flags.out), { recursive: true });
writeFileSync(flags.out, JSON.stringify({ generatedAt: new Date().toISOString(), loadAverage: os.loadavg(), issues: ISSUES, events: EVENTS, todayIssues: todays.length, runs: RUNS, results }, null, 2) + '\n');
log(`wrote ${flags.out}`);

#!/usr/bin/env node
/**
 * The issue status counters on PostgreSQL, before (migration 027: a counter row per project,
 * status and connection slot, upserted by the triggers) and after (migration 030: a delta row
 * appended per change, folded by compactIssueStatusCounts), side by side in one run: two schemas
 * of one database, the same issues, the same batches, interleaved A, B, A, B.
 *
 * Per digest-style batch (one transaction: 100 existing issues updated as the digest does, 10 of
 * them reopened, 20 issues created): statements the counter triggers run, backend ms of the two
 * statements (EXPLAIN ANALYZE, triggers included), and the backend's CPU ms (/proc of the backend,
 * when PostgreSQL runs on this machine). After: the fold, per batch and per 10 batches.
 * The tab counts: EXPLAIN ANALYZE backend ms of the read for a project of --issues issues, with 0,
 * 1,000 and 10,000 deltas pending, and the count over the issues it replaced.
 *
 *   npx tsc -b && node benchmarks/status-counts/run.mjs [--issues 100000] [--batches 40]
 *
 * Needs BOTPULSE_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres); makes
 * and drops the database counters16_bench. Writes results/latest.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const pg = createRequire(import.meta.url)('pg');
const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, '../../packages/server/dist');
const { values: args } = parseArgs({ options: { issues: { type: 'string', default: '100000' }, batches: { type: 'string', default: '40' } } });
const ISSUES = Number(args.issues);
const BATCHES = Number(args.batches);
const ADMIN_URL = process.env.BOTPULSE_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = 'counters16_bench';
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

const { PostgresDatabase } = await import(pathToFileURL(join(DIST, 'store/postgres/database.js')).href);
const { DatabaseUrl } = await import(pathToFileURL(join(DIST, 'lib/database-url.js')).href);
const { createMigrator } = await import(pathToFileURL(join(DIST, 'store/migrations/apply.js')).href);
const { migrationKysely } = await import(pathToFileURL(join(DIST, 'store/postgres/database.js')).href);
const { PostgresStore } = await import(pathToFileURL(join(DIST, 'store/postgres/index.js')).href);

const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
await admin.query(`CREATE DATABASE ${DB}`);
const dbUrl = new URL(ADMIN_URL);
dbUrl.pathname = `/${DB}`;

/** One schema migrated up to `migration`, seeded with the same issues. */
async function variant(name, migration) {
  const root = new pg.Client({ connectionString: dbUrl.toString() });
  await root.connect();
  await root.query(`CREATE SCHEMA ${name}`);
  await root.end();
  const url = new URL(dbUrl);
  url.searchParams.set('options', `-c search_path=${name}`);
  const opts = { url: new DatabaseUrl(url.toString()), poolMax: 2, statementTimeoutMs: 600_000 };
  const database = await PostgresDatabase.open(opts, { migrate: false });
  const result = await createMigrator(migrationKysely(database.pool, name), { schema: name }).migrateTo(migration);
  if (result.error) throw result.error;
  await database.close();
  const store = await PostgresStore.open(opts, { migrate: false });
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`INSERT INTO projects (slug, name, public_key, short_id_prefix, created_at, next_short_id)
    SELECT 'p' || n, 'P' || n, md5(n::text), 'P', 1, 1000000 FROM generate_series(1, 4) n`);
  // Project 1 holds ISSUES issues, the three others a tenth each; statuses as a live project's.
  await client.query(`INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, level, status, first_seen, last_seen)
    SELECT p, n, 1, 'fp' || p || '-' || n, 'boom ' || n, 'error',
           (ARRAY['new', 'new', 'in_progress', 'resolved', 'resolved', 'resolved', 'ignored'])[1 + n % 7], 1, 1
    FROM (SELECT 1 AS p, generate_series(1, ${ISSUES}) AS n UNION ALL SELECT p, generate_series(1, ${Math.round(ISSUES / 10)}) FROM generate_series(2, 4) p) s`);
  // 030: the seed's 130,000 inserts left as many deltas; fold them and vacuum, as a running server
  // would long before the batches below.
  if (migration.startsWith('030')) await store.compactIssueStatusCounts();
  await client.query('VACUUM ANALYZE');
  const pid = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  return { name, store, client, pid, deltas: migration.startsWith('030'), batch: 0 };
}

/** utime + stime of a local backend, in ms (null when PostgreSQL runs elsewhere). */
function backendCpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
  } catch {
    return null;
  }
}

/** EXPLAIN ANALYZE of one statement: its backend ms and the counter trigger's calls. */
async function analyzed(client, text, params) {
  const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
  const plan = rows[0]['QUERY PLAN'][0];
  const trigger = (plan.Triggers ?? []).filter((t) => t['Trigger Name'].startsWith('issue_status_counts'));
  return { ms: plan['Execution Time'], triggerMs: trigger.reduce((s, t) => s + t.Time, 0), triggerCalls: trigger.reduce((s, t) => s + t.Calls, 0) };
}

/**
 * One digest-style batch: 100 issues of project 1 get an event (10 of them resolved ones,
 * reopened), 20 issues are created. Statements the counters cost: 027's trigger calls a function
 * whose one upsert runs per status moved out of and into (2 per reopened issue, 1 per created);
 * 030's the same count of inserts.
 */
async function batch(v) {
  const b = v.batch++;
  const ids = (await v.client.query(`SELECT id, status FROM issues WHERE project_id = 1 AND status = 'resolved' ORDER BY id OFFSET $1 LIMIT 10`, [b * 10])).rows.map((r) => Number(r.id));
  const others = (await v.client.query(`SELECT id FROM issues WHERE project_id = 1 AND status = 'new' ORDER BY id OFFSET $1 LIMIT 90`, [b * 90])).rows.map((r) => Number(r.id));
  const cpu0 = backendCpuMs(v.pid);
  await v.client.query('BEGIN');
  const update = await analyzed(v.client, `UPDATE issues i SET status = CASE WHEN i.id = ANY($1::bigint[]) THEN 'new' ELSE i.status END,
      event_count = i.event_count + 1, last_seen = 2 WHERE i.id = ANY($2::bigint[])`, [ids, [...ids, ...others]]);
  const insert = await analyzed(v.client, `INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, level, status, first_seen, last_seen)
      SELECT 1, 2000000 + $1 * 20 + n, 1, 'new-' || $1 || '-' || n, 'new', 'error', 'new', 2, 2 FROM generate_series(1, 20) n`, [b]);
  await v.client.query('COMMIT');
  const cpu1 = backendCpuMs(v.pid);
  return {
    statements: update.triggerCalls * 2 + insert.triggerCalls, // counter statements: 2 per moved issue (out of, into), 1 per created
    triggerMs: update.triggerMs + insert.triggerMs,
    backendMs: update.ms + insert.ms,
    cpuMs: cpu0 === null ? null : cpu1 - cpu0,
  };
}

async function fold(v) {
  const cpu0 = backendCpuMs(v.pid);
  const t0 = performance.now();
  const n = await v.store.compactIssueStatusCounts();
  return { n, wallMs: performance.now() - t0, cpu: cpu0 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];

const before = await variant('counts_027', '027_issue_status_counts');
const after = await variant('counts_030', '030_issue_status_deltas');
console.log(`seeded ${ISSUES} + 3 × ${Math.round(ISSUES / 10)} issues in two schemas; load ${load()}`);

// Digest batches, interleaved; after: folded every batch (foldEvery 1) in the first half, every 10 in the second.
const results = { before: [], after: [], folds: [] };
for (let i = 0; i < BATCHES; i++) {
  results.before.push(await batch(before));
  results.after.push(await batch(after));
  if (i < BATCHES / 2 || i % 10 === 9) {
    const f = await fold(after);
    results.folds.push({ afterBatches: i < BATCHES / 2 ? 1 : 10, deltas: f.n, wallMs: f.wallMs });
  }
}
const row = (label, rs) => {
  const cpu = rs.map((r) => r.cpuMs).filter((x) => x !== null);
  return `| ${label} | ${median(rs.map((r) => r.statements))} | ${median(rs.map((r) => r.triggerMs)).toFixed(2)} / ${p95(rs.map((r) => r.triggerMs)).toFixed(2)} | ${median(rs.map((r) => r.backendMs)).toFixed(2)} / ${p95(rs.map((r) => r.backendMs)).toFixed(2)} | ${cpu.length ? (cpu.reduce((a, b) => a + b, 0) / cpu.length).toFixed(1) : 'n/a'} |`;
};
console.log(`\nDigest-style batch (100 issues updated, 10 reopened, 20 created), ${BATCHES} each, interleaved; load ${load()}`);
console.log('| counters | counter statements per batch | trigger ms p50 / p95 | UPDATE + INSERT backend ms p50 / p95 | backend CPU ms per batch (mean, 10 ms ticks) |');
console.log('| --- | --- | --- | --- | --- |');
console.log(row('027 slots (before)', results.before));
console.log(row('030 deltas (after)', results.after));
for (const every of [1, 10]) {
  const fs = results.folds.filter((f) => f.afterBatches === every);
  if (fs.length) console.log(`fold after every ${every} batch(es): ${median(fs.map((f) => f.deltas))} deltas, wall ms p50 ${median(fs.map((f) => f.wallMs)).toFixed(2)} / p95 ${p95(fs.map((f) => f.wallMs)).toFixed(2)} (${fs.length} folds)`);
}
const foldPlan = await analyzed(after.client, `WITH moved AS (DELETE FROM issue_status_deltas RETURNING project_id, status, delta),
    sums AS (SELECT project_id, status, SUM(delta) AS n, COUNT(*) AS deltas FROM moved GROUP BY project_id, status),
    added AS (INSERT INTO issue_status_counts (project_id, status, slot, count) SELECT project_id, status, 0, n FROM sums
      ON CONFLICT (project_id, status, slot) DO UPDATE SET count = issue_status_counts.count + excluded.count RETURNING 1)
    SELECT COALESCE(SUM(deltas), 0) AS n FROM sums`, []);

// Tab counts of project 1: backend ms (EXPLAIN ANALYZE), median of 31 reads each.
const BEFORE_READ = `SELECT status, SUM(count) AS n FROM issue_status_counts WHERE project_id = 1 GROUP BY status`;
const AFTER_READ = `SELECT status, SUM(n) AS n FROM (SELECT status, count AS n FROM issue_status_counts WHERE project_id = 1
    UNION ALL SELECT status, delta AS n FROM issue_status_deltas WHERE project_id = 1) t GROUP BY status`;
const ISSUES_READ = `SELECT status, COUNT(*) AS n FROM issues WHERE project_id = 1 GROUP BY status`;
const reads = async (v, text) => {
  const ms = [];
  for (let i = 0; i < 31; i++) ms.push((await analyzed(v.client, text, [])).ms);
  return median(ms);
};
/** Appends `n` pending deltas to project 1 the way status changes do (the trigger), kept unfolded. */
const pend = async (n) => {
  await after.store.compactIssueStatusCounts();
  await after.client.query('VACUUM issue_status_deltas'); // what autovacuum does to a table emptied this often
  await after.client.query(`UPDATE issues SET status = CASE status WHEN 'new' THEN 'in_progress' ELSE 'new' END
      WHERE id IN (SELECT id FROM issues WHERE project_id = 1 AND status IN ('new', 'in_progress') ORDER BY id LIMIT $1)`, [n / 2]);
  await after.client.query('ANALYZE issue_status_deltas');
};
/** The 027 read and the 030 read, alternately (same load), median backend ms of each. */
const readsAB = async () => {
  const a = [];
  const b = [];
  for (let i = 0; i < 31; i++) {
    a.push((await analyzed(before.client, BEFORE_READ, [])).ms);
    b.push((await analyzed(after.client, AFTER_READ, [])).ms);
  }
  return [median(a), median(b)];
};
console.log(`\nTab counts of a project with ${ISSUES} issues, backend ms (EXPLAIN ANALYZE, median of 31, 027 and 030 alternately); load ${load()}`);
console.log('| 030 state | 027 slots (before) ms | 030 totals + deltas (after) ms |');
console.log('| --- | --- | --- |');
const tab = { issuesGroupBy: await reads(before, ISSUES_READ) };
tab.unvacuumed = await readsAB();
console.log(`| 0 pending, ${BATCHES * 40} just folded (dead rows, not vacuumed yet) | ${tab.unvacuumed[0].toFixed(3)} | ${tab.unvacuumed[1].toFixed(3)} |`);
for (const n of [0, 1000, 10000]) {
  await pend(n);
  tab[`pending${n}`] = await readsAB();
  console.log(`| ${n} pending deltas | ${tab[`pending${n}`][0].toFixed(3)} | ${tab[`pending${n}`][1].toFixed(3)} |`);
}
console.log(`COUNT(*) GROUP BY status over the issues (before 027): ${tab.issuesGroupBy.toFixed(3)} ms`);
const pendingFold = await analyzed(after.client, `WITH moved AS (DELETE FROM issue_status_deltas RETURNING project_id, status, delta),
    sums AS (SELECT project_id, status, SUM(delta) AS n FROM moved GROUP BY project_id, status)
    INSERT INTO issue_status_counts (project_id, status, slot, count) SELECT project_id, status, 0, n FROM sums
      ON CONFLICT (project_id, status, slot) DO UPDATE SET count = issue_status_counts.count + excluded.count`, []);
console.log(`fold statement, backend ms: ${foldPlan.ms.toFixed(3)} (nothing pending), ${pendingFold.ms.toFixed(3)} (10,000 deltas)`);

const counts = await after.store.issueStatusCounts(1);
const truth = Object.fromEntries((await after.client.query(`SELECT status, COUNT(*)::int AS n FROM issues WHERE project_id = 1 GROUP BY status`)).rows.map((r) => [r.status, r.n]));
console.log(`\nafter: counts ${JSON.stringify(counts)} = recount ${JSON.stringify(truth)}`);

mkdirSync(join(HERE, 'results'), { recursive: true });
writeFileSync(join(HERE, 'results/latest.json'), JSON.stringify({ issues: ISSUES, batches: BATCHES, loadAverage: os.loadavg(), results, tab, foldMs: { empty: foldPlan.ms, pending10000: pendingFold.ms } }, null, 2));
for (const v of [before, after]) {
  await v.client.end();
  await v.store.close();
}
await admin.query(`DROP DATABASE ${DB}`);
await admin.end();

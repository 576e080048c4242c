// The ingest path without HTTP, at the store (benchmarks/ingest's events, packages/server/dist):
// N events spooled in flushes of G (Store.appendToSpool), then digested in batches of B
// (Store.digestBatch), and the CPU time per event of this process and, on PostgreSQL, of the
// database's backends (/proc/<pid>/stat of the sessions in pg_stat_activity). A program, not a test.
//
//   node benchmarks/ingest/store-micro.mjs                 # PostgreSQL (local server, a fresh database, dropped after)
//   KIND=sqlite node benchmarks/ingest/store-micro.mjs     # SQLite (a temporary file)
//   N=4000 G=1 B=100 ROUNDS=3 DIST=<another build's dist> PERF=/tmp/perf.data   # knobs; PERF: `perf record -g` of this process and the backends
//   HELD=1   the appended rows are handed to the digest in memory, as the digest thread gets them (builds with digest/held-rows.js)
//
// Rounds after the first are the ones to read (JIT, caches). On a shared machine run two builds
// alternately (DIST) and compare within a pair.
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { buildPool } from './lib/events.mjs';
const dist = process.env.DIST ?? fileURLToPath(new URL('../../packages/server/dist', import.meta.url));
const { PostgresStore } = await import(`${dist}/store/postgres/index.js`);
const { SqliteStore } = await import(`${dist}/store/sqlite/index.js`);
const { DatabaseUrl } = await import(`${dist}/lib/database-url.js`);
const { intakeEnvelope } = await import(`${dist}/ingest/intake.js`);
const { createScrubber } = await import(`${dist}/digest/scrub.js`);
const { createRowDigester } = await import(`${dist}/digest/process.js`);
const { issueLifecycle } = await import(`${dist}/digest/lifecycle.js`);
const N = +(process.env.N ?? 6000), G = +(process.env.G ?? 4), B = +(process.env.B ?? 100), KIND = process.env.KIND ?? 'pg';
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const admin = new pg.Client(adminUrl); await admin.connect();
const dbName = `pgspeed_micro_${process.pid}`;
let store, tmp;
if (KIND === 'pg') {
  await admin.query(`CREATE DATABASE ${dbName}`);
  store = await PostgresStore.open({ url: new DatabaseUrl(Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).href), poolMax: 10, statementTimeoutMs: 0 });
} else {
  tmp = fs.mkdtempSync('/tmp/pgspeed-sq-'); store = await SqliteStore.open(`${tmp}/db.sqlite`);
}
const project = (await store.listProjects())[0] ?? await store.createProject({ name: 'my-bot' });
const { pool } = buildPool({ sizeKey: '5k', count: 4000 });
const scrubber = createScrubber({});
const limits = { maxEventBytes: 1 << 20, maxAttachmentBytes: 1 << 20, scrubber };
const make = (i) => { const e = pool[i % pool.length]; const id = randomUUID().replace(/-/g, ''); for (const o of e.idOffsets) e.buf.write(id, o); return intakeEnvelope(e.buf, project.id, limits, Date.now()).items; };
const backendCpu = async () => {
  if (KIND !== 'pg') return 0;
  const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [dbName]);
  let t = 0; for (const { pid } of rows) { try { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); t += (+f[11] + +f[12]) * 10; } catch {} }
  return t; // ms (backends that exit are lost: none do here)
};
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const digestRows = createRowDigester({});
const heldRows = process.env.HELD === '1' ? await import(`${dist}/digest/held-rows.js`) : null;
async function round(label) {
  const items = []; for (let i = 0; i < N; i++) items.push(make(i));
  let c0 = cpu(), b0 = await backendCpu(), t0 = performance.now();
  const held = heldRows ? new heldRows.HeldRows(1 << 30) : undefined;
  for (let i = 0; i < N; i += G) {
    const rows = await store.appendToSpool(items.slice(i, i + G).flat());
    if (held && rows?.length) held.add(heldRows.packRows(rows));
  }
  let c1 = cpu(), b1 = await backendCpu(), t1 = performance.now();
  let n = 0; for (;;) { const r = await store.digestBatch(B, digestRows, issueLifecycle, held); if (!r.rows) break; n += r.rows; }
  let c2 = cpu(), b2 = await backendCpu(), t2 = performance.now();
  const us = (x) => (1000 * x / N).toFixed(0).padStart(5);
  console.log(`${label}  append: node ${us(c1 - c0)} µs + db ${us(b1 - b0)} µs (wall ${us(t1 - t0)})   digest: node ${us(c2 - c1)} + db ${us(b2 - b1)} (wall ${us(t2 - t1)})   total ${us(c2 - c0 + b2 - b0)} µs/event  [digested ${n}]`);
}
let perf = null;
if (process.env.PERF) {
  const { spawn } = await import('node:child_process');
  await store.spoolBacklog(); // opens the pool's connections
  const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [dbName]);
  const pids = [process.pid, ...rows.map((r) => r.pid)].join(',');
  perf = spawn('perf', ['record', '-g', '-o', process.env.PERF, '-p', pids], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
}
try {
  for (let r = 0; r < +(process.env.ROUNDS ?? 3); r++) await round(`${KIND} r${r}`);
} finally {
  if (perf) { perf.kill('SIGINT'); await new Promise((r) => perf.on('exit', r)); }
  await store.close();
  if (KIND === 'pg') await admin.query(`DROP DATABASE ${dbName}`); else fs.rmSync(tmp, { recursive: true });
  await admin.end();
}

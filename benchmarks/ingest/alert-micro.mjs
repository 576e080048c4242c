// The alert engine's decisions at the store, PostgreSQL: N decisions (each on its own
// fingerprint, a new issue's, with a state written) applied in batches of B through
// AlertStore.consumeChanges, as the engine applies a turn's decisions. Prints the CPU time per
// decision of this process and of the database backends (/proc/<pid>/stat of the sessions in
// pg_stat_activity), and the statements PostgreSQL ran for them when pg_stat_statements is there.
// A program, not a test.
//
//   node benchmarks/ingest/alert-micro.mjs                       # N=3000 B=30 ROUNDS=3
//   DIST=<another build's packages/server/dist> node benchmarks/ingest/alert-micro.mjs   # A/B: run both builds alternately
//   DATABASE_URL=postgres://postgres@127.0.0.1:5513/postgres ...  # a cluster with pg_stat_statements for the statement counts
import fs from 'node:fs';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
const dist = process.env.DIST ?? fileURLToPath(new URL('../../packages/server/dist', import.meta.url));
const { PostgresStore } = await import(`${dist}/store/postgres/index.js`);
const { PostgresAlertStore } = await import(`${dist}/store/postgres/alerts.js`);
const { DatabaseUrl } = await import(`${dist}/lib/database-url.js`);
const N = +(process.env.N ?? 3000), B = +(process.env.B ?? 30);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const admin = new pg.Client(adminUrl); await admin.connect();
const dbName = `alert_micro_${process.pid}`;
await admin.query(`CREATE DATABASE ${dbName}`);
const store = await PostgresStore.open({ url: new DatabaseUrl(Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).href), poolMax: 10, statementTimeoutMs: 0 });
const alerts = new PostgresAlertStore(store.db);
const db = new pg.Client(Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).href); await db.connect();
const stats = (await db.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements' AND installed_version IS NULL`).catch(() => ({ rows: [] }))).rows.length > 0
  && (await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').then(() => true, () => false));
const backendCpu = async () => {
  const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> $2', [dbName, db.processID]);
  let t = 0; for (const { pid } of rows) { try { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); t += (+f[11] + +f[12]) * 10; } catch {} }
  return t;
};
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const decision = (fingerprint, i) => ({
  fingerprint,
  decide: (s) => ({
    state: { fingerprint, projectId: 1, issueId: i, tier: 'alert', cooldownUntil: 0, pending: null, lastEnqueuedAt: null, lastSentAt: null, eventsAtLast: (s?.eventsAtLast ?? 0) + 1, usersAtLast: 0, repeatAt: null, ackedAt: null, ackedBy: null, awaitingSend: [] },
    enqueue: [],
    log: [{ at: i, projectId: 1, issueId: null, fingerprint, tier: 'alert', reasons: ['new'], outcome: 'recorded' }],
  }),
});
const statements = async () => (stats ? Number((await db.query(`SELECT coalesce(sum(calls), 0) AS n FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1) AND toplevel`, [dbName])).rows[0].n) : NaN);
try {
  for (let r = 0; r < +(process.env.ROUNDS ?? 3); r++) {
    const s0 = await statements(), c0 = cpu(), b0 = await backendCpu(), t0 = performance.now();
    for (let i = 0; i < N; i += B) await alerts.consumeChanges([], Array.from({ length: Math.min(B, N - i) }, (_, k) => decision(`r${r}:${i + k}`, i + k)));
    const c1 = cpu(), b1 = await backendCpu(), t1 = performance.now(), s1 = await statements();
    const us = (x) => ((1000 * x) / N).toFixed(0).padStart(5);
    console.log(`r${r}  per decision: node ${us(c1 - c0)} µs + db ${us(b1 - b0)} µs = ${us(c1 - c0 + b1 - b0)} µs (wall ${us(t1 - t0)})   statements ${stats ? ((s1 - s0 - 2) / N).toFixed(2) : '-'} per decision`);
  }
} finally {
  await db.end();
  await store.close();
  await admin.query(`DROP DATABASE ${dbName}`);
  await admin.end();
}

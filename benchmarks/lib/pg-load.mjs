// Loads a seeded Botpulse SQLite file into a PostgreSQL schema the server's migrations made, fast
// enough for the 10 M-event benchmarks (issue 16). `botpulse migrate-data` (copySqliteToPostgres)
// is the product's copy: one transaction, Kysely multi-row INSERTs, every index kept up as rows go
// in, triggers paused one by one; that took 200–950 s for 1 M events on this machine. Here:
//
// - `session_replication_role = replica`: no trigger and no foreign-key check fires while loading
//   (the rows come with what the triggers derived in SQLite; `issue_text`, which only PostgreSQL
//   has, is filled after in one statement).
// - The secondary indexes of the tables (not the primary keys or unique constraints) are dropped
//   first and rebuilt from their own definitions after the load: one sorted build per index
//   instead of millions of B-tree inserts.
// - Rows go in as `INSERT … SELECT * FROM unnest($1::type[], …)`: one statement and one parameter
//   per column for thousands of rows.
// - Sequences move past the copied ids, then `VACUUM (ANALYZE)`: a real database has statistics
//   (autovacuum) and a visibility map (index-only scans); a copy that is only loaded has neither,
//   and its plans are not the ones a running server gets.
//
// Not for production data: a failure half-way leaves a half-loaded schema (the benchmark drops it).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const Sqlite = require('better-sqlite3');

/** SQLite's own tables and full-text indexes, and Kysely's bookkeeping: never copied. */
const INTERNAL_TABLE = /^(sqlite_|kysely_|log_lines_fts|issues_text($|_))/;
/** About this many bytes of values per statement. */
const BATCH_BYTES = 16 * 1024 * 1024;
const BATCH_ROWS = 20_000;

/**
 * @param {{ sqliteFile: string, client: import('pg').Client, log?: (s: string) => void }} opts
 *   `client`: connected, its search_path at the target schema (already migrated, empty).
 * @returns {Promise<{ seconds: number, rows: number, steps: Record<string, number>, cpuSeconds: { node: number, backend: number } }>}
 *   CPU: this process's, and the loading connection's backend's (VACUUM and index builds may use parallel workers, not counted)
 */
export async function loadIntoPostgres({ sqliteFile, client, log = () => {} }) {
  const t0 = performance.now();
  const steps = {};
  const cpu = { node: 0, backend: 0 };
  const step = async (name, fn) => {
    const s = performance.now();
    const c0 = process.cpuUsage();
    const b0 = backendCpuSeconds(client);
    const out = await fn();
    const c1 = process.cpuUsage(c0);
    const stepCpu = { node: (c1.user + c1.system) / 1e6, backend: backendCpuSeconds(client) - b0 };
    cpu.node += stepCpu.node;
    cpu.backend += stepCpu.backend;
    steps[name] = (performance.now() - s) / 1000;
    log(`  ${name}: ${steps[name].toFixed(1)} s (CPU: this process ${stepCpu.node.toFixed(1)} s, PostgreSQL backend ${stepCpu.backend.toFixed(1)} s)`);
    return out;
  };
  const source = new Sqlite(sqliteFile, { readonly: true, fileMustExist: true });
  let rows = 0;
  try {
    await client.query(`SET session_replication_role = replica`);
    await client.query(`SET synchronous_commit = off`);
    await client.query(`SET maintenance_work_mem = '512MB'`);
    const tables = source
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
      .pluck()
      .all()
      .filter((name) => !INTERNAL_TABLE.test(name));
    const indexes = await step('drop secondary indexes', () => dropSecondaryIndexes(client, tables));
    await step('rows', async () => {
      for (const table of tables) rows += await copyTable(source, client, table, log);
    });
    await step('issue_text', () => client.query(`INSERT INTO issue_text (issue_id, text) SELECT id, title || E'\\n' || coalesce(culprit, '') FROM issues`));
    await step('sequences', () => resetSequences(client));
    await step('rebuild indexes', async () => {
      for (const def of indexes) await client.query(def);
    });
    await client.query(`SET session_replication_role = origin`);
    await step('VACUUM (ANALYZE)', () => client.query('VACUUM (ANALYZE)'));
  } finally {
    source.close();
  }
  return { seconds: (performance.now() - t0) / 1000, rows, steps, cpuSeconds: cpu };
}

/** CPU seconds the connection's backend has used so far (/proc, 10 ms ticks). */
function backendCpuSeconds(client) {
  try {
    const fields = readFileSync(`/proc/${client.processID}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Drops the indexes of `tables` that back no constraint; returns their CREATE INDEX statements. */
async function dropSecondaryIndexes(client, tables) {
  const { rows } = await client.query(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = current_schema() AND t.relname = ANY($1::text[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
    [tables],
  );
  for (const r of rows) await client.query(`DROP INDEX ${r.name}`);
  return rows.map((r) => r.def);
}

/** The target's columns of `table` with their types (`bigint`, `text`, `bytea`, …). */
async function targetColumns(client, table) {
  const { rows } = await client.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [table],
  );
  return rows;
}

async function copyTable(source, client, table, log) {
  const columns = await targetColumns(client, table);
  if (!columns.length) throw new Error(`table ${table} has no counterpart in PostgreSQL`);
  const sourceColumns = new Set(source.prepare(`PRAGMA table_info("${table}")`).all().map((c) => c.name));
  const missing = columns.filter((c) => !sourceColumns.has(c.name));
  if (missing.length || sourceColumns.size !== columns.length) throw new Error(`table ${table}: columns differ between SQLite and PostgreSQL`);
  const names = columns.map((c) => `"${c.name}"`).join(', ');
  const insert = `INSERT INTO "${table}" (${names}) SELECT * FROM unnest(${columns.map((c, n) => `$${n + 1}::${c.type}[]`).join(', ')})`;
  // Booleans are 0/1 in SQLite; PostgreSQL's boolean input reads '1'/'0' as true/false.
  const select = source.prepare(`SELECT ${names} FROM "${table}"`).raw(true).safeIntegers(true);
  let arrays = columns.map(() => []);
  let count = 0;
  let bytes = 0;
  let total = 0;
  // One statement in flight while the next batch is read: SQLite and the array building here
  // overlap PostgreSQL's insert.
  let inFlight = Promise.resolve();
  const flush = async () => {
    if (!count) return;
    await inFlight;
    inFlight = client.query(insert, arrays);
    total += count;
    arrays = columns.map(() => []);
    count = 0;
    bytes = 0;
  };
  for (const row of select.iterate()) {
    for (let c = 0; c < row.length; c++) {
      const v = row[c];
      arrays[c].push(v);
      bytes += v == null ? 1 : typeof v === 'string' || Buffer.isBuffer(v) ? v.length : 8;
    }
    if (++count >= BATCH_ROWS || bytes >= BATCH_BYTES) await flush();
  }
  await flush();
  await inFlight;
  if (total > 100_000) log(`    ${table}: ${total.toLocaleString('en-US')} rows`);
  return total;
}

/** Every serial/identity column's sequence past the highest id copied. */
async function resetSequences(client) {
  const { rows } = await client.query(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')`,
  );
  for (const { table_name: t, column_name: c } of rows) {
    await client.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT COALESCE(MAX("${c}"), 0) FROM "${t}"), 1), (SELECT COUNT(*) > 0 FROM "${t}"))`,
      [t, c],
    );
  }
}

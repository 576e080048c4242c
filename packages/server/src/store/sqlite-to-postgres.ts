import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { sql, type Transaction } from 'kysely';
import { migrations } from './migrations/index.js';
import type { PostgresDatabase } from './postgres/database.js';
import { spoolFileFor } from './sqlite/spool-file.js';

/**
 * `botpulse migrate-data`: copies a SQLite data directory into a PostgreSQL database, table by
 * table, ids and all, so that DSNs (project keys), short ids, API tokens and sessions stay valid.
 * Both databases are built by the same migrations, so the tables and columns are read from the
 * source and checked against the target rather than listed here: a table a later migration adds
 * is copied without touching this file.
 *
 * The whole copy is ONE PostgreSQL transaction, and the row counts are compared inside it: a
 * failed or mismatched copy leaves the target as it was.
 */

export interface CopyOptions {
  /** The SQLite data directory (holds botpulse.db and botpulse-spool.db). */
  dataDir: string;
  /** The target, opened (and migrated) by the caller. */
  target: PostgresDatabase;
  /** Delete the rows a non-empty target holds first (otherwise a non-empty target is refused). */
  force?: boolean;
  /** Rows per INSERT at most (fewer when the table has many columns or large rows). */
  batchRows?: number;
  /** Called after every batch and once when a table is done. */
  onProgress?: (progress: TableProgress) => void;
}

export interface TableProgress {
  table: string;
  copied: number;
  total: number;
  done: boolean;
}

export interface CopyReport {
  tables: { table: string; rows: number }[];
  /** Tables that held rows before, emptied because of `force`. */
  cleared: string[];
}

/** The copy was refused or failed before anything was committed. */
export class MigrateDataError extends Error {}

/**
 * Kysely's own bookkeeping, and SQLite's: never copied (the target has its own). `log_lines_fts*`
 * and `issues_text*` (migration 020) are SQLite's full-text indexes of log_lines and issues;
 * PostgreSQL indexes the columns themselves (issues: pg_trgm).
 */
/**
 * Tables only PostgreSQL has, filled by its triggers from the copied tables (`issue_text`, the
 * issue search's text, migration 026): not copied, and their triggers (named after them) stay on.
 */
const POSTGRES_DERIVED_TABLES = ['issue_text'];

const INTERNAL_TABLE = /^(sqlite_|kysely_|log_lines_fts|issues_text($|_))/;
/** PostgreSQL allows 65535 parameters per statement. */
const MAX_PARAMETERS = 60_000;
/** Payloads (events, attachments) are large: an INSERT carries about this many bytes at most. */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;

type Row = Record<string, unknown>;

/** Where a target table's rows come from: one or more SQLite tables (the spool is two). */
interface SourcePart {
  db: Sqlite.Database;
  /** The table in that file (`spool` of the spool file, else the target's name). */
  table: string;
  count: number;
  /** Added to `id` (legacy spool rows of the main file, numbered after the spool file's). */
  idOffset: number;
}

export async function copySqliteToPostgres(opts: CopyOptions): Promise<CopyReport> {
  const source = openSource(opts.dataDir);
  try {
    checkSourceMigrations(source.main);
    return await opts.target.db.transaction().execute(async (trx) => {
      // Both SQLite files read from one snapshot each, taken now: a row written meanwhile is not half-copied.
      source.begin();
      const tables = await planTables(source, trx);
      const cleared = await emptyTarget(trx, tables.map((t) => t.name), opts.force ?? false);
      const report: CopyReport = { tables: [], cleared };
      const triggers = await userTriggers(trx, tables.map((t) => t.name));
      await setTriggers(trx, triggers, 'DISABLE');
      for (const table of tables) {
        const rows = await copyTable(trx, table, opts);
        report.tables.push({ table: table.name, rows });
      }
      await setTriggers(trx, triggers, 'ENABLE');
      await resetSequences(trx, source, tables.map((t) => t.name));
      await verifyCounts(trx, tables);
      return report;
    });
  } finally {
    source.close();
  }
}

// ── the source ────────────────────────────────────────────────────────────────────────────────

interface Source {
  main: Sqlite.Database;
  /** The spool file (`botpulse-spool.db`), if there is one. */
  spool: Sqlite.Database | null;
  begin(): void;
  close(): void;
}

function openSource(dataDir: string): Source {
  const file = join(dataDir, 'botpulse.db');
  if (!existsSync(file)) throw new MigrateDataError(`no Botpulse SQLite database in ${dataDir} (botpulse.db not found)`);
  const main = new Sqlite(file, { readonly: true, fileMustExist: true });
  const spoolFile = spoolFileFor(file);
  const spool = existsSync(spoolFile) ? new Sqlite(spoolFile, { readonly: true, fileMustExist: true }) : null;
  const open = [main, ...(spool ? [spool] : [])];
  return {
    main,
    spool,
    begin: () => open.forEach((db) => db.prepare('BEGIN').run()),
    close: () =>
      open.forEach((db) => {
        if (db.inTransaction) db.prepare('ROLLBACK').run();
        db.close();
      }),
  };
}

/** Rows copied column for column need both schemas at the same migration. */
function checkSourceMigrations(main: Sqlite.Database): void {
  const applied = (main.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  const known = Object.keys(migrations);
  const unknown = applied.filter((name) => !known.includes(name));
  if (unknown.length) throw new MigrateDataError(`the SQLite data was written by a newer Botpulse (migrations ${unknown.join(', ')} are unknown to this one); run migrate-data with that version`);
  const missing = known.filter((name) => !applied.includes(name));
  if (missing.length) {
    throw new MigrateDataError(`the SQLite data is not at this version's schema (missing ${missing.join(', ')}); bring it up first: BOTPULSE_DATA_DIR=<data dir> botpulse migrate`);
  }
}

// ── the plan ──────────────────────────────────────────────────────────────────────────────────

interface TablePlan {
  name: string;
  columns: string[];
  /** ORDER BY of the source: its primary key (id order), else SQLite's rowid (insertion order). */
  orderBy: string;
  parts: SourcePart[];
  expected: number;
}

/** Every source table, checked against the target, in an order that satisfies the target's foreign keys. */
async function planTables(source: Source, trx: Transaction<any>): Promise<TablePlan[]> {
  const sourceTables = (source.main.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[])
    .map((r) => r.name)
    .filter((name) => !INTERNAL_TABLE.test(name));
  const targetColumns = await targetTableColumns(trx);
  const plans: TablePlan[] = [];
  for (const name of sourceTables) {
    const info = source.main.prepare(`PRAGMA table_info(${quoteIdent(name)})`).all() as { name: string; pk: number }[];
    const columns = info.map((c) => c.name);
    const onTarget = targetColumns.get(name);
    if (!onTarget) throw new MigrateDataError(`table ${name} of the SQLite data has no counterpart in PostgreSQL`);
    const differ = symmetricDifference(columns, onTarget);
    if (differ.length) throw new MigrateDataError(`table ${name} has different columns in SQLite and PostgreSQL (${differ.join(', ')})`);
    const key = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => quoteIdent(c.name));
    const orderBy = key.length ? key.join(', ') : 'rowid';
    const parts = partsOf(source, name);
    plans.push({ name, columns, orderBy, parts, expected: parts.reduce((n, p) => n + p.count, 0) });
  }
  const missing = [...targetColumns.keys()].filter((name) => !sourceTables.includes(name) && !POSTGRES_DERIVED_TABLES.includes(name));
  if (missing.length) throw new MigrateDataError(`PostgreSQL has tables the SQLite data lacks (${missing.join(', ')})`);
  return orderByForeignKeys(plans, await targetForeignKeys(trx));
}

/**
 * The spool of a SQLite store lives in its own file; the main file's `spool` table is unused and
 * normally empty. Rows found there anyway are answered items too: copied after the spool file's,
 * numbered past them so no id repeats.
 */
function partsOf(source: Source, table: string): SourcePart[] {
  const count = (db: Sqlite.Database, t: string) => Number(db.prepare(`SELECT COUNT(*) FROM ${quoteIdent(t)}`).pluck().get());
  const main: SourcePart = { db: source.main, table, count: count(source.main, table), idOffset: 0 };
  if (table !== 'spool' || !source.spool) return [main];
  const file: SourcePart = { db: source.spool, table: 'spool', count: count(source.spool, 'spool'), idOffset: 0 };
  main.idOffset = spoolIdFloor(source);
  return main.count ? [file, main] : [file];
}

/** The highest spool id ever given out, in the spool file or recorded by the quarantine. */
function spoolIdFloor(source: Source): number {
  const seq = source.spool ? sequenceOf(source.spool, 'spool') : 0;
  const max = source.spool ? Number(source.spool.prepare('SELECT COALESCE(MAX(id), 0) FROM spool').pluck().get()) : 0;
  const quarantined = Number(source.main.prepare('SELECT COALESCE(MAX(spool_id), 0) FROM digest_quarantine').pluck().get());
  return Math.max(seq, max, quarantined);
}

/** AUTOINCREMENT's high-water mark (ids of deleted rows included), 0 without one. */
function sequenceOf(db: Sqlite.Database, table: string): number {
  const hasSequences = db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'`).get();
  if (!hasSequences) return 0;
  return Number(db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get(table) ?? 0);
}

async function targetTableColumns(trx: Transaction<any>): Promise<Map<string, string[]>> {
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    SELECT c.table_name, c.column_name FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name NOT LIKE 'kysely\\_%'
    ORDER BY c.table_name, c.ordinal_position`.execute(trx);
  const tables = new Map<string, string[]>();
  for (const r of rows) tables.set(r.table_name, [...(tables.get(r.table_name) ?? []), r.column_name]);
  return tables;
}

/** child table → the tables it references (in the current schema). */
async function targetForeignKeys(trx: Transaction<any>): Promise<Map<string, string[]>> {
  const { rows } = await sql<{ child: string; parent: string }>`
    SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent FROM pg_constraint c
    JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()`.execute(trx);
  const refs = new Map<string, string[]>();
  for (const r of rows) refs.set(unqualified(r.child), [...(refs.get(unqualified(r.child)) ?? []), unqualified(r.parent)]);
  return refs;
}

/** Parents before children; otherwise by name, so the progress reads the same every time. */
function orderByForeignKeys(plans: TablePlan[], refs: Map<string, string[]>): TablePlan[] {
  const byName = new Map(plans.map((p) => [p.name, p]));
  const ordered: TablePlan[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    const plan = byName.get(name);
    if (!plan || ordered.includes(plan)) return;
    if (visiting.has(name)) throw new MigrateDataError(`the foreign keys of ${name} form a cycle; cannot order the copy`);
    visiting.add(name);
    for (const parent of refs.get(name) ?? []) if (parent !== name) visit(parent);
    visiting.delete(name);
    ordered.push(plan);
  };
  for (const plan of plans) visit(plan.name);
  return ordered;
}

// ── the copy ──────────────────────────────────────────────────────────────────────────────────

/** A non-empty target is refused (unless `force`): copied ids would collide with the rows there. */
async function emptyTarget(trx: Transaction<any>, tables: string[], force: boolean): Promise<string[]> {
  const held: string[] = [];
  for (const table of tables) {
    const { rows } = await sql<{ any: boolean }>`SELECT EXISTS (SELECT 1 FROM ${sql.table(table)}) AS any`.execute(trx);
    if (rows[0]?.any) held.push(table);
  }
  if (held.length === 0) return [];
  if (!force) {
    throw new MigrateDataError(
      `the target database already holds Botpulse data (${held.join(', ')}); migrate-data copies ids as they are ` +
        `(so DSNs and short ids stay valid) and needs empty tables. Point --to at a new database, or pass --force to delete those rows first`,
    );
  }
  await sql`TRUNCATE ${sql.join(tables.map((t) => sql.table(t)))} RESTART IDENTITY`.execute(trx);
  return held;
}

interface Trigger {
  table: string;
  name: string;
}

/**
 * Triggers of ours on the target that derive rows the copy brings itself (`events_count_hourly`,
 * which fills `issue_hourly` from inserted events). Triggers filling a table only PostgreSQL has
 * (POSTGRES_DERIVED_TABLES) stay on: the copied rows must fill it.
 */
async function userTriggers(trx: Transaction<any>, tables: string[]): Promise<Trigger[]> {
  const { rows } = await sql<Trigger>`
    SELECT c.relname AS table, t.tgname AS name FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT t.tgisinternal AND n.nspname = current_schema() ORDER BY c.relname, t.tgname`.execute(trx);
  return rows.filter((t) => tables.includes(t.table) && !POSTGRES_DERIVED_TABLES.some((derived) => t.name.startsWith(`${derived}_`)));
}

/**
 * Rows a trigger derives are copied as they are in SQLite (hourly counts outlive the events
 * retention prunes, so they cannot be derived again): the triggers are off during the copy, or
 * every copied event would count twice. ALTER TABLE is transactional: a failed copy leaves them on.
 */
async function setTriggers(trx: Transaction<any>, triggers: Trigger[], state: 'DISABLE' | 'ENABLE'): Promise<void> {
  for (const t of triggers) await sql`ALTER TABLE ${sql.table(t.table)} ${sql.raw(state)} TRIGGER ${sql.id(t.name)}`.execute(trx);
}

async function copyTable(trx: Transaction<any>, table: TablePlan, opts: CopyOptions): Promise<number> {
  const maxRows = Math.max(1, Math.min(opts.batchRows ?? 1000, Math.floor(MAX_PARAMETERS / table.columns.length)));
  let copied = 0;
  const report = (done: boolean) => opts.onProgress?.({ table: table.name, copied, total: table.expected, done });
  for (const part of table.parts) {
    const columns = table.columns.map(quoteIdent).join(', ');
    // iterate() streams: a table larger than memory is copied batch by batch. Integers come as
    // BigInt (node-postgres sends them as text), so none beyond 2^53 is rounded on the way.
    const select = part.db.prepare(`SELECT ${columns} FROM ${quoteIdent(part.table)} ORDER BY ${table.orderBy}`).safeIntegers(true);
    const rows = select.iterate() as IterableIterator<Row>;
    let batch: Row[] = [];
    let bytes = 0;
    for (const row of rows) {
      if (part.idOffset) row['id'] = BigInt(row['id'] as bigint) + BigInt(part.idOffset);
      batch.push(row);
      bytes += rowBytes(row);
      if (batch.length >= maxRows || bytes >= MAX_BATCH_BYTES) {
        copied += await insert(trx, table.name, batch);
        report(false);
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length) copied += await insert(trx, table.name, batch);
  }
  report(true);
  return copied;
}

async function insert(trx: Transaction<any>, table: string, rows: Row[]): Promise<number> {
  try {
    await trx.insertInto(table).values(rows).execute();
  } catch (err) {
    throw new MigrateDataError(`copying ${table} failed: ${(err as Error).message}`);
  }
  return rows.length;
}

function rowBytes(row: Row): number {
  let n = 0;
  for (const value of Object.values(row)) n += Buffer.isBuffer(value) ? value.length : typeof value === 'string' ? value.length : 8;
  return n;
}

/**
 * The rows came with their ids, which leaves the target's sequences at 1: move each past the
 * highest id copied, and past SQLite's AUTOINCREMENT high-water mark (ids of deleted rows are
 * never given again there either; the spool's are also named by quarantined rows).
 */
async function resetSequences(trx: Transaction<any>, source: Source, tables: string[]): Promise<void> {
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'`.execute(trx);
  for (const { table_name: table, column_name: column } of rows) {
    if (!tables.includes(table)) continue;
    const floor = table === 'spool' ? spoolIdFloor(source) : sequenceOf(source.main, table);
    await sql`SELECT setval(pg_get_serial_sequence(${table}, ${column}), GREATEST(COALESCE((SELECT MAX(${sql.ref(column)}) FROM ${sql.table(table)}), 0), ${floor}, 1),
              COALESCE((SELECT MAX(${sql.ref(column)}) FROM ${sql.table(table)}), 0) > 0 OR ${floor}::bigint > 0)`.execute(trx);
  }
}

/** Counted inside the copy's transaction: a mismatch rolls everything back. */
async function verifyCounts(trx: Transaction<any>, tables: TablePlan[]): Promise<void> {
  const wrong: string[] = [];
  for (const table of tables) {
    const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql.table(table.name)}`.execute(trx);
    const actual = Number(rows[0]!.n);
    if (actual !== table.expected) wrong.push(`${table.name}: SQLite ${table.expected}, PostgreSQL ${actual}`);
  }
  if (wrong.length) throw new MigrateDataError(`row counts differ after the copy (${wrong.join('; ')}); nothing was committed`);
}

// ── names ─────────────────────────────────────────────────────────────────────────────────────

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function unqualified(name: string): string {
  return name.replace(/^.*\./, '').replaceAll('"', '');
}

function symmetricDifference(a: string[], b: string[]): string[] {
  return [...a.filter((x) => !b.includes(x)), ...b.filter((x) => !a.includes(x))];
}

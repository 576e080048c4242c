import { sql, type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * Status counters without shared row locks (issue 16, deadlock): migration 027's PostgreSQL
 * triggers added to a counter row per (project, status, connection slot) and so locked it until
 * commit. Two transactions sharing a slot and moving issues between statuses in crossing order
 * (a digest batch reopening an ignored then a resolved issue, a person reopening a resolved one)
 * waited on each other and PostgreSQL aborted one: the person's change answered an error.
 *
 * Now a change only appends: the triggers INSERT one row per moved issue into
 * `issue_status_deltas`, a table nobody updates, so a status change never waits on another
 * transaction's counters. Readers sum `issue_status_counts` (the folded totals, slot 0) and the
 * pending deltas in one statement (one snapshot: exact). `compactIssueStatusCounts` folds the
 * deltas into the totals in one statement, under a try-advisory-lock, so only one folder ever
 * writes the totals (store/status-counts.ts). The old slots are moved into the deltas here.
 *
 * SQLite has one writer: its triggers keep adding to slot 0 directly; the table exists there too
 * (empty) so both stores read, fold and copy (`migrate-data`) the same schema.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE issue_status_deltas (project_id bigint NOT NULL, status text NOT NULL, delta integer NOT NULL)`.execute(db);
  await sql`CREATE INDEX issue_status_deltas_project ON issue_status_deltas (project_id)`.execute(db);
  if (dialectTypes(db).sqlite) return;
  await sql`CREATE OR REPLACE FUNCTION issue_status_counts_add(p bigint, s text, delta int) RETURNS void LANGUAGE sql AS $$
      INSERT INTO issue_status_deltas (project_id, status, delta) VALUES (p, s, delta)
    $$`.execute(db);
  // Every writer of the totals takes this lock first (the folder tries it; a truncation waits).
  await sql`CREATE OR REPLACE FUNCTION issue_status_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock(${sql.lit(TOTALS_LOCK)}, 0);
      DELETE FROM issue_status_deltas; DELETE FROM issue_status_counts; RETURN NULL;
    END $$`.execute(db);
  // One statement, so a process still on 027's function adding to a slot meanwhile loses nothing:
  // the DELETE takes the row as that process left it and moves that count. (A slot row written
  // after this is still read: readers sum every slot.)
  await sql`WITH moved AS (DELETE FROM issue_status_counts WHERE slot <> 0 RETURNING project_id, status, count)
    INSERT INTO issue_status_deltas (project_id, status, delta) SELECT project_id, status, count FROM moved`.execute(db);
}

/**
 * The totals' writers' pg_advisory_xact_lock(int, int) key space: LOCKS.statusCounts of
 * store/postgres/query.ts (a migration keeps its own copy; a test checks they agree).
 */
export const TOTALS_LOCK = 0x6270_0008;

export async function down(db: Kysely<any>): Promise<void> {
  if (!dialectTypes(db).sqlite) {
    await sql`CREATE OR REPLACE FUNCTION issue_status_counts_add(p bigint, s text, delta int) RETURNS void LANGUAGE sql AS $$
        INSERT INTO issue_status_counts (project_id, status, slot, count) VALUES (p, s, pg_backend_pid() % 8, delta)
        ON CONFLICT (project_id, status, slot) DO UPDATE SET count = issue_status_counts.count + excluded.count
      $$`.execute(db);
    await sql`CREATE OR REPLACE FUNCTION issue_status_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN DELETE FROM issue_status_counts; RETURN NULL; END $$`.execute(db);
  }
  await sql`INSERT INTO issue_status_counts (project_id, status, slot, count)
      SELECT project_id, status, 1, SUM(delta) FROM issue_status_deltas GROUP BY project_id, status
      ON CONFLICT (project_id, status, slot) DO UPDATE SET count = issue_status_counts.count + excluded.count`.execute(db);
  await sql`DROP TABLE issue_status_deltas`.execute(db);
}

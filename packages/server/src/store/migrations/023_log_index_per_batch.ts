import { sql, type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * Log lines' full-text index on SQLite, fed per batch (docs/logs.md "Throughput"; issue 13's
 * benchmark). Migration 013's `AFTER INSERT` trigger indexed each line in its own FTS5 insert:
 * 45–70 µs a line, the largest cost of storing one. SqliteLogStore.appendLines now feeds the
 * index in the same transaction with one `INSERT … SELECT` over the lines it just stored, which
 * costs a few µs a line. So the insert trigger goes (the delete trigger stays: retention and
 * project deletion keep the index in step as before).
 *
 * The index is rebuilt with `detail=none, columnsize=0`: search only ever asks for words (each a
 * one-token phrase, all of which must appear), never a phrase, NEAR or a column, so positions and
 * column sizes were written and never read. The rebuild indexes the lines already stored.
 *
 * PostgreSQL: nothing (its GIN index is maintained by PostgreSQL per statement already).
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (!dialectTypes(db).sqlite) return;
  await sql`DROP TRIGGER IF EXISTS log_lines_fts_insert`.execute(db);
  await sql`DROP TRIGGER IF EXISTS log_lines_fts_delete`.execute(db);
  await sql`DROP TABLE IF EXISTS log_lines_fts`.execute(db);
  await sql`CREATE VIRTUAL TABLE log_lines_fts USING fts5(message, content='log_lines', content_rowid='id', detail='none', columnsize=0)`.execute(db);
  await sql`CREATE TRIGGER log_lines_fts_delete AFTER DELETE ON log_lines BEGIN
              INSERT INTO log_lines_fts (log_lines_fts, rowid, message) VALUES ('delete', OLD.id, OLD.message);
            END`.execute(db);
  await sql`INSERT INTO log_lines_fts (log_lines_fts) VALUES ('rebuild')`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!dialectTypes(db).sqlite) return;
  await sql`DROP TRIGGER IF EXISTS log_lines_fts_delete`.execute(db);
  await sql`DROP TABLE IF EXISTS log_lines_fts`.execute(db);
  await sql`CREATE VIRTUAL TABLE log_lines_fts USING fts5(message, content='log_lines', content_rowid='id')`.execute(db);
  await sql`CREATE TRIGGER log_lines_fts_insert AFTER INSERT ON log_lines BEGIN
              INSERT INTO log_lines_fts (rowid, message) VALUES (NEW.id, NEW.message);
            END`.execute(db);
  await sql`CREATE TRIGGER log_lines_fts_delete AFTER DELETE ON log_lines BEGIN
              INSERT INTO log_lines_fts (log_lines_fts, rowid, message) VALUES ('delete', OLD.id, OLD.message);
            END`.execute(db);
  await sql`INSERT INTO log_lines_fts (log_lines_fts) VALUES ('rebuild')`.execute(db);
}

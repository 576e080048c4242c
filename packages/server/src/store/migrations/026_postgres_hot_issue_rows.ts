import { sql, type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';
import { trigramOpclass } from './020_issue_text_index.js';

/**
 * What a digest batch costs PostgreSQL per event (issue 12, speed; SQLite: nothing to do, its
 * full-text index is already a table of its own that only real title changes touch).
 *
 * - The issue list's trigram index (migration 020) moves from `issues` to `issue_text`, a table of
 *   (issue_id, text) kept in step by triggers on `issues`. The digest rewrites every issue row it
 *   touches (counts, last seen), and PostgreSQL writes a new row version with fresh entries in
 *   every index: for a trigram GIN index, about a hundred of them per issue, for a title that did
 *   not change. Measured on this machine, 0.15–0.17 ms per updated issue without that index and
 *   0.36–0.43 ms with it (35 issues per statement, 3,000 issues). Now a title or culprit that
 *   really changes rewrites its `issue_text` row, and nothing else does.
 * - `events_count_hourly` counts the inserted events per issue and hour once per INSERT statement
 *   (a transition table) instead of once per row: one upsert per (issue, hour) of a batch rather
 *   than one per event (0.027 → 0.005 ms per event, 50 events per statement). Same name, so
 *   `migrate-data` still finds and pauses it while it copies the hourly counts themselves.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectTypes(db).sqlite) return;
  await moveTextIndex(db);
  await countHourlyPerStatement(db);
}

async function moveTextIndex(db: Kysely<any>): Promise<void> {
  // No foreign key: `TRUNCATE issues` (migrate-data --force) must not need this table named too;
  // the triggers below follow inserts, deletes and truncation instead.
  await sql`CREATE TABLE issue_text (issue_id bigint PRIMARY KEY, text text NOT NULL)`.execute(db);
  await sql`CREATE FUNCTION issue_text_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        DELETE FROM issue_text WHERE issue_id = OLD.id;
      ELSE
        INSERT INTO issue_text (issue_id, text) VALUES (NEW.id, NEW.title || E'\\n' || coalesce(NEW.culprit, ''))
        ON CONFLICT (issue_id) DO UPDATE SET text = excluded.text;
      END IF;
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE FUNCTION issue_text_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN TRUNCATE issue_text; RETURN NULL; END $$`.execute(db);
  await sql`CREATE TRIGGER issue_text_insert AFTER INSERT ON issues FOR EACH ROW EXECUTE FUNCTION issue_text_sync()`.execute(db);
  // The WHEN is checked without calling the function: an unchanged title costs next to nothing.
  await sql`CREATE TRIGGER issue_text_update AFTER UPDATE OF title, culprit ON issues FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.culprit IS DISTINCT FROM NEW.culprit)
    EXECUTE FUNCTION issue_text_sync()`.execute(db);
  await sql`CREATE TRIGGER issue_text_delete AFTER DELETE ON issues FOR EACH ROW EXECUTE FUNCTION issue_text_sync()`.execute(db);
  await sql`CREATE TRIGGER issue_text_truncate AFTER TRUNCATE ON issues FOR EACH STATEMENT EXECUTE FUNCTION issue_text_truncate()`.execute(db);
  await sql`INSERT INTO issue_text (issue_id, text) SELECT id, title || E'\\n' || coalesce(culprit, '') FROM issues`.execute(db);
  await sql`DROP INDEX IF EXISTS issues_text_trgm`.execute(db);
  const opclass = await trigramOpclass(db);
  // Without pg_trgm (see migration 020) search reads issue_text whole: slower, same answers.
  if (opclass) await sql`CREATE INDEX issue_text_trgm ON issue_text USING gin (text ${sql.raw(opclass)})`.execute(db);
}

async function countHourlyPerStatement(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER events_count_hourly ON events`.execute(db);
  await sql`CREATE OR REPLACE FUNCTION events_count_hourly() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Sorted: two batches upserting the same (issue, hour) rows take their locks in one order.
      INSERT INTO issue_hourly (issue_id, hour, count)
        SELECT issue_id, timestamp / 3600000, count(*) FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hourly.count + excluded.count;
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE TRIGGER events_count_hourly AFTER INSERT ON events REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION events_count_hourly()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectTypes(db).sqlite) return;
  await sql`DROP TRIGGER events_count_hourly ON events`.execute(db);
  await sql`CREATE OR REPLACE FUNCTION events_count_hourly() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO issue_hourly (issue_id, hour, count) VALUES (NEW.issue_id, NEW.timestamp / 3600000, 1)
      ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hourly.count + 1;
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE TRIGGER events_count_hourly AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_count_hourly()`.execute(db);
  for (const trigger of ['issue_text_insert', 'issue_text_update', 'issue_text_delete', 'issue_text_truncate']) await sql`DROP TRIGGER IF EXISTS ${sql.raw(trigger)} ON issues`.execute(db);
  await sql`DROP FUNCTION IF EXISTS issue_text_sync()`.execute(db);
  await sql`DROP FUNCTION IF EXISTS issue_text_truncate()`.execute(db);
  await sql`DROP TABLE IF EXISTS issue_text`.execute(db);
  const opclass = await trigramOpclass(db);
  if (opclass) await sql`CREATE INDEX issues_text_trgm ON issues USING gin ((title || E'\\n' || coalesce(culprit, '')) ${sql.raw(opclass)})`.execute(db);
}

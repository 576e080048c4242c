import { sql, type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * A text index for the issue list's free-text search (docs/dashboard.md, "Speed"): a substring of
 * an issue's title or culprit, found without reading every issue (benchmarks/dashboard).
 *
 * - SQLite: `issues_text`, an FTS5 table with the trigram tokenizer over `issues`
 *   (external content: it stores only the index). Triggers keep it in step with every insert,
 *   title/culprit change and delete, whoever writes (the digest, imports, pruning).
 * - PostgreSQL: a trigram GIN index (pg_trgm) on title + culprit, which serves ILIKE '%text%'.
 *   pg_trgm ships with PostgreSQL and is a trusted extension; it is created in `public` (never in
 *   Botpulse's own schema, whose DROP ... CASCADE would take other schemas' indexes with it). Where
 *   it cannot be created (no privilege, not installed) the migration leaves the index out and
 *   search reads the table as before: slower, same answers.
 *
 * - SQLite also widens issues_last_seen to (last_seen, status, level) for the search's counts.
 *
 * Both text indexes are candidate filters only: the search still applies its LIKE/ILIKE to the candidates, so
 * what matches is exactly what matched before.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectTypes(db).sqlite) await upSqlite(db);
  else await upPostgres(db);
}

async function upSqlite(db: Kysely<any>): Promise<void> {
  await sql`CREATE VIRTUAL TABLE issues_text USING fts5(title, culprit, content='issues', content_rowid='id', tokenize='trigram')`.execute(db);
  await sql`CREATE TRIGGER issues_text_insert AFTER INSERT ON issues BEGIN
      INSERT INTO issues_text (rowid, title, culprit) VALUES (new.id, new.title, new.culprit);
    END`.execute(db);
  await sql`CREATE TRIGGER issues_text_delete AFTER DELETE ON issues BEGIN
      INSERT INTO issues_text (issues_text, rowid, title, culprit) VALUES ('delete', old.id, old.title, old.culprit);
    END`.execute(db);
  // The digest sets title and culprit on every batch; only a real change touches the index.
  await sql`CREATE TRIGGER issues_text_update AFTER UPDATE OF title, culprit ON issues
      WHEN old.title IS NOT new.title OR old.culprit IS NOT new.culprit BEGIN
      INSERT INTO issues_text (issues_text, rowid, title, culprit) VALUES ('delete', old.id, old.title, old.culprit);
      INSERT INTO issues_text (rowid, title, culprit) VALUES (new.id, new.title, new.culprit);
    END`.execute(db);
  await sql`INSERT INTO issues_text (issues_text) VALUES ('rebuild')`.execute(db);
  // Status and level in the last-seen index: a search's count scans the index alone (see
  // SqliteStore.countMatches). Same name and leading column: ordered walks are unchanged.
  await sql`DROP INDEX issues_last_seen`.execute(db);
  await sql`CREATE INDEX issues_last_seen ON issues (last_seen, status, level)`.execute(db);
}

async function upPostgres(db: Kysely<any>): Promise<void> {
  const opclass = await trigramOpclass(db);
  if (!opclass) return;
  // One index over both columns (the search's prefilter matches the same expression): half the
  // write cost of two, since the digest rewrites every issue row it touches.
  await sql`CREATE INDEX issues_text_trgm ON issues USING gin ((title || E'\\n' || coalesce(culprit, '')) ${sql.raw(opclass)})`.execute(db);
}

/** The schema-qualified gin_trgm_ops, creating pg_trgm in `public` if needed; null if unavailable. */
export async function trigramOpclass(db: Kysely<any>): Promise<string | null> {
  const find = async () =>
    (
      await sql<{ schema: string }>`SELECT n.nspname AS schema FROM pg_opclass c JOIN pg_namespace n ON n.oid = c.opcnamespace
        WHERE c.opcname = 'gin_trgm_ops' LIMIT 1`.execute(db)
    ).rows[0]?.schema;
  let schema = await find();
  if (!schema) {
    // A savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
    await sql`SAVEPOINT botpulse_trgm`.execute(db);
    try {
      await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public`.execute(db);
      await sql`RELEASE SAVEPOINT botpulse_trgm`.execute(db);
    } catch {
      await sql`ROLLBACK TO SAVEPOINT botpulse_trgm`.execute(db);
    }
    schema = await find();
  }
  return schema ? `${quoteIdent(schema)}.gin_trgm_ops` : null;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectTypes(db).sqlite) {
    for (const trigger of ['issues_text_insert', 'issues_text_delete', 'issues_text_update']) await sql`DROP TRIGGER IF EXISTS ${sql.raw(trigger)}`.execute(db);
    await sql`DROP TABLE IF EXISTS issues_text`.execute(db);
    await sql`DROP INDEX issues_last_seen`.execute(db);
    await sql`CREATE INDEX issues_last_seen ON issues (last_seen)`.execute(db);
  } else {
    await sql`DROP INDEX IF EXISTS issues_text_trgm`.execute(db);
  }
}

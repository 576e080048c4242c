import { sql, type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * Log lines (issue 13, docs/logs.md): every line a bot ships (Sentry `log` items, the SDK's
 * logger, the NDJSON endpoint), its structured fields as JSON text, and the state of the log
 * rules. `(project_id, line_id)` is unique: a sender's retry of a line it named is stored once.
 * Text search uses the database's own index: an FTS5 table kept by triggers on SQLite (external
 * content, so the text is stored once), a GIN index over `to_tsvector('simple', message)` on
 * PostgreSQL (an expression index rather than a generated column, so both dialects have the same
 * columns and `botpulse migrate-data` copies the table as it is). Field filters read the JSON
 * (`json_extract` / `fields::jsonb @>`, the latter GIN-indexed).
 *
 * The rule evaluator reads lines by id after its cursor (`log_rule_cursor`) and writes its
 * decisions (`log_rule_state`, the notifications, the cursor) in one transaction.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const t = dialectTypes(db);
  await db.schema
    .createTable('log_lines')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('severity', 'integer', (c) => c.notNull())
    .addColumn('logger', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('fields', 'text', (c) => c.notNull())
    .addColumn('environment', 'text')
    .addColumn('release', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('line_id', 'text')
    // The rule a line matched and the event (hence issue) it became, set by the rule evaluator.
    .addColumn('rule', 'text')
    .addColumn('event_id', 'text')
    .execute();
  await db.schema.createIndex('log_lines_project').on('log_lines').columns(['project_id', 'id']).execute();
  await db.schema.createIndex('log_lines_time').on('log_lines').columns(['project_id', 'time']).execute();
  await db.schema.createIndex('log_lines_received').on('log_lines').column('received_at').execute();
  await db.schema.createIndex('log_lines_line_id').on('log_lines').columns(['project_id', 'line_id']).unique().execute();

  if (t.sqlite) {
    await sql`CREATE VIRTUAL TABLE log_lines_fts USING fts5(message, content='log_lines', content_rowid='id')`.execute(db);
    await sql`CREATE TRIGGER log_lines_fts_insert AFTER INSERT ON log_lines BEGIN
                INSERT INTO log_lines_fts (rowid, message) VALUES (NEW.id, NEW.message);
              END`.execute(db);
    await sql`CREATE TRIGGER log_lines_fts_delete AFTER DELETE ON log_lines BEGIN
                INSERT INTO log_lines_fts (log_lines_fts, rowid, message) VALUES ('delete', OLD.id, OLD.message);
              END`.execute(db);
  } else {
    await sql`CREATE INDEX log_lines_search ON log_lines USING gin (to_tsvector('simple', message))`.execute(db);
    await sql`CREATE INDEX log_lines_fields ON log_lines USING gin ((fields::jsonb) jsonb_path_ops)`.execute(db);
  }

  await db.schema
    .createTable('log_rule_state')
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('rule_key', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('firing', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('log_rule_state_pk', ['project_id', 'rule_key'])
    .execute();
  await db.schema
    .createTable('log_rule_cursor')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('position', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  const t = dialectTypes(db);
  if (t.sqlite) await sql`DROP TABLE log_lines_fts`.execute(db);
  await db.schema.dropTable('log_rule_cursor').execute();
  await db.schema.dropTable('log_rule_state').execute();
  await db.schema.dropTable('log_lines').execute();
}

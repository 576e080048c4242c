import { sql, type Kysely } from 'kysely';

/**
 * The lines a log rule matched, newest first (docs/logs.md): an issue born of a forbidden pattern
 * lists its matching lines, and the Logs page filters by rule. Few lines match a rule, so the
 * index is partial (only marked lines) and costs nothing on the ingestion of ordinary lines; the
 * evaluator's UPDATE that marks a line adds its entry. Same statement on SQLite and PostgreSQL.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX log_lines_rule ON log_lines (project_id, rule, id) WHERE rule IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX log_lines_rule`.execute(db);
}

import { type Kysely } from 'kysely';

/**
 * Log templates and per-operation latency from log lines (issue 13, docs/logs.md "Templates").
 *
 * - `log_lines.template_id`: the Drain template the line was clustered into when it was received
 *   (logs/templater.ts), so `template:<id>` lists a template's lines. Nullable: lines stored
 *   before this migration have none.
 * - `log_templates`: one row per template a project has seen: its text, first/last seen (receive
 *   times), count, when it was flagged a *new pattern* (null: it was not), and `merged_into`:
 *   when Drain generalised a template (`User alice logged in` → `User <*> logged in`) its old id
 *   becomes an alias of the new one (stats folded in, its lines found under the new id).
 * - `log_template_hours`: lines per template per hour, enough for a rate and a day's sparkline;
 *   updated once per stored batch, not per line.
 * - `log_operation_latency`: per project, operation and minute, the same mergeable histogram as
 *   `monitor_latency` (monitors/latency.ts buckets), fed by lines with `operation` + `duration_ms`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // No index on template_id: it cost about half again per stored line on SQLite
  // (benchmarks/logs/templates.mjs); `template:<id>` reads the project's lines newest first.
  await db.schema.alterTable('log_lines').addColumn('template_id', 'text').execute();
  await db.schema
    .createTable('log_templates')
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('template_id', 'text', (c) => c.notNull())
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addColumn('noticed_at', 'bigint')
    .addColumn('merged_into', 'text')
    .addPrimaryKeyConstraint('log_templates_pk', ['project_id', 'template_id'])
    .execute();
  await db.schema.createIndex('log_templates_first_seen').on('log_templates').columns(['project_id', 'first_seen']).execute();
  await db.schema.createIndex('log_templates_noticed').on('log_templates').column('noticed_at').execute();
  await db.schema
    .createTable('log_template_hours')
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('template_id', 'text', (c) => c.notNull())
    .addColumn('hour', 'bigint', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('log_template_hours_pk', ['project_id', 'template_id', 'hour'])
    .execute();
  await db.schema.createIndex('log_template_hours_hour').on('log_template_hours').columns(['project_id', 'hour']).execute();
  await db.schema
    .createTable('log_operation_latency')
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('minute', 'bigint', (c) => c.notNull())
    .addColumn('buckets', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('sum_ms', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('log_operation_latency_pk', ['project_id', 'operation', 'minute'])
    .execute();
  await db.schema.createIndex('log_operation_latency_minute').on('log_operation_latency').columns(['project_id', 'minute']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('log_operation_latency').execute();
  await db.schema.dropTable('log_template_hours').execute();
  await db.schema.dropTable('log_templates').execute();
  await db.schema.alterTable('log_lines').dropColumn('template_id').execute();
}

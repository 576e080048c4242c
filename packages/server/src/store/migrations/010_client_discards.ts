import type { Kysely } from 'kysely';

/**
 * What the SDKs dropped before sending (Sentry client reports, docs/sdk.md): per project, per
 * discard reason and data category, the total quantity and when it was first and last reported.
 * Totals rather than one row per report: a bot in a crash loop reports every minute.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('client_discards')
    .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('quantity', 'bigint', (c) => c.notNull())
    .addColumn('first_at', 'bigint', (c) => c.notNull())
    .addColumn('last_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('client_discards_pk', ['project_id', 'reason', 'category'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('client_discards').execute();
}

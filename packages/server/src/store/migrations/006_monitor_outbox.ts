import type { Kysely } from 'kysely';

/**
 * Monitor notifications go through the alert outbox (docs/monitors.md, docs/alerts.md): an outbox
 * row may carry its own message (`body`, JSON `{kind, text, payload, monitorId, notificationId}`)
 * instead of being rendered from an issue, and an idempotency key (`dedupe_key`, unique; NULL for
 * the engine's rows, which a unique index allows any number of) so that forwarding one
 * notification twice, after a crash between the insert and the mark, adds nothing.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('alert_outbox').addColumn('body', 'text').execute();
  await db.schema.alterTable('alert_outbox').addColumn('dedupe_key', 'text').execute();
  await db.schema.createIndex('alert_outbox_dedupe').on('alert_outbox').column('dedupe_key').unique().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('alert_outbox_dedupe').execute();
  await db.schema.alterTable('alert_outbox').dropColumn('dedupe_key').execute();
  await db.schema.alterTable('alert_outbox').dropColumn('body').execute();
}

import type { Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * The alert path made durable (docs/alerts.md "Delivery guarantees"):
 * - `alert_changes`: the digest's issue changes, written in the digest transaction, consumed by
 *   the one alert engine holding the `alerts:engine` lease, which deletes the rows it evaluated in
 *   the transaction of its decisions. A change is thus evaluated once, across crashes. The
 *   columns are what the rules read (the issue as that batch left it, and the level of its
 *   latest event), not the event itself.
 * - `alert_outbox.internal_failures`: deliveries that failed in Botpulse's own code (not a
 *   channel's answer). Such a row steps out of its target's queue (no head-of-line blocking), is
 *   retried alone, and is `parked` with its reason after a few failures.
 * - `alert_outbox_fingerprint`: "is a message for this fingerprint still waiting to go out?",
 *   asked by every alert decision (the cooldown counts from the send).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const t = dialectTypes(db);
  await db.schema
    .createTable('alert_changes')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('issue_id', 'integer', (c) => c.notNull())
    .addColumn('created', 'integer', (c) => c.notNull())
    .addColumn('regressed', 'integer', (c) => c.notNull())
    .addColumn('unignored', 'integer', (c) => c.notNull())
    .addColumn('new_events', 'integer', (c) => c.notNull())
    .addColumn('issue_status', 'text', (c) => c.notNull())
    .addColumn('issue_level', 'text', (c) => c.notNull())
    .addColumn('event_level', 'text', (c) => c.notNull())
    .addColumn('digested_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('alert_outbox').addColumn('internal_failures', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createIndex('alert_outbox_fingerprint').on('alert_outbox').columns(['fingerprint', 'status']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('alert_outbox_fingerprint').execute();
  await db.schema.alterTable('alert_outbox').dropColumn('internal_failures').execute();
  await db.schema.dropTable('alert_changes').execute();
}

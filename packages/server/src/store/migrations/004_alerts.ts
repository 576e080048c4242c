import type { Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * Alerting state (docs/alerts.md). Everything the alert engine and the senders need to survive a
 * restart lives here: the outbox, per-fingerprint cooldown state, the delivery targets with their
 * pacing and disabled reasons, the messages sent (for ChatOps edits), silences, a log of every
 * decision (the dashboard's "recent alerts"), leases (one Telegram poller across processes) and a
 * small key/value table (the poller's update offset).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const t = dialectTypes(db);

  await db.schema
    .createTable('alert_state')
    .addColumn('fingerprint', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('issue_id', 'integer')
    .addColumn('tier', 'text', (c) => c.notNull())
    .addColumn('cooldown_until', 'bigint', (c) => c.notNull().defaultTo(0))
    // A trigger that arrived inside the cooldown: sent (with everything since) when it ends.
    .addColumn('pending_tier', 'text')
    .addColumn('pending_reasons', 'text')
    .addColumn('last_enqueued_at', 'bigint')
    .addColumn('last_sent_at', 'bigint')
    // The totals when the last message went out: "since the last message" is a difference.
    .addColumn('events_at_last', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('users_at_last', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('repeat_at', 'bigint')
    .addColumn('acked_at', 'bigint')
    .addColumn('acked_by', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_state_repeat').on('alert_state').column('repeat_at').execute();
  await db.schema.createIndex('alert_state_issue').on('alert_state').column('issue_id').execute();
  await db.schema.createIndex('alert_state_pending').on('alert_state').columns(['pending_tier', 'cooldown_until']).execute();

  await db.schema
    .createTable('alert_outbox')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('issue_id', 'integer')
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('tier', 'text', (c) => c.notNull())
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // The grouping window: rows of one project due before this are sent together.
    .addColumn('not_before', 'bigint', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_until', 'bigint')
    .addColumn('sent_at', 'bigint')
    .addColumn('message_id', 'text')
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('alert_outbox_pending').on('alert_outbox').columns(['status', 'channel', 'target', 'id']).execute();

  await db.schema
    .createTable('alert_targets')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('disabled_at', 'bigint')
    .addColumn('disabled_reason', 'text')
    .addColumn('migrated_to', 'text')
    .addColumn('next_send_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('window_start', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('window_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_ok_at', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('alert_targets_pk', ['channel', 'target'])
    .execute();

  await db.schema
    .createTable('alert_messages')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('thread_id', 'integer')
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('issue_ids', 'text', (c) => c.notNull())
    .addColumn('items', 'text', (c) => c.notNull())
    .addColumn('actions', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_messages_by_message').on('alert_messages').columns(['channel', 'target', 'message_id']).execute();

  await db.schema
    .createTable('alert_silences')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('project_id', 'integer')
    .addColumn('issue_id', 'integer')
    .addColumn('ends_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_silences_ends').on('alert_silences').column('ends_at').execute();

  await db.schema
    .createTable('alert_log')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('issue_id', 'integer')
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('tier', 'text', (c) => c.notNull())
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_log_project_at').on('alert_log').columns(['project_id', 'at']).execute();
  await db.schema.createIndex('alert_log_at').on('alert_log').column('at').execute();

  await db.schema
    .createTable('alert_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('until', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('alert_kv')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

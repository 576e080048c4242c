import type { Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * Monitors (docs/monitors.md): heartbeat and uptime monitors with ONE stored deadline each (the
 * sweeper reads `deadline <= now` through an index, no timer per monitor), the history of state
 * flips, a small outbox for monitor notifications, per-minute latency histograms per project,
 * threshold-rule states and a key/value table (consumer cursor, the server's own start/alive times).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const t = dialectTypes(db);
  await db.schema
    .createTable('monitors')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('slug', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull()) // heartbeat | uptime
    .addColumn('source', 'text', (c) => c.notNull()) // api | checkin | ping: monitor_config only edits check-in-made monitors
    .addColumn('status', 'text', (c) => c.notNull()) // new | up | late | down | paused
    .addColumn('period_ms', 'bigint', (c) => c.notNull())
    .addColumn('grace_ms', 'bigint', (c) => c.notNull())
    .addColumn('schedule', 'text')
    .addColumn('timezone', 'text')
    .addColumn('failure_threshold', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('recovery_threshold', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('successes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('deadline', 'bigint')
    .addColumn('last_ping_at', 'bigint')
    .addColumn('last_ok_at', 'bigint')
    .addColumn('last_reason', 'text')
    .addColumn('down_since', 'bigint')
    .addColumn('down_reason', 'text')
    .addColumn('alert_sent', 'integer', (c) => c.notNull().defaultTo(0)) // seed 001's bot_polling_alert_sent
    .addColumn('url', 'text')
    .addColumn('timeout_ms', 'bigint')
    .addColumn('lock_key', 'text')
    .addColumn('polling', 'text') // last contexts.polling (JSON)
    .addColumn('gauges', 'text') // last /health numeric fields (JSON)
    .addColumn('conflicts_total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('conflict_since', 'bigint')
    .addColumn('conflict_alerted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('monitors_slug').on('monitors').columns(['project_id', 'slug']).unique().execute();
  await db.schema.createIndex('monitors_deadline').on('monitors').column('deadline').execute();

  await db.schema
    .createTable('monitor_flips')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('monitor_id', 'integer', (c) => c.notNull())
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('from_status', 'text', (c) => c.notNull())
    .addColumn('to_status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .execute();
  await db.schema.createIndex('monitor_flips_monitor').on('monitor_flips').columns(['monitor_id', 'at']).execute();

  await db.schema
    .createTable('monitor_notifications')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('monitor_id', 'integer')
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull()) // down | recovered | deaf | conflict | uptime_down | threshold_firing | threshold_resolved ...
    .addColumn('text', 'text', (c) => c.notNull()) // Telegram HTML, rendered when decided
    .addColumn('payload', 'text', (c) => c.notNull()) // JSON for webhooks and the dashboard
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending')) // pending | sent | failed | silenced | inhibited | no_target
    .addColumn('done_targets', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_until', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('monitor_notifications_due').on('monitor_notifications').columns(['status', 'next_attempt_at']).execute();

  await db.schema
    .createTable('monitor_latency')
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('minute', 'bigint', (c) => c.notNull())
    .addColumn('buckets', 'text', (c) => c.notNull()) // JSON counts per fixed log-spaced bucket
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('sum_ms', t.float, (c) => c.notNull())
    .addPrimaryKeyConstraint('monitor_latency_pk', ['project_id', 'minute'])
    .execute();

  await db.schema
    .createTable('monitor_rule_state')
    .addColumn('fingerprint', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull()) // inactive | pending | firing
    .addColumn('since', 'bigint')
    .addColumn('value', t.float)
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('monitor_kv')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['monitor_kv', 'monitor_rule_state', 'monitor_latency', 'monitor_notifications', 'monitor_flips', 'monitors']) {
    await db.schema.dropTable(table).execute();
  }
}

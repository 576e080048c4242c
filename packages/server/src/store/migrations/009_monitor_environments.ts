import { sql, type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * Monitors keep their state per environment (docs/monitors.md#environments), as Sentry's
 * MonitorEnvironment does: a staging `ok` no longer hides a production `error`.
 *
 * - `monitor_states`: one row per (monitor, environment) with everything that changes when a
 *   check-in arrives or a deadline passes (status, counters, deadline, last ping, down alert flag,
 *   the SDK's polling context, 409 streaks, /health gauges). `environment` NULL means "not tied to
 *   an environment yet": the row a monitor is created with (API, config file, uptime probe) and the
 *   state every monitor had before this migration. The first check-in from an environment that has
 *   no row of its own adopts that row, so an existing monitor keeps its state, deadline and down
 *   alert under the environment it was already being fed from.
 *   Each state row copied here keeps its monitor's id, so per-monitor references that became
 *   per-state (the heartbeat-age rule's fingerprint) still point at the same thing.
 * - `monitors` keeps only the settings, plus `manual_fields`: the settings a person set (API or
 *   dashboard), which a check-in's `monitor_config` never overwrites. Monitors the API made before
 *   get every setting marked, as monitor_config never edited them.
 * - `monitor_flips.environment`: which environment flipped.
 * - `monitor_refusals`: check-ins the monitors could not apply (monitor limit reached, no usable
 *   slug, an impossible schedule), counted per project and reason, with the last one's details.
 */
const STATE_COLUMNS = [
  'status',
  'failures',
  'successes',
  'deadline',
  'last_ping_at',
  'last_ok_at',
  'last_reason',
  'down_since',
  'down_reason',
  'alert_sent',
  'polling',
  'gauges',
  'conflicts_total',
  'conflict_since',
  'conflict_alerted',
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  const t = dialectTypes(db);
  await db.schema
    .createTable('monitor_states')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('monitor_id', 'integer', (c) => c.notNull())
    .addColumn('environment', 'text') // NULL: not tied to an environment yet (adopted by the first check-in)
    .addColumn('status', 'text', (c) => c.notNull()) // new | up | late | down | paused
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('successes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('deadline', 'bigint')
    .addColumn('last_ping_at', 'bigint')
    .addColumn('last_ok_at', 'bigint')
    .addColumn('last_reason', 'text')
    .addColumn('down_since', 'bigint')
    .addColumn('down_reason', 'text')
    .addColumn('alert_sent', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('polling', 'text')
    .addColumn('gauges', 'text')
    .addColumn('conflicts_total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('conflict_since', 'bigint')
    .addColumn('conflict_alerted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  const columns = STATE_COLUMNS.join(', ');
  await sql`INSERT INTO monitor_states (id, monitor_id, environment, ${sql.raw(columns)}, created_at, updated_at)
            SELECT id, id, NULL, ${sql.raw(columns)}, created_at, updated_at FROM monitors`.execute(db);
  if (!t.sqlite) {
    await sql`SELECT setval(pg_get_serial_sequence('monitor_states', 'id'), COALESCE((SELECT MAX(id) FROM monitor_states), 0) + 1, false)`.execute(db);
  }
  await db.schema.createIndex('monitor_states_monitor').on('monitor_states').columns(['monitor_id', 'environment']).unique().execute();
  await db.schema.createIndex('monitor_states_deadline').on('monitor_states').column('deadline').execute();

  await db.schema.dropIndex('monitors_deadline').execute();
  for (const column of STATE_COLUMNS) await db.schema.alterTable('monitors').dropColumn(column).execute();
  await db.schema.alterTable('monitors').addColumn('manual_fields', 'text', (c) => c.notNull().defaultTo('[]')).execute();
  // Before this migration every setting of an API-made monitor won over monitor_config: keep that.
  const everySetting = JSON.stringify(['failureThreshold', 'graceMs', 'lockKey', 'periodMs', 'recoveryThreshold', 'schedule', 'timeoutMs', 'timezone', 'url']);
  await sql`UPDATE monitors SET manual_fields = ${everySetting} WHERE source = 'api'`.execute(db);

  await db.schema.alterTable('monitor_flips').addColumn('environment', 'text').execute();

  await db.schema
    .createTable('monitor_refusals')
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull()) // limit | slug | schedule
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('first_at', 'bigint', (c) => c.notNull())
    .addColumn('last_at', 'bigint', (c) => c.notNull())
    .addColumn('last_slug', 'text')
    .addColumn('last_detail', 'text')
    .addPrimaryKeyConstraint('monitor_refusals_pk', ['project_id', 'reason'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('monitor_refusals').execute();
  await db.schema.alterTable('monitor_flips').dropColumn('environment').execute();
  await db.schema.alterTable('monitors').dropColumn('manual_fields').execute();
  // Back to one state per monitor: the state of its oldest environment row.
  await db.schema.alterTable('monitors').addColumn('status', 'text', (c) => c.notNull().defaultTo('new')).execute();
  for (const column of STATE_COLUMNS.filter((c) => c !== 'status')) {
    const type = column === 'last_reason' || column === 'down_reason' || column === 'polling' || column === 'gauges' ? 'text' : column.endsWith('_at') || column === 'deadline' || column === 'down_since' || column === 'conflict_since' ? 'bigint' : 'integer';
    await db.schema.alterTable('monitors').addColumn(column, type, (c) => (type === 'integer' ? c.notNull().defaultTo(0) : c)).execute();
  }
  for (const column of STATE_COLUMNS) {
    await sql`UPDATE monitors SET ${sql.raw(column)} = (SELECT s.${sql.raw(column)} FROM monitor_states s WHERE s.monitor_id = monitors.id ORDER BY s.id LIMIT 1)
              WHERE EXISTS (SELECT 1 FROM monitor_states s WHERE s.monitor_id = monitors.id)`.execute(db);
  }
  await db.schema.createIndex('monitors_deadline').on('monitors').column('deadline').execute();
  await db.schema.dropTable('monitor_states').execute();
}

import type { Kysely } from 'kysely';

/**
 * What only the bot can see (docs/monitors.md, "Bot signals"): its SDK's heartbeat reports
 * getWebhookInfo, per-minute update lag and Telegram's 429s (`contexts.bot_signals`).
 *
 * - `monitor_states.signals`: per (monitor, environment), the last reports and the state of each
 *   signal rule (webhook, update_lag, throttled: inactive / pending / firing), JSON. Written in the
 *   same conditional update as the check-in that carried them, so an alert and its recovery are
 *   each said once.
 * - `monitors.update_lag_ms` / `update_lag_for_ms`: the monitor's own update-lag rule (API,
 *   dashboard, config file); NULL follows BOTPULSE_THRESHOLD_UPDATE_LAG, a limit of 0 turns it off.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('monitor_states').addColumn('signals', 'text').execute();
  await db.schema.alterTable('monitors').addColumn('update_lag_ms', 'bigint').execute();
  await db.schema.alterTable('monitors').addColumn('update_lag_for_ms', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('monitors').dropColumn('update_lag_for_ms').execute();
  await db.schema.alterTable('monitors').dropColumn('update_lag_ms').execute();
  await db.schema.alterTable('monitor_states').dropColumn('signals').execute();
}

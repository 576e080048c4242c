import { sql, type Kysely } from 'kysely';

/**
 * Two changes against abuse by anyone who holds a DSN or reaches the login form (issue 11):
 *
 * 1. `item_counts` kept one row per item type name a client sent, so invented names grew the table
 *    (and `/health`) without bound. Intake now counts unknown types under `unknown`; the rows of
 *    names written before are folded into it here. The lists are copied, not imported, so that this
 *    migration does the same thing whenever it runs: they are the Sentry item types and the counter
 *    names Botpulse wrote up to this migration.
 *
 * 2. `login_attempts`: the dashboard's login lockout, in the database so that every server process
 *    sharing it counts the same attempts, and counted in one atomic statement before the slow
 *    password check (web/auth/lockout.ts). `key_hash` is SHA-256 of login and address: a password
 *    typed into the login field by mistake is never stored.
 */
const KNOWN_ITEM_TYPES = [
  'event', 'transaction', 'attachment', 'session', 'sessions', 'client_report', 'user_report', 'feedback',
  'check_in', 'log', 'otel_log', 'span', 'otel_span', 'otel_traces_data', 'trace_metric', 'profile', 'profile_chunk',
  'replay_event', 'replay_recording', 'replay_video', 'statsd', 'metric_buckets', 'metric_meta', 'security',
  'raw_security', 'nel', 'form_data', 'unreal_report',
];
const BOTPULSE_COUNTERS = ['attachment_without_event', 'attachment_over_limit', 'duplicate_event'];
const UNKNOWN = 'unknown';

export async function up(db: Kysely<any>): Promise<void> {
  const kept = sql.join([...KNOWN_ITEM_TYPES, ...BOTPULSE_COUNTERS, UNKNOWN].map((name) => sql.lit(name)));
  const invented = sql`kind NOT IN (${kept}) AND kind NOT LIKE 'rejected:%'`;
  await sql`
    INSERT INTO item_counts (project_id, kind, count)
    SELECT project_id, ${sql.lit(UNKNOWN)}, SUM(count) FROM item_counts WHERE ${invented} GROUP BY project_id
    ON CONFLICT (project_id, kind) DO UPDATE SET count = item_counts.count + excluded.count`.execute(db);
  await sql`DELETE FROM item_counts WHERE ${invented}`.execute(db);

  await db.schema
    .createTable('login_attempts')
    .addColumn('key_hash', 'text', (c) => c.primaryKey())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('login_attempts_window').on('login_attempts').column('window_start').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('login_attempts').execute();
  // The folded names are gone for good; their counts stay under `unknown`.
}

import { SqliteAdapter, sql, type Kysely } from 'kysely';

/**
 * What the dashboard needs: server-side sessions, per-project settings, and `issue_hourly`, the
 * events per issue per hour behind the sparklines, the occurrence chart and "most frequent
 * today". A trigger on `events` keeps it, so every writer (digest, imports, benchmarks) counts the
 * same way and nothing has to read the events table to draw a chart.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('web_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('login', 'text', (c) => c.notNull())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('web_sessions_expires').on('web_sessions').column('expires_at').execute();

  await db.schema
    .createTable('project_settings')
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('project_settings_pk', ['project_id', 'key'])
    .execute();

  await db.schema
    .createTable('issue_hourly')
    .addColumn('issue_id', 'integer', (c) => c.notNull())
    .addColumn('hour', 'integer', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('issue_hourly_pk', ['issue_id', 'hour'])
    // Rows are tiny and always read by key: no separate rowid b-tree on SQLite.
    .$call((b) => (isSqlite(db) ? b.modifyEnd(sql`without rowid`) : b))
    .execute();
  // "Most frequent today" sums one time window over all issues: hour first, covering.
  await db.schema.createIndex('issue_hourly_hour').on('issue_hourly').columns(['hour', 'issue_id', 'count']).execute();

  if (isSqlite(db)) await createSqliteHourlyTrigger(db);
  else await createPostgresHourlyTrigger(db);

  await sql`INSERT INTO issue_hourly (issue_id, hour, count)
            SELECT issue_id, timestamp / 3600000, COUNT(*) FROM events GROUP BY issue_id, timestamp / 3600000`.execute(db);
}

function isSqlite(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

async function createSqliteHourlyTrigger(db: Kysely<any>): Promise<void> {
  // Counts by the event's own time (when it happened), which the digest clamps to a sane window.
  await sql`CREATE TRIGGER events_count_hourly AFTER INSERT ON events BEGIN
              INSERT INTO issue_hourly (issue_id, hour, count) VALUES (NEW.issue_id, NEW.timestamp / 3600000, 1)
              ON CONFLICT (issue_id, hour) DO UPDATE SET count = count + 1;
            END`.execute(db);
}

async function createPostgresHourlyTrigger(db: Kysely<any>): Promise<void> {
  await sql`CREATE FUNCTION events_count_hourly() RETURNS trigger AS $$
            BEGIN
              INSERT INTO issue_hourly (issue_id, hour, count) VALUES (NEW.issue_id, NEW.timestamp / 3600000, 1)
              ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hourly.count + 1;
              RETURN NULL;
            END $$ LANGUAGE plpgsql`.execute(db);
  await sql`CREATE TRIGGER events_count_hourly AFTER INSERT ON events
            FOR EACH ROW EXECUTE FUNCTION events_count_hourly()`.execute(db);
}

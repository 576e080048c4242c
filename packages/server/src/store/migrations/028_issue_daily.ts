import { sql, type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * Events per issue per UTC day (issue 16, speed): "most frequent today" ranked issues by summing
 * today's `issue_hourly` rows, up to 24 per issue seen today: 25,000 issues and 50 ms of backend
 * CPU on PostgreSQL at 1 M events, 84 ms of CPU on SQLite at 10 M. With one row per issue and day
 * and an index on (day, count, issue_id), the page walks the day's index from its top and stops
 * after 50 rows, and the bounded count reads at most 1,001 index entries.
 *
 * Kept where `issue_hourly` is, from the same rows, so the two always agree:
 * - PostgreSQL: inside the statement-level `events_count_hourly` trigger (migration 026), one more
 *   `INSERT … SELECT … GROUP BY` per inserted batch of events, not per event.
 * - SQLite: a second `AFTER INSERT ON events` trigger beside `events_count_hourly` (one upsert per
 *   event, as the hourly count does).
 * Backfilled from `issue_hourly` (which outlives pruned events). Retention prunes the days wholly
 * before its cutoff; project deletion deletes them with the issues.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const { sqlite } = dialectTypes(db);
  await db.schema
    .createTable('issue_daily')
    .addColumn('issue_id', 'integer', (c) => c.notNull())
    .addColumn('day', 'integer', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('issue_daily_pk', ['issue_id', 'day'])
    .$call((b) => (sqlite ? b.modifyEnd(sql`without rowid`) : b))
    .execute();
  await db.schema.createIndex('issue_daily_rank').on('issue_daily').columns(['day', 'count', 'issue_id']).execute();
  if (sqlite) {
    await sql`CREATE TRIGGER events_count_daily AFTER INSERT ON events BEGIN
                INSERT INTO issue_daily (issue_id, day, count) VALUES (NEW.issue_id, NEW.timestamp / 86400000, 1)
                ON CONFLICT (issue_id, day) DO UPDATE SET count = count + 1;
              END`.execute(db);
  } else {
    await postgresCountFunction(db, true);
  }
  // hour / 24 = floor(timestamp / 3600000) / 24 = floor(timestamp / 86400000): the same days.
  await sql`INSERT INTO issue_daily (issue_id, day, count) SELECT issue_id, hour / 24, SUM(count) FROM issue_hourly GROUP BY issue_id, hour / 24`.execute(db);
}

/** Migration 026's statement-level trigger function, with (or without) the daily count. */
async function postgresCountFunction(db: Kysely<any>, daily: boolean): Promise<void> {
  const dailyInsert = daily
    ? sql`INSERT INTO issue_daily (issue_id, day, count)
            SELECT issue_id, timestamp / 86400000, count(*) FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
          ON CONFLICT (issue_id, day) DO UPDATE SET count = issue_daily.count + excluded.count;`
    : sql``;
  await sql`CREATE OR REPLACE FUNCTION events_count_hourly() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Sorted: two batches upserting the same (issue, hour) rows take their locks in one order.
      INSERT INTO issue_hourly (issue_id, hour, count)
        SELECT issue_id, timestamp / 3600000, count(*) FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_hourly.count + excluded.count;
      ${dailyInsert}
      RETURN NULL;
    END $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  const { sqlite } = dialectTypes(db);
  if (sqlite) await sql`DROP TRIGGER IF EXISTS events_count_daily`.execute(db);
  else await postgresCountFunction(db, false);
  await db.schema.dropTable('issue_daily').execute();
}

import type { Kysely } from 'kysely';

/**
 * Indexes the dashboard's sorts need across all projects (benchmarks/dashboard, docs/dashboard.md):
 * "sort by events/users/first seen" over 100,000 issues read 50 rows from these instead of
 * sorting the whole table (49 ms → 0.5 ms); the issue page reads its latest events in order. No index leads with `status`: without ANALYZE
 * statistics SQLite would take it for `status IN (...)` filters and trade a 1 ms ordered scan of
 * `issues_last_seen` for a 100 ms sort.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('issues_event_count').on('issues').column('event_count').execute();
  await db.schema.createIndex('issues_user_count').on('issues').column('user_count').execute();
  await db.schema.createIndex('issues_first_seen').on('issues').column('first_seen').execute();
  // An issue's events newest first (listEvents orders by id): without it the page sorted every
  // event of the issue, payloads included: 35 ms at 4,780 events, growing with the issue.
  await db.schema.createIndex('events_issue_id').on('events').columns(['issue_id', 'id']).execute();
}

import { sql, type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * PostgreSQL only (issue 16, speed): two things its planner lacked on the issue list.
 *
 * - `issues_level_status_last_seen` (level, status, last_seen): "open critical" (level fatal, new or
 *   in progress) had no index to find its issues; the page's count scanned all 100,000 issues for its
 *   1,051 (36 ms at 1 M events), now a bitmap scan of this index (1.8 ms). Any level filter with the
 *   list's statuses uses it when the level is rare. The digest rewrites an issue row per batch and
 *   PostgreSQL adds an entry to every index of it (those rows are never HOT: last_seen is indexed):
 *   one B-tree entry more per updated issue, below the noise of 1,000-row UPDATEs on the benchmark
 *   (80–114 ms with it, 92–107 ms without, medians of 7, same session).
 * - Extended statistics on issue_tags (key, value): without them the planner multiplied the two
 *   columns' frequencies (environment = staging: estimated 2,418 rows for 10,000; a release 1,183
 *   for 5,000) and chose plans for the wrong sizes. `ANALYZE issue_tags` fills them now; autovacuum
 *   keeps them after.
 *
 * SQLite has no planner statistics to fix, and its "open critical" page costs 14 ms of CPU without
 * an index (docs/dashboard.md), so it gets neither: an index there would cost its digest for nothing.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectTypes(db).sqlite) return;
  await sql`CREATE INDEX issues_level_status_last_seen ON issues (level, status, last_seen)`.execute(db);
  await sql`CREATE STATISTICS issue_tags_key_value_stats (mcv) ON key, value FROM issue_tags`.execute(db);
  await sql`ANALYZE issue_tags`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectTypes(db).sqlite) return;
  await sql`DROP STATISTICS IF EXISTS issue_tags_key_value_stats`.execute(db);
  await sql`DROP INDEX IF EXISTS issues_level_status_last_seen`.execute(db);
}

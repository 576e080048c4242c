import { sql, type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * How PostgreSQL stores the payloads (issue 12, speed; SQLite has no such settings: nothing to do).
 * A row over about 2 KB is "toasted" by default: its payload compressed with pglz and, if still
 * too big, cut into chunks in a side table with an index of its own. Measured with a CPU profile
 * of the ingest benchmark, that was a quarter of PostgreSQL's CPU time per event.
 *
 * - `spool`: a row lives for milliseconds (appended, read once by the digest, deleted). Rows up to
 *   8 KB (every 5 KB event) now stay in the table's own page as they are: no compression, no side
 *   table. Larger ones are still compressed and moved out as before.
 * - `events.payload` is brotli output (store/payload.ts), which pglz cannot shrink: never try;
 *   a large payload still goes to the side table, uncompressed (EXTERNAL).
 *
 * Both are catalog changes: existing rows are not rewritten, new rows follow the new settings.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectTypes(db).sqlite) return;
  await sql`ALTER TABLE spool SET (toast_tuple_target = 8160)`.execute(db);
  await sql`ALTER TABLE events ALTER COLUMN payload SET STORAGE EXTERNAL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectTypes(db).sqlite) return;
  await sql`ALTER TABLE events ALTER COLUMN payload SET STORAGE EXTENDED`.execute(db);
  await sql`ALTER TABLE spool RESET (toast_tuple_target)`.execute(db);
}

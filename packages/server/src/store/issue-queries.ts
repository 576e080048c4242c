import { sql, type Kysely } from 'kysely';
import { ISSUE_STATUSES, type IssueStatus, type StoredAttachment, type StoredEvent } from './model.js';
import { toStoredEvent } from './rows.js';
import type { Database } from './schema.js';

/**
 * Issue and event queries written once in Kysely for every store: the SQL dialects agree on them,
 * and a rule written twice (what resolving clears, which events a page holds) drifts.
 */

/** The default page of a list; no page is larger than MAX_PAGE. */
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

/**
 * How far past the end of a dashboard page its count reads: "1–50 of 1,050+" and a Next link
 * instead of counting every match. An exact count of 100,000 unresolved issues makes PostgreSQL
 * build every matching row (COUNT(*) OVER (), 80–640 ms per page at 1M events) where the page
 * alone is a short walk down an index.
 */
export const COUNT_AHEAD = 1000;

/** The `countUpTo` of a search for one page: its end plus COUNT_AHEAD. */
export function countBoundFor(limit: number, offset: number): number {
  return offset + limit + COUNT_AHEAD;
}

/**
 * The total a search reports from a count that read at most `bound + 1` matches (LIMIT), or every
 * match when there is no bound: more than `bound` reads as "at least `bound`". One rule for both
 * stores, so a page says the same on SQLite and PostgreSQL.
 */
export function boundedTotal(counted: number, bound: number | undefined): { total: number; totalIsLowerBound: boolean } {
  if (bound === undefined || counted <= bound) return { total: counted, totalIsLowerBound: false };
  return { total: bound, totalIsLowerBound: true };
}

/**
 * Issues per status, of one project or all: the folded totals (`issue_status_counts`, a few dozen
 * rows) plus the deltas not folded yet (`issue_status_deltas`, migration 030), summed in one
 * statement so that a fold committing meanwhile is seen whole or not at all. Never a count over
 * the issues themselves.
 */
export async function issueStatusCounts(db: Kysely<Database>, projectId?: number): Promise<Record<IssueStatus, number>> {
  const where = projectId === undefined ? sql`` : sql`WHERE project_id = ${projectId}`;
  const { rows } = await sql<{ status: string; n: number | string }>`SELECT status, SUM(n) AS n FROM (
      SELECT status, count AS n FROM issue_status_counts ${where}
      UNION ALL SELECT status, delta AS n FROM issue_status_deltas ${where}) t GROUP BY status`.execute(db);
  const counts = Object.fromEntries(ISSUE_STATUSES.map((s) => [s, 0])) as Record<IssueStatus, number>;
  for (const r of rows) if (r.status in counts) counts[r.status as IssueStatus] = Number(r.n);
  return counts;
}

/** An issue's events, newest first, a page at a time (`before`: an event id). */
export async function listEvents(db: Kysely<Database>, issueId: number, opts: { limit?: number; before?: number } = {}): Promise<StoredEvent[]> {
  let query = db.selectFrom('events').selectAll().where('issue_id', '=', issueId);
  if (opts.before !== undefined) query = query.where('id', '<', opts.before);
  const rows = await query.orderBy('id', 'desc').limit(Math.min(opts.limit ?? DEFAULT_PAGE, MAX_PAGE)).execute();
  return Promise.all(rows.map(async (r) => toStoredEvent(r, await attachmentsOf(db, r.project_id, r.event_id))));
}

/** One event by its Sentry id (with or without dashes, any case). */
export async function getEvent(db: Kysely<Database>, projectId: number, eventId: string): Promise<StoredEvent | null> {
  const row = await db
    .selectFrom('events')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('event_id', '=', eventId.replace(/-/g, '').toLowerCase())
    .executeTakeFirst();
  return row ? toStoredEvent(row, await attachmentsOf(db, projectId, row.event_id)) : null;
}

/** An event's attachments, in the order they arrived. */
async function attachmentsOf(db: Kysely<Database>, projectId: number, eventId: string): Promise<StoredEvent['attachments']> {
  const rows = await db
    .selectFrom('attachments')
    .select(['filename', 'content_type', 'size'])
    .where('project_id', '=', projectId)
    .where('event_id', '=', eventId)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ filename: r.filename, contentType: r.content_type, size: Number(r.size) }));
}


/** One attachment of an event with its bytes: the `index`-th in the order they arrived (0-based). */
export async function getAttachment(db: Kysely<Database>, projectId: number, eventId: string, index: number): Promise<StoredAttachment | null> {
  const row = await db
    .selectFrom('attachments')
    .select(['filename', 'content_type', 'size', 'data'])
    .where('project_id', '=', projectId)
    .where('event_id', '=', eventId.replace(/-/g, '').toLowerCase())
    .orderBy('id')
    .offset(index)
    .limit(1)
    .executeTakeFirst();
  return row ? { filename: row.filename, contentType: row.content_type, size: Number(row.size), data: Buffer.from(row.data) } : null;
}

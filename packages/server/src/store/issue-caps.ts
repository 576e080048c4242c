import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * Per-issue caps (product §10; docs/architecture.md, "Per-issue caps"): an error storm of millions
 * of events into one issue must not fill the disk. An issue over its cap keeps
 * - its first `keepFirst` events (how it started),
 * - its latest `keepLatest` events (what it does now; frequency alert rules count these, so their
 *   counts stay exact while a rule's threshold is below `keepLatest`),
 * - and a thinning sample of the rest: the first event of each hour it was seen in,
 * and the other events are deleted. Counts stay exact: the issue's event and user counts, its tags
 * and its events per hour are kept apart from the events (the hourly trigger counts inserts only).
 * Written once in Kysely for every store; the statements are each atomic on their own (a crash
 * between deleting events and their attachments leaves attachments that retention removes).
 */
export interface IssueCaps {
  keepFirst: number;
  keepLatest: number;
}

/** Rows deleted per statement: short transactions, so the digest never waits long for the lock. */
const CHUNK = 2_000;
const HOUR_MS = 3_600_000;

export interface CapResult {
  issues: number;
  events: number;
  attachments: number;
}

/** Issues with events in the hours since `sinceHour` that hold more events than the cap keeps. */
export async function issuesOverCap(db: Kysely<Database>, caps: IssueCaps, sinceHour: number): Promise<{ id: number; projectId: number }[]> {
  const rows = await db
    .selectFrom('issues')
    .select(['id', 'project_id'])
    .where('id', 'in', db.selectFrom('issue_hourly').select('issue_id').where('hour', '>=', sinceHour))
    .where('event_count', '>', caps.keepFirst + caps.keepLatest)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), projectId: Number(r.project_id) }));
}

/** Deletes the events of one issue that its cap does not keep; returns how many events and attachments went. */
export async function capIssue(db: Kysely<Database>, issue: { id: number; projectId: number }, caps: IssueCaps): Promise<{ events: number; attachments: number }> {
  const firstIds = await db.selectFrom('events').select('id').where('issue_id', '=', issue.id).orderBy('id').limit(caps.keepFirst).execute();
  const latest = await db.selectFrom('events').select('id').where('issue_id', '=', issue.id).orderBy('id', 'desc').offset(caps.keepLatest - 1).limit(1).executeTakeFirst();
  if (!latest) return { events: 0, attachments: 0 };
  const afterFirst = firstIds.length ? Number(firstIds[firstIds.length - 1]!.id) : 0;
  const latestFrom = Number(latest.id);
  if (latestFrom <= afterFirst + 1) return { events: 0, attachments: 0 };
  // The sample: the first event of each hour, among the events between the first and the latest.
  const sample = (
    await db
      .selectFrom('events')
      .select((eb) => eb.fn.min('id').as('id'))
      .where('issue_id', '=', issue.id)
      .where('id', '>', afterFirst)
      .where('id', '<', latestFrom)
      .groupBy(sql`received_at / ${sql.lit(HOUR_MS)}`)
      .execute()
  ).map((r) => Number(r.id));
  let events = 0;
  let attachments = 0;
  for (;;) {
    let doomed = db.selectFrom('events').select('id').where('issue_id', '=', issue.id).where('id', '>', afterFirst).where('id', '<', latestFrom);
    if (sample.length) doomed = doomed.where('id', 'not in', sample);
    const gone = await db.deleteFrom('events').where('id', 'in', doomed.limit(CHUNK)).returning('event_id').execute();
    if (gone.length === 0) break;
    events += gone.length;
    const ids = gone.map((g) => g.event_id);
    const removed = await db.deleteFrom('attachments').where('project_id', '=', issue.projectId).where('event_id', 'in', ids).executeTakeFirst();
    attachments += Number(removed.numDeletedRows);
    if (gone.length < CHUNK) break;
  }
  return { events, attachments };
}

/** Caps every issue that received events since `sinceHour`. */
export async function capIssues(db: Kysely<Database>, caps: IssueCaps, sinceHour: number): Promise<CapResult> {
  const result: CapResult = { issues: 0, events: 0, attachments: 0 };
  for (const issue of await issuesOverCap(db, caps, sinceHour)) {
    const { events, attachments } = await capIssue(db, issue, caps);
    if (events) result.issues += 1;
    result.events += events;
    result.attachments += attachments;
  }
  return result;
}

/** Events and payload bytes stored per project (what the projects page shows). */
export async function projectStorage(db: Kysely<Database>, projectId: number): Promise<{ events: number; payloadBytes: number }> {
  const row = await db
    .selectFrom('events')
    .select([(eb) => eb.fn.countAll<number>().as('events'), sql<number>`COALESCE(SUM(LENGTH(payload)), 0)`.as('bytes')])
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  return { events: Number(row?.events ?? 0), payloadBytes: Number(row?.bytes ?? 0) };
}

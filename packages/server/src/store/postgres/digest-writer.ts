import { sql } from 'kysely';
import { countTags, eventParams, issueParams, type EventWrite } from '../digest-rows.js';
import { SYSTEM_ACTOR, type Issue, type IssueChange } from '../model.js';
import { digestHistory, type DigestHistoryRow } from '../issue-story.js';
import { toIssue, type IssueRow } from '../rows.js';
import type { BatchEvent, DigestedRow, IssueLifecycle, ReleaseFirstSeen, ReleaseRef } from '../store.js';
import { all, concatenated, LOCKS, prepared, type Db } from './query.js';

type AttachmentWrite = Extract<DigestedRow, { kind: 'attachment' }>;

/**
 * Applies one digest batch on PostgreSQL, inside the caller's transaction, with one statement per
 * table per batch (multi-row `unnest` inserts): a round trip per event would cost more than the
 * work. It only reads and writes: what the events do to their issues is the lifecycle's decision.
 *
 * Several processes digest at once (each on spool rows it locked with SKIP LOCKED). Two of them
 * may hold events of one issue; so the batch first takes a transaction advisory lock on every
 * issue key it touches (project, grouping version, fingerprint), in one sorted order, whether the
 * issue exists yet or not. Under those locks an issue is read, created (no two processes create
 * one fingerprint, no short number is skipped) and rewritten by one process at a time, and the
 * "already stored?" check of an event id (an SDK retry lands on the same issue key) is exact.
 * Every other lock is taken in a fixed order after those (project rows sorted, then rows keyed by
 * the locked issues), so two batches never wait for each other in a cycle.
 */
export async function applyDigest(trx: Db, rows: DigestedRow[], now: number, lifecycle: IssueLifecycle, spoolIds: number[]): Promise<IssueChange[]> {
  const counts = new ItemCounts();
  const unique: EventWrite[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    if (row.kind === 'rejected') counts.add(row.projectId, `rejected:${row.reason}`);
    if (row.kind !== 'event') continue;
    const id = `${row.projectId}:${row.event.eventId}`;
    if (seen.has(id)) counts.add(row.projectId, 'duplicate_event');
    else {
      seen.add(id);
      unique.push(row);
    }
  }
  await applyAttachments(trx, rows.filter((r): r is AttachmentWrite => r.kind === 'attachment'), now);
  const done = unique.length ? await applyEvents(trx, unique, now, lifecycle, counts) : { changes: [], writes: null };
  await counts.write(trx);
  await writeBatch(trx, done.writes, spoolIds, now);
  return done.changes;
}

/** The batch's last writes, made by one statement (writeBatch). */
interface BatchWrites {
  events: ReturnType<typeof eventParams>[];
  tags: ReturnType<typeof countTags>;
  changes: IssueChange[];
}

async function applyEvents(
  trx: Db,
  rows: EventWrite[],
  now: number,
  lifecycle: IssueLifecycle,
  counts: ItemCounts,
): Promise<{ changes: IssueChange[]; writes: BatchWrites | null }> {
  const keyOf = (r: EventWrite) => `${r.projectId}:${r.groupingVersion}:${r.fingerprint}`;
  await lockIssueKeys(trx, [...new Set(rows.map(keyOf))]);
  const stored = await storedEventIds(trx, rows);
  const fresh = rows.filter((r) => {
    if (!stored.has(`${r.projectId}:${r.event.eventId}`)) return true;
    counts.add(r.projectId, 'duplicate_event');
    return false;
  });
  if (fresh.length === 0) return { changes: [], writes: null };

  const issues = new Map<string, BatchEvent['into']>();
  for (const issue of await findIssues(trx, fresh)) issues.set(`${issue.projectId}:${issue.groupingVersion}:${issue.fingerprint}`, { issue, created: false });
  const firstOfNew = new Map<string, EventWrite>();
  for (const r of fresh) if (!issues.has(keyOf(r)) && !firstOfNew.has(keyOf(r))) firstOfNew.set(keyOf(r), r);
  for (const [key, issue] of await createIssues(trx, [...firstOfNew.values()], lifecycle)) issues.set(key, { issue, created: true });

  const newUsers = await addIssueUsers(trx, fresh.map((r) => ({ issueId: issues.get(keyOf(r))!.issue.id, userKey: r.event.userKey })));
  const batchEvents: BatchEvent[] = fresh.map((r) => {
    const into = issues.get(keyOf(r))!;
    const pair = `${into.issue.id}\u0000${r.event.userKey}`;
    const newUser = !!r.event.userKey && newUsers.delete(pair); // the first event of a new pair in the batch
    return { into, event: r.event, newUser };
  });
  const known = await knownReleases(trx, lifecycle.releasesToCompare(batchEvents));
  const { changes, releases } = lifecycle.digestIssues(batchEvents, known, now);
  await insertReleases(trx, releases);
  await insertHistory(trx, digestHistory(changes), now);
  const events = fresh.map((r, i) => eventParams(r, batchEvents[i]!.into.issue.id));
  const tags = countTags(fresh.map((r, i) => ({ issueId: batchEvents[i]!.into.issue.id, event: r.event })));
  return { changes, writes: { events, tags, changes } };
}

/** Advisory locks on the issue keys, taken in hash order by one statement. */
async function lockIssueKeys(trx: Db, keys: string[]): Promise<void> {
  await sql`${prepared}SELECT count(pg_advisory_xact_lock(${LOCKS.issueKey}::int, h))
            FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(${keys}::text[]) AS k ORDER BY h) AS sorted`.execute(trx);
}

async function storedEventIds(trx: Db, rows: EventWrite[]): Promise<Set<string>> {
  const found = await all<{ project_id: number; event_id: string }>(
    trx,
    sql`${prepared}SELECT e.project_id, e.event_id FROM events e
        JOIN unnest(${rows.map((r) => r.projectId)}::int[], ${rows.map((r) => r.event.eventId)}::text[]) AS k(project_id, event_id)
          ON e.project_id = k.project_id AND e.event_id = k.event_id`,
  );
  return new Set(found.map((r) => `${r.project_id}:${r.event_id}`));
}

/**
 * The batch's existing issues, row-locked: the dashboard's status changes (one UPDATE each) wait
 * until this batch has written its counts, instead of being overwritten by them.
 */
async function findIssues(trx: Db, events: EventWrite[]) {
  const rows = [...new Map(events.map((r) => [`${r.projectId}:${r.groupingVersion}:${r.fingerprint}`, r])).values()]; // one per issue key
  const found = await all<IssueRow>(
    trx,
    sql`${prepared}SELECT i.*, p.short_id_prefix FROM issues i JOIN projects p ON p.id = i.project_id
        JOIN unnest(${rows.map((r) => r.projectId)}::int[], ${rows.map((r) => r.groupingVersion)}::int[], ${rows.map((r) => r.fingerprint)}::text[])
          AS k(project_id, grouping_version, fingerprint)
          ON i.project_id = k.project_id AND i.grouping_version = k.grouping_version AND i.fingerprint = k.fingerprint
        ORDER BY i.id FOR UPDATE OF i`,
  );
  return [...new Map(found.map((r) => [Number(r.id), toIssue(r)])).values()];
}

/**
 * Creates the issues first seen in this batch, in order of their first event, numbering them from
 * each project's counter. The project rows are locked (sorted) while the batch is written, so two
 * processes creating issues in one project number them one after the other.
 */
async function createIssues(trx: Db, firsts: EventWrite[], lifecycle: IssueLifecycle): Promise<Map<string, Issue>> {
  const created = new Map<string, Issue>();
  if (firsts.length === 0) return created;
  const perProject = new Map<number, number>();
  for (const r of firsts) perProject.set(r.projectId, (perProject.get(r.projectId) ?? 0) + 1);
  const projectIds = [...perProject.keys()].sort((a, b) => a - b);
  await sql`${prepared}SELECT id FROM projects WHERE id = ANY(${projectIds}::int[]) ORDER BY id FOR UPDATE`.execute(trx);
  const numbered = await all<{ id: number; first: number; short_id_prefix: string }>(
    trx,
    sql`${prepared}UPDATE projects p SET next_short_id = p.next_short_id + k.n
        FROM unnest(${projectIds}::int[], ${projectIds.map((id) => perProject.get(id)!)}::int[]) AS k(id, n)
        WHERE p.id = k.id RETURNING p.id, p.next_short_id - k.n AS first, p.short_id_prefix`,
  );
  const next = new Map(numbered.map((p) => [Number(p.id), Number(p.first)]));
  const prefix = new Map(numbered.map((p) => [Number(p.id), p.short_id_prefix]));
  const values = firsts.map((r) => {
    const o = lifecycle.openingState(r.event);
    const shortNumber = next.get(r.projectId)!;
    next.set(r.projectId, shortNumber + 1);
    return { r, o, shortNumber };
  });
  const col = <T>(f: (v: (typeof values)[number]) => T) => values.map(f);
  const inserted = await all<Omit<IssueRow, 'short_id_prefix'>>(
    trx,
    sql`${prepared}INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, culprit, level, status,
          origin, first_seen, last_seen, event_count, user_count, first_release, last_release, http_status)
        SELECT * FROM unnest(${col((v) => v.r.projectId)}::int[], ${col((v) => v.shortNumber)}::int[], ${col((v) => v.r.groupingVersion)}::int[],
          ${col((v) => v.r.fingerprint)}::text[], ${col((v) => v.o.title)}::text[], ${col((v) => v.o.culprit)}::text[], ${col((v) => v.o.level)}::text[],
          ${col((v) => v.o.status)}::text[], ${col((v) => v.o.origin)}::text[], ${col((v) => v.o.firstSeen)}::bigint[], ${col((v) => v.o.lastSeen)}::bigint[],
          ${col((v) => v.o.eventCount)}::int[], ${col((v) => v.o.userCount)}::int[], ${col((v) => v.o.firstRelease)}::text[],
          ${col((v) => v.o.lastRelease)}::text[], ${col((v) => v.o.httpStatus)}::int[])
        RETURNING *`,
  );
  for (const row of inserted) {
    const issue = toIssue({ ...row, short_id_prefix: prefix.get(Number(row.project_id))! });
    created.set(`${issue.projectId}:${issue.groupingVersion}:${issue.fingerprint}`, issue);
  }
  return created;
}

/** Adds each (issue, user) pair; returns the pairs that were new to their issue. */
async function addIssueUsers(trx: Db, pairs: { issueId: number; userKey: string | null }[]): Promise<Set<string>> {
  const withUser = pairs.filter((p): p is { issueId: number; userKey: string } => !!p.userKey);
  if (withUser.length === 0) return new Set();
  const added = await all<{ issue_id: number; user_key: string }>(
    trx,
    sql`${prepared}INSERT INTO issue_users (issue_id, user_key)
        SELECT * FROM unnest(${withUser.map((p) => p.issueId)}::int[], ${withUser.map((p) => p.userKey)}::text[])
        ON CONFLICT DO NOTHING RETURNING issue_id, user_key`,
  );
  return new Set(added.map((r) => `${r.issue_id}\u0000${r.user_key}`));
}

async function knownReleases(trx: Db, wanted: ReleaseRef[]): Promise<ReleaseFirstSeen[]> {
  if (wanted.length === 0) return [];
  const rows = await all<{ project_id: number; version: string; first_seen: number }>(
    trx,
    sql`${prepared}SELECT r.project_id, r.version, r.first_seen FROM releases r
        JOIN unnest(${wanted.map((w) => w.projectId)}::int[], ${wanted.map((w) => w.version)}::text[]) AS k(project_id, version)
          ON r.project_id = k.project_id AND r.version = k.version`,
  );
  return rows.map((r) => ({ projectId: Number(r.project_id), version: r.version, firstSeen: Number(r.first_seen) }));
}

/** Sorted, so two batches naming the same new releases wait for each other in one order. */
async function insertReleases(trx: Db, releases: ReleaseFirstSeen[]): Promise<void> {
  if (releases.length === 0) return;
  const sorted = [...releases].sort((a, b) => a.projectId - b.projectId || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  await sql`${prepared}INSERT INTO releases (project_id, version, first_seen)
            SELECT * FROM unnest(${sorted.map((r) => r.projectId)}::int[], ${sorted.map((r) => r.version)}::text[], ${sorted.map((r) => r.firstSeen)}::bigint[])
            ON CONFLICT DO NOTHING`.execute(trx);
}

/**
 * The batch's events, their tags, the issues' new counts and states, the alert engine's change feed
 * (store/alerts.ts FeedChange) and the deletion of the batch's spool rows: ONE statement of
 * data-modifying CTEs, one round trip instead of five (each costs ≈ 0.3–0.4 ms of the server's
 * CPU and as much of the backend's, docs/performance.md). One text whatever the batch holds (empty
 * arrays write nothing), so it is a named prepared statement; the payloads go as one bytea with
 * each row's offset and length, as the spool append's do (spool.ts). The CTEs touch different
 * tables and read nothing the others write, so running in one snapshot changes nothing; every batch
 * runs the same text, so their row locks are taken in one order. The events' triggers count them
 * per issue and hour/day (migrations 002, 028). A batch without events only deletes its rows.
 */
async function writeBatch(trx: Db, writes: BatchWrites | null, spoolIds: number[], now: number): Promise<void> {
  const events = writes?.events ?? [];
  const tags = writes?.tags ?? [];
  const changes = writes?.changes ?? [];
  const ev = <K extends keyof ReturnType<typeof eventParams>>(k: K) => events.map((e) => e[k]);
  const { bytes, offsets, lengths } = concatenated(ev('payload'));
  const issues = changes.map((c) => issueParams(c.issue));
  const is = <K extends keyof ReturnType<typeof issueParams>>(k: K) => issues.map((r) => r[k]);
  const ch = <T>(f: (c: IssueChange) => T) => changes.map(f);
  await sql`${prepared}WITH ev AS (
      INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, environment, release,
        origin, title, message, user_key, tg_chat_id, tg_user_id, tg_update_id, http_status, url_pattern, tags, payload)
      SELECT u.project_id, u.issue_id, u.event_id, u.timestamp, u.received_at, u.level, u.environment, u.release, u.origin,
        u.title, u.message, u.user_key, u.tg_chat_id, u.tg_user_id, u.tg_update_id, u.http_status, u.url_pattern, u.tags,
        substring(${bytes}::bytea FROM u.off FOR u.len)
      FROM unnest(${ev('project_id')}::int[], ${ev('issue_id')}::int[], ${ev('event_id')}::text[], ${ev('timestamp')}::bigint[],
        ${ev('received_at')}::bigint[], ${ev('level')}::text[], ${ev('environment')}::text[], ${ev('release')}::text[],
        ${ev('origin')}::text[], ${ev('title')}::text[], ${ev('message')}::text[], ${ev('user_key')}::text[], ${ev('tg_chat_id')}::text[],
        ${ev('tg_user_id')}::text[], ${ev('tg_update_id')}::bigint[], ${ev('http_status')}::int[], ${ev('url_pattern')}::text[],
        ${ev('tags')}::text[], ${offsets}::int[], ${lengths}::int[])
        AS u(project_id, issue_id, event_id, timestamp, received_at, level, environment, release, origin, title, message, user_key,
          tg_chat_id, tg_user_id, tg_update_id, http_status, url_pattern, tags, off, len)
      ON CONFLICT (project_id, event_id) DO NOTHING),
    tg AS (
      INSERT INTO issue_tags (issue_id, key, value, count, last_seen)
      SELECT * FROM unnest(${tags.map((t) => t.issueId)}::int[], ${tags.map((t) => t.key)}::text[], ${tags.map((t) => t.value)}::text[],
        ${tags.map((t) => t.count)}::int[], ${tags.map((t) => t.lastSeen)}::bigint[])
      ON CONFLICT (issue_id, key, value) DO UPDATE SET count = issue_tags.count + excluded.count,
        last_seen = GREATEST(issue_tags.last_seen, excluded.last_seen)),
    up AS (
      UPDATE issues SET title = u.title, culprit = u.culprit, level = u.level, status = u.status, origin = u.origin,
        last_seen = u.last_seen, event_count = u.event_count, user_count = u.user_count, last_release = u.last_release,
        resolved_at = u.resolved_at, regressed = u.regressed, ignore_until = u.ignore_until,
        ignore_until_count = u.ignore_until_count, http_status = u.http_status
      FROM unnest(${is('id')}::bigint[], ${is('title')}::text[], ${is('culprit')}::text[], ${is('level')}::text[], ${is('status')}::text[],
        ${is('origin')}::text[], ${is('last_seen')}::bigint[], ${is('event_count')}::int[], ${is('user_count')}::int[],
        ${is('last_release')}::text[], ${is('resolved_at')}::bigint[], ${is('regressed')}::int[], ${is('ignore_until')}::bigint[],
        ${is('ignore_until_count')}::int[], ${is('http_status')}::int[])
        AS u(id, title, culprit, level, status, origin, last_seen, event_count, user_count, last_release, resolved_at, regressed,
          ignore_until, ignore_until_count, http_status)
      WHERE issues.id = u.id),
    ch AS (
      INSERT INTO alert_changes (project_id, issue_id, created, regressed, unignored, new_events, issue_status, issue_level, event_level, digested_at)
      SELECT *, ${now}::bigint FROM unnest(${ch((c) => c.issue.projectId)}::int[], ${ch((c) => c.issue.id)}::int[], ${ch((c) => +c.created)}::int[],
        ${ch((c) => +c.regressed)}::int[], ${ch((c) => +c.unignored)}::int[], ${ch((c) => c.newEvents)}::int[],
        ${ch((c) => c.issue.status)}::text[], ${ch((c) => c.issue.level)}::text[], ${ch((c) => c.lastEvent.level)}::text[])),
    sp AS (DELETE FROM spool WHERE id = ANY(${spoolIds}::bigint[]))
    SELECT 1`.execute(trx);
}

/** The issue's history: the system reopened it (a regression, a mute that ended). Rare: usually no statement. */
async function insertHistory(trx: Db, rows: DigestHistoryRow[], now: number): Promise<void> {
  if (rows.length === 0) return;
  const col = <T>(f: (r: DigestHistoryRow) => T) => rows.map(f);
  await sql`${prepared}INSERT INTO issue_history (issue_id, project_id, at, actor_kind, actor, action, detail)
            SELECT u.issue_id, u.project_id, ${now}::bigint, ${SYSTEM_ACTOR.kind}::text, ${SYSTEM_ACTOR.name}::text, u.action, u.detail
            FROM unnest(${col((r) => r.issueId)}::bigint[], ${col((r) => r.projectId)}::bigint[], ${col((r) => r.action)}::text[], ${col((r) => r.detail)}::text[])
              AS u(issue_id, project_id, action, detail)`.execute(trx);
}

/** Skips an attachment stored already (the same item spooled twice). Attachments are rare: one query each. */
async function applyAttachments(trx: Db, rows: AttachmentWrite[], now: number): Promise<void> {
  for (const row of rows) {
    await sql`INSERT INTO attachments (project_id, event_id, filename, content_type, size, data, created_at)
              SELECT ${row.projectId}::int, ${row.eventId}::text, ${row.filename}::text, ${row.contentType}::text, ${row.data.length}::int, ${row.data}::bytea, ${now}::bigint
              WHERE NOT EXISTS (SELECT 1 FROM attachments WHERE project_id = ${row.projectId} AND event_id = ${row.eventId}
                AND filename = ${row.filename} AND size = ${row.data.length})`.execute(trx);
  }
}

/** Item counts of a batch (duplicates, rejected rows), added up and written in one statement. */
class ItemCounts {
  private readonly counts = new Map<string, { projectId: number; kind: string; n: number }>();

  add(projectId: number, kind: string): void {
    const id = `${projectId}\u0000${kind}`;
    const entry = this.counts.get(id);
    if (entry) entry.n += 1;
    else this.counts.set(id, { projectId, kind, n: 1 });
  }

  /** Sorted, so two batches counting the same kinds update their rows in one order. */
  async write(trx: Db): Promise<void> {
    await upsertItemCounts(trx, [...this.counts.values()]);
  }
}

/** Adds to item_counts, one statement, rows in key order. */
export async function upsertItemCounts(trx: Db, counts: { projectId: number; kind: string; n: number }[]): Promise<void> {
  const rows = counts.filter((c) => c.n > 0).sort((a, b) => a.projectId - b.projectId || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  if (rows.length === 0) return;
  await sql`${prepared}INSERT INTO item_counts (project_id, kind, count)
            SELECT * FROM unnest(${rows.map((r) => r.projectId)}::int[], ${rows.map((r) => r.kind)}::text[], ${rows.map((r) => r.n)}::bigint[])
            ON CONFLICT (project_id, kind) DO UPDATE SET count = item_counts.count + excluded.count`.execute(trx);
}

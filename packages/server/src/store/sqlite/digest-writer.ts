import type BetterSqlite3 from 'better-sqlite3';
import type { NormalizedEvent } from '../../digest/types.js';
import type { IssueChange } from '../model.js';
import { toIssue, type IssueRow } from '../rows.js';
import type { DigestedRow } from '../store.js';

type Db = BetterSqlite3.Database;
type EventWrite = Extract<DigestedRow, { kind: 'event' }>;

/** Tags worth indexing per issue; more than this per event are kept in the event only. */
const MAX_INDEXED_TAGS = 24;

const LEVEL_RANK: Record<string, number> = { debug: 0, info: 1, warning: 2, error: 3, fatal: 4 };

/** An issue as the batch is changing it, written back once at the end of the batch. */
interface IssueDraft {
  row: IssueRow;
  created: boolean;
  regressed: boolean;
  unignored: boolean;
  newEvents: number;
  lastEvent: NormalizedEvent;
}

/**
 * Applies one digest batch on SQLite. SQLite has a single writer: the whole batch is one short
 * transaction run by the caller; each touched issue is read once and written once per batch.
 */
export class SqliteDigestWriter {
  private readonly stmt;

  constructor(private readonly db: Db) {
    this.stmt = {
      findIssue: db.prepare(
        `SELECT i.*, p.short_id_prefix FROM issues i JOIN projects p ON p.id = i.project_id
         WHERE i.project_id = ? AND i.grouping_version = ? AND i.fingerprint = ?`,
      ),
      eventExists: db.prepare('SELECT 1 FROM events WHERE project_id = ? AND event_id = ?').pluck(),
      nextShortNumber: db.prepare(
        'UPDATE projects SET next_short_id = next_short_id + 1 WHERE id = ? RETURNING next_short_id - 1 AS n',
      ).pluck(),
      insertIssue: db.prepare(
        `INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, culprit, level, status,
           origin, first_seen, last_seen, event_count, user_count, first_release, last_release, http_status)
         VALUES (@project_id, @short_number, @grouping_version, @fingerprint, @title, @culprit, @level, 'new',
           @origin, @first_seen, @last_seen, 0, 0, @first_release, @last_release, @http_status)
         RETURNING id`,
      ).pluck(),
      updateIssue: db.prepare(
        `UPDATE issues SET title = @title, culprit = @culprit, level = @level, status = @status, origin = @origin,
           last_seen = @last_seen, event_count = @event_count, user_count = @user_count,
           last_release = @last_release, resolved_at = @resolved_at, regressed = @regressed,
           ignore_until = @ignore_until, ignore_until_count = @ignore_until_count, http_status = @http_status
         WHERE id = @id`,
      ),
      insertEvent: db.prepare(
        `INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, environment, release,
           origin, title, message, user_key, tg_chat_id, tg_user_id, tg_update_id, http_status, url_pattern, tags, payload)
         VALUES (@project_id, @issue_id, @event_id, @timestamp, @received_at, @level, @environment, @release,
           @origin, @title, @message, @user_key, @tg_chat_id, @tg_user_id, @tg_update_id, @http_status, @url_pattern, @tags, @payload)
         ON CONFLICT (project_id, event_id) DO NOTHING`,
      ),
      insertIssueUser: db.prepare('INSERT INTO issue_users (issue_id, user_key) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      upsertTag: db.prepare(
        `INSERT INTO issue_tags (issue_id, key, value, count, last_seen) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (issue_id, key, value) DO UPDATE SET count = count + excluded.count,
           last_seen = MAX(last_seen, excluded.last_seen)`,
      ),
      insertRelease: db.prepare(
        'INSERT INTO releases (project_id, version, first_seen) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      releaseFirstSeen: db.prepare('SELECT first_seen FROM releases WHERE project_id = ? AND version = ?').pluck(),
      attachmentExists: db
        .prepare('SELECT 1 FROM attachments WHERE project_id = ? AND event_id = ? AND filename = ? AND size = ?')
        .pluck(),
      insertAttachment: db.prepare(
        `INSERT INTO attachments (project_id, event_id, filename, content_type, size, data, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      // The alert engine's change feed (store/alerts.ts FeedChange), in this same transaction.
      insertChange: db.prepare(
        `INSERT INTO alert_changes (project_id, issue_id, created, regressed, unignored, new_events, issue_status, issue_level, event_level, digested_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      countItem: db.prepare(
        `INSERT INTO item_counts (project_id, kind, count) VALUES (?, ?, ?)
         ON CONFLICT (project_id, kind) DO UPDATE SET count = count + excluded.count`,
      ),
    };
  }

  /**
   * Must run inside a transaction. Returns one change per touched issue, and writes each to the
   * alert engine's change feed, so a change committed here is never lost to a crash before the
   * engine has evaluated it.
   */
  apply(rows: DigestedRow[], now: number): IssueChange[] {
    const drafts = new Map<string, IssueDraft>();
    const tagCounts = new Map<string, { issueId: number; key: string; value: string; count: number; lastSeen: number }>();
    for (const row of rows) {
      if (row.kind === 'event') this.applyEvent(row, drafts, tagCounts, now);
      else if (row.kind === 'attachment') this.applyAttachment(row, now);
      else this.stmt.countItem.run(row.projectId, `rejected:${row.reason}`, 1);
    }
    for (const t of tagCounts.values()) this.stmt.upsertTag.run(t.issueId, t.key, t.value, t.count, t.lastSeen);
    const changes = [...drafts.values()].map((d) => this.writeIssue(d));
    for (const c of changes) {
      const { issue } = c;
      this.stmt.insertChange.run(issue.projectId, issue.id, +c.created, +c.regressed, +c.unignored, c.newEvents, issue.status, issue.level, c.lastEvent.level, now);
    }
    return changes;
  }

  /** Skips an attachment stored already: a batch re-digested after a crash (see SpoolFile). */
  private applyAttachment(row: Extract<DigestedRow, { kind: 'attachment' }>, now: number): void {
    if (this.stmt.attachmentExists.get(row.projectId, row.eventId, row.filename, row.data.length)) return;
    this.stmt.insertAttachment.run(row.projectId, row.eventId, row.filename, row.contentType, row.data.length, row.data, now);
  }

  private applyEvent(row: EventWrite, drafts: Map<string, IssueDraft>, tagCounts: Map<string, any>, now: number): void {
    const { event } = row;
    if (this.stmt.eventExists.get(row.projectId, event.eventId)) {
      this.stmt.countItem.run(row.projectId, 'duplicate_event', 1);
      return; // an SDK retry of an event we already have
    }
    if (event.release) this.stmt.insertRelease.run(row.projectId, event.release, event.timestamp);
    const draft = this.draftFor(row, drafts);
    this.advanceIssue(draft, row, now);
    this.stmt.insertEvent.run(eventParams(row, Number(draft.row.id)));
    if (event.userKey && this.stmt.insertIssueUser.run(draft.row.id, event.userKey).changes > 0) {
      draft.row.user_count = Number(draft.row.user_count) + 1;
    }
    for (const [key, value] of indexedTags(event)) {
      const id = `${draft.row.id}\u0000${key}\u0000${value}`;
      const entry = tagCounts.get(id);
      if (entry) {
        entry.count += 1;
        entry.lastSeen = Math.max(entry.lastSeen, event.timestamp);
      } else tagCounts.set(id, { issueId: Number(draft.row.id), key, value, count: 1, lastSeen: event.timestamp });
    }
  }

  private draftFor(row: EventWrite, drafts: Map<string, IssueDraft>): IssueDraft {
    const key = `${row.projectId}:${row.groupingVersion}:${row.fingerprint}`;
    let draft = drafts.get(key);
    if (draft) return draft;
    let issueRow = this.stmt.findIssue.get(row.projectId, row.groupingVersion, row.fingerprint) as IssueRow | undefined;
    const created = !issueRow;
    if (!issueRow) {
      this.createIssue(row);
      issueRow = this.stmt.findIssue.get(row.projectId, row.groupingVersion, row.fingerprint) as IssueRow;
    }
    draft = { row: issueRow, created, regressed: false, unignored: false, newEvents: 0, lastEvent: row.event };
    drafts.set(key, draft);
    return draft;
  }

  private createIssue(row: EventWrite): void {
    const e = row.event;
    this.stmt.insertIssue.run({
      project_id: row.projectId,
      short_number: this.stmt.nextShortNumber.get(row.projectId),
      grouping_version: row.groupingVersion,
      fingerprint: row.fingerprint,
      title: e.title,
      culprit: e.culprit,
      level: e.level,
      origin: e.origin,
      first_seen: e.timestamp,
      last_seen: e.timestamp,
      first_release: e.release,
      last_release: e.release,
      http_status: e.request?.statusCode ?? null,
    });
  }

  /** Counts the event into the issue and applies regression and un-ignore rules. */
  private advanceIssue(draft: IssueDraft, row: EventWrite, now: number): void {
    const issue = draft.row;
    const e = row.event;
    issue.event_count = Number(issue.event_count) + 1;
    issue.last_seen = Math.max(Number(issue.last_seen), e.timestamp);
    if ((LEVEL_RANK[e.level] ?? 3) > (LEVEL_RANK[issue.level] ?? 3)) issue.level = e.level;
    if (e.release) issue.last_release = e.release;
    if (e.origin) issue.origin = e.origin;
    if (e.request?.statusCode) issue.http_status = e.request.statusCode;
    draft.newEvents += 1;
    draft.lastEvent = e;

    if (issue.status === 'resolved' && !this.isFromOlderRelease(row.projectId, e.release, issue.resolved_in_release)) {
      issue.status = 'new';
      issue.regressed = 1;
      issue.resolved_at = null;
      draft.regressed = true;
    } else if (issue.status === 'ignored' && ignoreEnded(issue, now)) {
      issue.status = 'new';
      issue.ignore_until = null;
      issue.ignore_until_count = null;
      draft.unignored = true;
    }
  }

  /**
   * True when the event comes from a release first seen before the release the fix shipped in
   * (or the fix release has not been seen at all yet: every event is then from an older build).
   */
  private isFromOlderRelease(projectId: number, eventRelease: string | null, fixRelease: string | null): boolean {
    if (!fixRelease || !eventRelease || eventRelease === fixRelease) return false;
    const fixSeen = this.stmt.releaseFirstSeen.get(projectId, fixRelease) as number | undefined;
    if (fixSeen === undefined) return true;
    const eventSeen = this.stmt.releaseFirstSeen.get(projectId, eventRelease) as number | undefined;
    return eventSeen !== undefined && Number(eventSeen) < Number(fixSeen);
  }

  private writeIssue(draft: IssueDraft): IssueChange {
    const r = draft.row;
    this.stmt.updateIssue.run({
      id: r.id,
      title: r.title,
      culprit: r.culprit,
      level: r.level,
      status: r.status,
      origin: r.origin,
      last_seen: r.last_seen,
      event_count: r.event_count,
      user_count: r.user_count,
      last_release: r.last_release,
      resolved_at: r.resolved_at,
      regressed: r.regressed,
      ignore_until: r.ignore_until,
      ignore_until_count: r.ignore_until_count,
      http_status: r.http_status,
    });
    return {
      issue: toIssue(r),
      created: draft.created,
      regressed: draft.regressed,
      unignored: draft.unignored,
      newEvents: draft.newEvents,
      lastEvent: draft.lastEvent,
    };
  }
}

function ignoreEnded(issue: IssueRow, now: number): boolean {
  if (issue.ignore_until !== null && Number(issue.ignore_until) <= now) return true;
  return issue.ignore_until_count !== null && Number(issue.event_count) >= Number(issue.ignore_until_count);
}

/** Tags indexed for `tag:value` search, plus environment and release as pseudo-tags. */
function indexedTags(event: NormalizedEvent): [string, string][] {
  const tags: [string, string][] = [];
  if (event.environment) tags.push(['environment', event.environment]);
  if (event.release) tags.push(['release', event.release]);
  for (const [k, v] of Object.entries(event.tags)) {
    if (tags.length >= MAX_INDEXED_TAGS) break;
    if (k !== 'environment' && k !== 'release') tags.push([k, v]);
  }
  return tags;
}

function eventParams(row: EventWrite, issueId: number) {
  const e = row.event;
  return {
    project_id: row.projectId,
    issue_id: issueId,
    event_id: e.eventId,
    timestamp: e.timestamp,
    received_at: row.receivedAt,
    level: e.level,
    environment: e.environment,
    release: e.release,
    origin: e.origin,
    title: e.title,
    message: e.message,
    user_key: e.userKey,
    tg_chat_id: e.telegram?.chat_id === undefined ? null : String(e.telegram.chat_id),
    tg_user_id: e.telegram?.user_id === undefined ? null : String(e.telegram.user_id),
    tg_update_id: e.telegram?.update_id ?? null,
    http_status: e.request?.statusCode ?? null,
    url_pattern: e.request?.urlPattern ?? null,
    tags: JSON.stringify(e.tags),
    payload: row.compressedPayload,
  };
}

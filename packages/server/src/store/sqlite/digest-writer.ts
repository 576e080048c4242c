import type BetterSqlite3 from 'better-sqlite3';
import { countTags, eventParams, issueParams, type EventWrite } from '../digest-rows.js';
import { SYSTEM_ACTOR, type IssueChange } from '../model.js';
import { digestHistory } from '../issue-story.js';
import { toIssue, type IssueRow } from '../rows.js';
import type { BatchEvent, DigestedRow, IssueLifecycle, ReleaseFirstSeen, ReleaseRef } from '../store.js';

type Db = BetterSqlite3.Database;

/**
 * Applies one digest batch on SQLite. SQLite has a single writer: the whole batch is one short
 * transaction run by the caller; each touched issue is read once and written once per batch.
 * It only reads and writes: what the events do to their issues is the lifecycle's decision.
 */
export class SqliteDigestWriter {
  private readonly stmt;

  constructor(db: Db) {
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
         VALUES (@project_id, @short_number, @grouping_version, @fingerprint, @title, @culprit, @level, @status,
           @origin, @first_seen, @last_seen, @event_count, @user_count, @first_release, @last_release, @http_status)`,
      ),
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
      // The issue's history: the system reopened it (a regression, a mute that ended).
      insertHistory: db.prepare(
        `INSERT INTO issue_history (issue_id, project_id, at, actor_kind, actor, action, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
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
  apply(rows: DigestedRow[], now: number, lifecycle: IssueLifecycle): IssueChange[] {
    const issues = new Map<string, BatchEvent['into']>();
    const seen = new Set<string>();
    const events: { row: EventWrite; batch: BatchEvent }[] = [];
    for (const row of rows) {
      if (row.kind === 'event') {
        const batch = this.readEvent(row, issues, seen, lifecycle);
        if (batch) events.push({ row, batch });
      } else if (row.kind === 'attachment') this.applyAttachment(row, now);
      else this.stmt.countItem.run(row.projectId, `rejected:${row.reason}`, 1);
    }
    if (events.length === 0) return [];
    const batchEvents = events.map((e) => e.batch);
    const { changes, releases } = lifecycle.digestIssues(batchEvents, this.knownReleases(lifecycle.releasesToCompare(batchEvents)), now);
    for (const r of releases) this.stmt.insertRelease.run(r.projectId, r.version, r.firstSeen);
    for (const { row, batch } of events) this.stmt.insertEvent.run(eventParams(row, batch.into.issue.id));
    this.countTags(events);
    for (const c of changes) {
      const { issue } = c;
      this.stmt.updateIssue.run(issueParams(issue));
      this.stmt.insertChange.run(issue.projectId, issue.id, +c.created, +c.regressed, +c.unignored, c.newEvents, issue.status, issue.level, c.lastEvent.level, now);
    }
    for (const h of digestHistory(changes)) this.stmt.insertHistory.run(h.issueId, h.projectId, now, SYSTEM_ACTOR.kind, SYSTEM_ACTOR.name, h.action, h.detail);
    return changes;
  }

  /** Skips an attachment stored already: a batch re-digested after a crash (see SpoolFile). */
  private applyAttachment(row: Extract<DigestedRow, { kind: 'attachment' }>, now: number): void {
    if (this.stmt.attachmentExists.get(row.projectId, row.eventId, row.filename, row.data.length)) return;
    this.stmt.insertAttachment.run(row.projectId, row.eventId, row.filename, row.contentType, row.data.length, row.data, now);
  }

  /**
   * Reads what the lifecycle needs about one event: its issue (created if it is the first event of
   * one) and whether its user is new to the issue. Null for an event stored already (an SDK retry,
   * or a batch re-digested after a crash), which is counted and skipped.
   */
  private readEvent(row: EventWrite, issues: Map<string, BatchEvent['into']>, seen: Set<string>, lifecycle: IssueLifecycle): BatchEvent | null {
    const { event } = row;
    const id = `${row.projectId}:${event.eventId}`;
    if (seen.has(id) || this.stmt.eventExists.get(row.projectId, event.eventId)) {
      this.stmt.countItem.run(row.projectId, 'duplicate_event', 1);
      return null;
    }
    seen.add(id);
    const key = `${row.projectId}:${row.groupingVersion}:${row.fingerprint}`;
    let into = issues.get(key);
    if (!into) {
      into = this.findOrCreateIssue(row, lifecycle);
      issues.set(key, into);
    }
    const newUser = !!event.userKey && this.stmt.insertIssueUser.run(into.issue.id, event.userKey).changes > 0;
    return { into, event, newUser };
  }

  private findOrCreateIssue(row: EventWrite, lifecycle: IssueLifecycle): BatchEvent['into'] {
    const found = this.stmt.findIssue.get(row.projectId, row.groupingVersion, row.fingerprint) as IssueRow | undefined;
    if (found) return { issue: toIssue(found), created: false };
    const o = lifecycle.openingState(row.event);
    this.stmt.insertIssue.run({
      project_id: row.projectId,
      short_number: this.stmt.nextShortNumber.get(row.projectId),
      grouping_version: row.groupingVersion,
      fingerprint: row.fingerprint,
      title: o.title,
      culprit: o.culprit,
      level: o.level,
      status: o.status,
      origin: o.origin,
      first_seen: o.firstSeen,
      last_seen: o.lastSeen,
      event_count: o.eventCount,
      user_count: o.userCount,
      first_release: o.firstRelease,
      last_release: o.lastRelease,
      http_status: o.httpStatus,
    });
    const created = this.stmt.findIssue.get(row.projectId, row.groupingVersion, row.fingerprint) as IssueRow;
    return { issue: toIssue(created), created: true };
  }

  /** The first-seen times the store has of the releases the lifecycle will compare. */
  private knownReleases(wanted: ReleaseRef[]): ReleaseFirstSeen[] {
    const known: ReleaseFirstSeen[] = [];
    for (const r of wanted) {
      const firstSeen = this.stmt.releaseFirstSeen.get(r.projectId, r.version) as number | undefined;
      if (firstSeen !== undefined) known.push({ ...r, firstSeen: Number(firstSeen) });
    }
    return known;
  }

  /** Tags are counted in memory and upserted once per (issue, key, value) per batch. */
  private countTags(events: { batch: BatchEvent }[]): void {
    const tags = countTags(events.map(({ batch }) => ({ issueId: batch.into.issue.id, event: batch.event })));
    for (const t of tags) this.stmt.upsertTag.run(t.issueId, t.key, t.value, t.count, t.lastSeen);
  }
}

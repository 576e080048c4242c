import { sql, type CompiledQuery, type Kysely } from 'kysely';
import { SYSTEM_ACTOR, type Actor, type ActorKind, type HistoryAction, type IssueChange, type IssueHistoryEntry, type ReleaseSummary } from './model.js';
import type { Database } from './schema.js';
import type { StatusChange } from './store.js';

/**
 * The issue's story, written once in Kysely for every store: status changes, assignment, notes and
 * acknowledgements, each with who and when (docs/issues.md, "History, assignee and notes").
 *
 * A change and its history row must commit together (a crash between them would show a status no
 * one set, or a history of a change that never happened), so these functions only build the
 * statements; each store runs them in one transaction of its own kind (`runAtomically`).
 */

/** Longest note kept; longer ones are refused by the routes with this number in the message. */
export const MAX_NOTE_LENGTH = 2000;
/** Entries shown on an issue page (newest kept when there are more). */
export const HISTORY_PAGE = 200;

/** The statements of a status change: a history row (only when something changes), then the update. */
export function statusChangeQueries(db: Kysely<Database>, id: number, change: StatusChange, now: number): CompiledQuery[] {
  const actor = change.actor ?? SYSTEM_ACTOR;
  const nextRelease = change.status === 'resolved' && change.inNextRelease ? 1 : 0;
  const inRelease = change.status === 'resolved' && !nextRelease ? (change.inRelease ?? null) : null;
  const detail = historyDetail(change, inRelease, nextRelease === 1);
  // Pressing Resolve twice records one change; a mute is always recorded (it may be extended).
  const unchanged =
    change.status === 'ignored'
      ? sql<boolean>`1 = 0`
      : sql<boolean>`status = ${change.status} AND COALESCE(resolved_in_release, '') = ${inRelease ?? ''} AND resolved_next_release = ${nextRelease}`;
  const history = historyFromIssue(db, id, actor, statusAction(change.status), detail, now, sql<boolean>`NOT (${unchanged})`)
    .compile();
  const cleared = { resolved_at: null, resolved_in_release: null, resolved_next_release: 0, ignore_until: null, ignore_until_count: null };
  let update = db.updateTable('issues').where('id', '=', id);
  if (change.status === 'resolved') {
    update = update.set({ ...cleared, status: 'resolved', resolved_at: now, resolved_in_release: inRelease, resolved_next_release: nextRelease, regressed: 0 });
  } else if (change.status === 'ignored') {
    update = update.set((eb) => ({
      ...cleared,
      status: 'ignored',
      ignore_until: change.ignoreUntil ?? null,
      ignore_until_count: change.ignoreForEvents ? eb('event_count', '+', change.ignoreForEvents) : null,
    }));
  } else {
    update = update.set({ ...cleared, status: change.status });
  }
  return [history as CompiledQuery, update.compile()];
}

/** The statements of an assignment (`assignee` null: unassign); nothing when it is already so. */
export function assignQueries(db: Kysely<Database>, id: number, assignee: string | null, actor: Actor, now: number): CompiledQuery[] {
  const changes = assignee === null ? sql<boolean>`assignee IS NOT NULL` : sql<boolean>`COALESCE(assignee, '') <> ${assignee}`;
  const history = historyFromIssue(db, id, actor, assignee ? 'assigned' : 'unassigned', assignee ? { assignee } : {}, now, changes).compile();
  const update = db.updateTable('issues').set({ assignee }).where('id', '=', id).compile();
  return [history as CompiledQuery, update];
}

/** A history row for something done to an issue that changes no issue field (note, acknowledgement, link). */
export function historyQuery(db: Kysely<Database>, id: number, actor: Actor, action: HistoryAction, detail: Record<string, unknown>, now: number): CompiledQuery {
  return historyFromIssue(db, id, actor, action, detail, now).compile() as CompiledQuery;
}

/** INSERT … SELECT from the issue's row: no row when the issue is gone, or when `onlyIf` is false for it. */
function historyFromIssue(db: Kysely<Database>, id: number, actor: Actor, action: HistoryAction, detail: Record<string, unknown>, now: number, onlyIf = sql<boolean>`1 = 1`) {
  return db
    .insertInto('issue_history')
    .columns(['issue_id', 'project_id', 'at', 'actor_kind', 'actor', 'action', 'detail'])
    .expression((eb) =>
      eb
        .selectFrom('issues')
        .select([
          'id',
          'project_id',
          sql<number>`${now}`.as('at'),
          sql<string>`${actor.kind}`.as('actor_kind'),
          sql<string>`${actor.name}`.as('actor'),
          sql<string>`${action}`.as('action'),
          sql<string | null>`${Object.keys(detail).length ? JSON.stringify(detail) : null}`.as('detail'),
        ])
        .where('id', '=', id)
        .where(onlyIf),
    );
}

/** The newest `limit` entries of an issue's history, oldest first. */
export async function issueHistory(db: Kysely<Database>, issueId: number, limit = HISTORY_PAGE): Promise<IssueHistoryEntry[]> {
  const rows = await db.selectFrom('issue_history').selectAll().where('issue_id', '=', issueId).orderBy('id', 'desc').limit(limit).execute();
  return rows.reverse().map((r) => ({
    id: Number(r.id),
    issueId: Number(r.issue_id),
    at: Number(r.at),
    actor: { kind: r.actor_kind as ActorKind, name: r.actor },
    action: r.action as HistoryAction,
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : {},
  }));
}

/** The dashboard login linked to a Telegram account (numeric id or username), if any. */
export async function loginForTelegram(db: Kysely<Database>, account: { id: number | string; username?: string | null }): Promise<string | null> {
  const keys = [String(account.id), ...(account.username ? [normalizeTelegram(account.username)] : [])];
  const row = await db.selectFrom('users').select('login').where('telegram', 'in', keys).orderBy('login').executeTakeFirst();
  return row?.login ?? null;
}

/** `@Name` and `name` are one Telegram username; numeric ids stay as they are. */
export function normalizeTelegram(account: string): string {
  return account.trim().replace(/^@/, '').toLowerCase();
}

function statusAction(status: StatusChange['status']): HistoryAction {
  return status === 'new' ? 'reopened' : status;
}

function historyDetail(change: StatusChange, inRelease: string | null, nextRelease: boolean): Record<string, unknown> {
  const detail: Record<string, unknown> = {};
  if (inRelease) detail.release = inRelease;
  if (nextRelease) detail.nextRelease = true;
  if (change.status === 'ignored') {
    if (change.ignoreUntil) detail.until = change.ignoreUntil;
    if (change.ignoreForEvents) detail.forEvents = change.ignoreForEvents;
  }
  return detail;
}

/** Runs statements in one transaction; returns the rows each one changed. */
export type RunAtomically = (queries: CompiledQuery[]) => Promise<number[]>;

/**
 * The story methods every store offers, on its Kysely instance and its own way of running a
 * transaction (better-sqlite3's synchronous one, or a PostgreSQL one).
 */
export class IssueStory {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly runAtomically: RunAtomically,
  ) {}

  async setStatus(id: number, change: StatusChange, now = Date.now()): Promise<void> {
    const [, updated] = await this.runAtomically(statusChangeQueries(this.db, id, change, now));
    if (!updated) throw new Error(`no issue with id ${id}`);
  }

  async assign(id: number, assignee: string | null, actor: Actor, now = Date.now()): Promise<void> {
    const [, updated] = await this.runAtomically(assignQueries(this.db, id, assignee, actor, now));
    if (!updated) throw new Error(`no issue with id ${id}`);
  }

  async record(id: number, actor: Actor, action: HistoryAction, detail: Record<string, unknown>, now = Date.now()): Promise<void> {
    const [inserted] = await this.runAtomically([historyQuery(this.db, id, actor, action, detail, now)]);
    if (!inserted) throw new Error(`no issue with id ${id}`);
  }

  history(id: number, limit?: number): Promise<IssueHistoryEntry[]> {
    return issueHistory(this.db, id, limit);
  }

  async setUserTelegram(login: string, account: string | null): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set({ telegram: account === null ? null : normalizeTelegram(account) })
      .where('login', '=', login)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  loginForTelegram(account: { id: number | string; username?: string | null }): Promise<string | null> {
    return loginForTelegram(this.db, account);
  }

  async userLogins(): Promise<string[]> {
    return (await this.db.selectFrom('users').select('login').orderBy('login').execute()).map((r) => r.login);
  }

  async releases(projectId: number, limit = 100): Promise<ReleaseSummary[]> {
    const releases = await this.db
      .selectFrom('releases')
      .select(['version', 'first_seen'])
      .where('project_id', '=', projectId)
      .orderBy('first_seen', 'desc')
      .limit(limit)
      .execute();
    if (!releases.length) return [];
    const versions = releases.map((r) => r.version);
    const [opened, open, regressed] = await Promise.all([
      this.countByRelease('first_release', projectId, versions),
      this.countByRelease('last_release', projectId, versions, true),
      this.db
        .selectFrom('issue_history')
        .select([sql<string>`detail`.as('detail')])
        .where('project_id', '=', projectId)
        .where('action', '=', 'regressed')
        .execute(),
    ]);
    const regressions = new Map<string, number>();
    for (const r of regressed) {
      const release = r.detail ? (JSON.parse(r.detail) as { release?: string }).release : undefined;
      if (release) regressions.set(release, (regressions.get(release) ?? 0) + 1);
    }
    return releases.map((r) => ({
      version: r.version,
      firstSeen: Number(r.first_seen),
      newIssues: opened.get(r.version) ?? 0,
      regressions: regressions.get(r.version) ?? 0,
      openIssues: open.get(r.version) ?? 0,
    }));
  }

  private async countByRelease(column: 'first_release' | 'last_release', projectId: number, versions: string[], unresolved = false): Promise<Map<string, number>> {
    let query = this.db
      .selectFrom('issues')
      .select([column, (eb) => eb.fn.countAll<number>().as('n')])
      .where('project_id', '=', projectId)
      .where(column, 'in', versions);
    if (unresolved) query = query.where('status', '<>', 'resolved');
    const rows = await query.groupBy(column).execute();
    return new Map(rows.map((r) => [r[column] as string, Number(r.n)]));
  }
}

/** A history row the digest writes in its batch transaction: the system reopened an issue. */
export interface DigestHistoryRow {
  issueId: number;
  projectId: number;
  action: 'regressed' | 'unignored';
  detail: string | null;
}

/** The regressions and ended mutes of a digest batch, as history rows (actor: the system). */
export function digestHistory(changes: IssueChange[]): DigestHistoryRow[] {
  const rows: DigestHistoryRow[] = [];
  for (const c of changes) {
    const base = { issueId: c.issue.id, projectId: c.issue.projectId };
    if (c.regressed) rows.push({ ...base, action: 'regressed', detail: c.regressedIn ? JSON.stringify({ release: c.regressedIn }) : null });
    else if (c.unignored) rows.push({ ...base, action: 'unignored', detail: null });
  }
  return rows;
}

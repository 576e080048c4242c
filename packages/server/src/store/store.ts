import type { CapResult, IssueCaps } from './issue-caps.js';
import type { Actor, ApiTokenSummary, Issue, ReleaseSummary, StoredAttachment, IssueChange, IssueHistoryEntry, IssueStatus, LinkTemplate, NormalizedEvent, Project, Role, StoredEvent, UserSummary } from './model.js';

/** One raw item accepted by ingestion, waiting in the spool for the digest. */
export interface SpoolItemInput {
  projectId: number;
  /** `event` (incl. attachments) is digested; other kinds are parked raw for their consumers. */
  kind: string;
  eventId: string | null;
  receivedAt: number;
  payload: Buffer;
  /** Item headers worth keeping (filename, content type of an attachment). */
  meta?: Record<string, unknown>;
}

export interface SpoolRow extends SpoolItemInput {
  id: number;
}

/** The digest's work for one spool row, computed by the digest from the raw bytes. */
export type DigestedRow =
  | { kind: 'event'; spoolId: number; projectId: number; receivedAt: number; event: NormalizedEvent; fingerprint: string; groupingVersion: number; compressedPayload: Buffer }
  | { kind: 'attachment'; spoolId: number; projectId: number; eventId: string; filename: string; contentType: string | null; data: Buffer }
  /** A row the digest could not use (already answered 200, so it is logged and dropped, never retried forever). */
  | { kind: 'rejected'; spoolId: number; projectId: number; reason: string };

/** A spool row the digest could not store: moved to the quarantine with the error. */
export interface QuarantinedRow {
  spoolId: number;
  projectId: number;
  kind: string;
  eventId: string | null;
  error: string;
  quarantinedAt: number;
}

/**
 * Spool rows this process appended and its digest still holds in memory (digest/held-rows.ts).
 * PostgreSQL's digest takes a claimed row's payload from here instead of reading it back; SQLite
 * reads its spool file in-process and ignores it.
 */
/** Per request of a spool flush: its items only counted, and its client reports' discards. */
export interface SpoolTally {
  projectId: number;
  counts: Record<string, number>;
  discards?: { discards: ClientDiscard[]; at: number }[] | undefined;
}

export interface HeldSpoolRows {
  /** The claim is about to be sent: what release() may let go is decided as of now. */
  claiming?(): void;
  /**
   * A claimed row, from memory; `later` when it is not held yet but may be this process's own,
   * committed by the database and on its way to being handed over: the batch leaves it in the
   * spool for a later one instead of reading its payload back.
   */
  get(id: number): SpoolRow | 'later' | undefined;
  /** A batch that took rows up to `id` committed: those, and older ones another process took, are let go. */
  release(id: number): void;
}

export interface DigestBatchResult {
  /** Spool rows taken out of the spool (stored, dropped as duplicates, or quarantined). */
  rows: number;
  changes: IssueChange[];
  quarantined: QuarantinedRow[];
  /** Claimed rows left in the spool for a later batch (HeldSpoolRows.get said `later`): the loop looks again soon. */
  deferred?: number;
  /**
   * The database failed in the middle of a row-by-row walk (after a row's fault was found): the
   * rows counted above were done, the rest stay in the spool. Reported so the caller logs, counts
   * and backs off as for a failed batch, instead of the fault passing unseen.
   */
  interrupted?: Error;
  /** PostgreSQL: claimed rows whose payload was read from the database (not held in memory). */
  payloadsRead?: number;
}

/** A release of a project, and when the first event naming it was digested (its event's time, ms). */
export interface ReleaseRef {
  projectId: number;
  version: string;
}
export interface ReleaseFirstSeen extends ReleaseRef {
  firstSeen: number;
}

/** The fields a new issue starts with, taken from its first event. */
export type IssueOpening = Pick<
  Issue,
  'title' | 'culprit' | 'level' | 'status' | 'origin' | 'firstSeen' | 'lastSeen' | 'eventCount' | 'userCount' | 'firstRelease' | 'lastRelease' | 'httpStatus'
>;

/** One new event of a digest batch, with the issue it was grouped into, as the store read it. */
export interface BatchEvent {
  /** The same object for every event of one issue. */
  into: { issue: Issue; created: boolean };
  event: NormalizedEvent;
  /** The issue had no event of this user before (the store keeps each issue's set of users). */
  newUser: boolean;
}

/**
 * The issue lifecycle (regression, un-ignore, counts, level: digest/lifecycle.ts), handed to
 * `digestBatch`. A store only reads what these ask for and writes what they return, so two
 * stores cannot disagree on what an event does to an issue.
 */
export interface IssueLifecycle {
  openingState(event: NormalizedEvent): IssueOpening;
  releasesToCompare(events: BatchEvent[]): ReleaseRef[];
  digestIssues(events: BatchEvent[], known: ReleaseFirstSeen[], now: number): { changes: IssueChange[]; releases: ReleaseFirstSeen[] };
}

export interface IssueFilter {
  projectId?: number;
  status?: IssueStatus | IssueStatus[];
  level?: string;
  environment?: string;
  release?: string;
  origin?: string;
  /** Issues seen at or after this time (ms). */
  since?: number;
  until?: number;
  /** Free text: matched against title, culprit and short id. */
  text?: string;
  /** `key:value` pairs that some event of the issue carried. */
  tags?: Record<string, string>;
  sort?: 'last_seen' | 'count' | 'users' | 'first_seen';
  limit?: number;
  offset?: number;
}

export interface StatusChange {
  status: IssueStatus;
  /** For `resolved`: the release the fix ships in (events from older releases won't reopen). */
  inRelease?: string | null;
  /** For `ignored`: until this time (ms) and/or until the count grows by this many events. */
  ignoreUntil?: number | null;
  ignoreForEvents?: number | null;
  /** For `resolved`: the fix ships in the next release, whichever it is (see Issue.resolvedInNextRelease). */
  inNextRelease?: boolean;
  /** Who changes it, for the issue's history; the system when absent. */
  actor?: Actor;
}

export interface NewProject {
  name: string;
  slug?: string;
  shortIdPrefix?: string;
  linkTemplates?: LinkTemplate[];
  /** A taken slug: refused with SlugTakenError (the default), or `suffix` picks `slug-2`, `slug-3`... */
  slugTaken?: 'refuse' | 'suffix';
}

/**
 * Everything Botpulse keeps. SQLite (store/sqlite/) and PostgreSQL (store/postgres/) implement
 * it, and both run the same contract suite (`store.contract.ts`).
 */
export interface Store {
  migrate(): Promise<number>;
  close(): Promise<void>;
  /**
   * Runs `fn` while no other holder of the same name runs, in this process or in any other sharing
   * the database (e.g. the first start's bootstrap: one default project, one initial admin, when
   * several processes start together on an empty database).
   */
  exclusively<T>(name: string, fn: () => Promise<T>): Promise<T>;

  createProject(input: NewProject): Promise<Project>;
  listProjects(): Promise<Project[]>;
  getProject(idOrSlug: number | string): Promise<Project | null>;
  updateProject(id: number, patch: Partial<Pick<Project, 'name' | 'shortIdPrefix' | 'linkTemplates'>>): Promise<Project>;

  /** Durable when the promise resolves: the caller may answer 200. */
  /**
   * Resolves with the spooled rows (the digested kinds, in item order) with their spool ids when
   * the store has them (PostgreSQL): the process hands those to its own digest thread, which then
   * needs not read their payloads back (HeldSpoolRows). `tallies` (the same requests' counted items
   * and client discards, as countItems and recordClientDiscards take them) are recorded before it
   * resolves; on PostgreSQL in the append's own statement (one round trip, one commit).
   */
  appendToSpool(items: SpoolItemInput[], tallies?: SpoolTally[]): Promise<SpoolRow[] | void>;
  /** Undigested items (events and their attachments). */
  spoolBacklog(): Promise<number>;
  /**
   * Makes the space of digested spool rows reusable by the next appends. PostgreSQL: a VACUUM of
   * the spool table (without waiting for a lock another VACUUM holds, and without truncating: that
   * would lock out the appends), so the spool stays a few pages that live in shared buffers instead
   * of growing by a page per 5 KB event until autovacuum comes round (once a minute by default).
   * SQLite: nothing to do (its spool file is reused by itself). The digest loop calls it at most
   * once a second while it digests.
   */
  reclaimSpoolSpace(): Promise<void>;
  /**
   * Takes up to `limit` spool rows, lets `digest` turn them into writes, and applies them and
   * removes the rows in ONE transaction: a crash at any point leaves each row digested exactly once.
   * What the events do to their issues is decided by `lifecycle` (digest/lifecycle.ts).
   * When that transaction fails because of a row (not because the database does), the rows are
   * applied one per transaction and a row that fails alone is quarantined (`quarantined`): kept
   * as spooled with its error, out of the spool, so it never holds the rows behind it.
   * Rejects, leaving the rows in the spool, when the database itself fails (busy, full, I/O).
   */
  digestBatch(limit: number, digest: (rows: SpoolRow[]) => DigestedRow[], lifecycle: IssueLifecycle, held?: HeldSpoolRows): Promise<DigestBatchResult>;
  /** How many spool rows the digest quarantined (kept, never digested), and the latest. */
  quarantineSummary(): Promise<{ rows: number; latest: QuarantinedRow | null }>;
  /** Counts items that are accepted but not stored (sessions, client reports, dropped attachments...). */
  countItems(projectId: number, counts: Record<string, number>): Promise<void>;
  itemCounts(projectId?: number): Promise<Record<string, number>>;
  /** Adds what an SDK's client report says it dropped (docs/sdk.md, "Client reports"). */
  recordClientDiscards(projectId: number, discards: ClientDiscard[], at: number): Promise<void>;
  /** Totals per project, reason and category, largest first. */
  clientDiscards(projectId?: number): Promise<ClientDiscardTotal[]>;
  /** Parked raw items of a kind (transaction, check_in, log) for the monitors/logs consumers. */
  listRawItems(kind: string, opts?: { projectId?: number; after?: number; limit?: number }): Promise<SpoolRow[]>;

  listIssues(filter: IssueFilter): Promise<{ issues: Issue[]; total: number }>;
  getIssue(id: number): Promise<Issue | null>;
  getIssueByShortId(projectId: number, shortId: string): Promise<Issue | null>;
  /** Changes the status and records it in the issue's history (with `change.actor`), in one transaction. */
  setIssueStatus(id: number, change: StatusChange): Promise<Issue>;
  /** Assigns the issue to a dashboard login (null: nobody) and records it; nothing when it already is. */
  assignIssue(id: number, assignee: string | null, actor: Actor): Promise<Issue>;
  /** Records a note, an acknowledgement or a link in the issue's history. */
  addIssueHistory(id: number, actor: Actor, action: 'note' | 'acknowledged' | 'linked', detail: Record<string, unknown>): Promise<void>;
  /** The newest entries of the issue's history (HISTORY_PAGE by default), oldest first. */
  issueHistory(id: number, limit?: number): Promise<IssueHistoryEntry[]>;
  /** Releases of a project, newest first, with their new issues, regressions and open issues. */
  releaseSummaries(projectId: number): Promise<ReleaseSummary[]>;
  latestEvent(issueId: number): Promise<StoredEvent | null>;
  listEvents(issueId: number, opts?: { limit?: number; before?: number }): Promise<StoredEvent[]>;
  getEvent(projectId: number, eventId: string): Promise<StoredEvent | null>;
  /** The `index`-th attachment (0-based, in arrival order) of an event, with its bytes. */
  getAttachment(projectId: number, eventId: string, index: number): Promise<StoredAttachment | null>;

  /** Deletes events received before `before` (ms), and the hourly counts of those hours; issues keep their counts. */
  pruneEvents(before: number, onProgress?: (deletedSoFar: number) => void): Promise<number>;
  pruneRawItems(before: number, onProgress?: (deletedSoFar: number) => void): Promise<number>;
  /** Deletes what the per-issue caps do not keep, in issues with events since `sinceHour` (store/issue-caps.ts). */
  capIssues(caps: IssueCaps, sinceHour: number): Promise<CapResult>;
  /** Events and payload bytes stored for a project. */
  projectStorage(projectId: number): Promise<{ events: number; payloadBytes: number }>;

  /**
   * A new DSN key; the old one stays accepted for `graceMs` (projectAcceptsKey), so bots can be
   * redeployed with the new DSN without losing events.
   */
  rotateProjectKey(id: number, graceMs: number, now: number): Promise<Project>;
  /** Marks the project as being deleted (ingestion refuses it from now); null when there is none. */
  startProjectDeletion(id: number, now: number): Promise<Project | null>;
  /** Removes up to about `limit` rows of a project being deleted; `done` when the project is gone. */
  deleteProjectChunk(id: number, limit: number): Promise<{ done: boolean; deleted: number }>;
  /** What is left of a project being deleted (progress). */
  projectDataLeft(id: number): Promise<{ events: number; issues: number }>;
  /** Deletes a project and all its data now (the CLI's `project delete`; the dashboard uses the chunks). */
  deleteProject(id: number): Promise<void>;

  /** `role` defaults to admin (a token made before roles existed could do everything). */
  createApiToken(label: string, role?: Role): Promise<{ token: string; id: number }>;
  verifyApiToken(token: string): Promise<boolean>;
  /** The token's label and role, its last use noted; null for an unknown or revoked token. */
  findApiToken(token: string, now: number): Promise<ApiTokenSummary | null>;
  listApiTokens(): Promise<ApiTokenSummary[]>;
  /** False when there was no such token. */
  revokeApiToken(id: number): Promise<boolean>;
  /** Creates the user, or sets the password (and the role, when given) of an existing one. */
  addUser(login: string, passwordHash: string, role?: Role): Promise<void>;
  getUser(login: string): Promise<{ login: string; passwordHash: string; role: Role } | null>;
  listUsers(): Promise<UserSummary[]>;
  /** Removes the user and ends their sessions; false when there was none. */
  removeUser(login: string): Promise<boolean>;
  setUserRole(login: string, role: Role): Promise<boolean>;
  /** Sets a new password and ends the user's sessions; false when there is no such user. */
  setUserPassword(login: string, passwordHash: string): Promise<boolean>;
  /** Every dashboard login, sorted (the assignee choices). */
  userLogins(): Promise<string[]>;
  /** Links a dashboard user to a Telegram account (numeric id or @username; null unlinks). False: no such user. */
  setUserTelegram(login: string, account: string | null): Promise<boolean>;
  /** The dashboard login linked to this Telegram account, if any. */
  loginForTelegram(account: { id: number | string; username?: string | null }): Promise<string | null>;

  // ── dashboard (web) ───────────────────────────────────────────────────────

  /** Dashboard sessions live server-side so a restart keeps users logged in and logout is real. */
  createSession(session: WebSession): Promise<void>;
  getSession(idHash: string): Promise<WebSession | null>;
  extendSession(idHash: string, expiresAt: number): Promise<void>;
  deleteSession(idHash: string): Promise<void>;
  deleteExpiredSessions(now: number): Promise<number>;
  /**
   * Counts one login attempt for `keyHash` and returns the count in its window, in ONE atomic
   * statement, so concurrent attempts (from any process sharing the database) each get their own
   * number. A window lasts `windowMs` from its first attempt; the attempt that brings the count to
   * `maxAttempts` restarts it, so a lock lasts `windowMs` after the last attempt let through.
   */
  countLoginAttempt(keyHash: string, now: number, windowMs: number, maxAttempts: number): Promise<{ attempts: number; windowStart: number }>;
  clearLoginAttempts(keyHash: string): Promise<void>;
  /** Deletes counts whose window started before `before`. */
  pruneLoginAttempts(before: number): Promise<number>;
  /** listIssues plus the filters and the sort the dashboard's saved views need. */
  searchIssues(search: IssueSearch): Promise<IssueSearchResult>;
  /** Issues per status (of one project, or all). */
  issueStatusCounts(projectId?: number): Promise<Record<IssueStatus, number>>;
  /**
   * Folds the pending status deltas (migration 030) into the totals and drops totals of zero;
   * answers how many deltas it folded (0 when another process is folding: it never waits). The
   * counts read the same before and after: folding only keeps the deltas few (the digest loop
   * folds at most once a second, the retention job every 10 minutes).
   */
  compactIssueStatusCounts(): Promise<number>;
  /** Events per hour (hour = ms / 3,600,000, floored) of each issue since `sinceHour`. */
  issueHourlyCounts(issueIds: number[], sinceHour: number): Promise<Map<number, HourlyCount[]>>;
  /**
   * The tags an issue's events carried (environment and release included), per key its values
   * most frequent first. Reads at most `valuesPerKey` values of a key, so a tag with a value per
   * event (a request id) costs the same as any other; `truncated` says there were more.
   */
  issueTags(issueId: number, valuesPerKey?: number): Promise<IssueTagSummary[]>;
  /** Releases most recently first seen. */
  listReleases(projectId: number | undefined, limit: number): Promise<{ projectId: number; version: string; firstSeen: number }[]>;
  countRawItems(kind: string, projectId?: number): Promise<number>;
  /** Free-form per-project settings the Project model does not carry yet (e.g. `alert_chat_id`). */
  getProjectSettings(projectId: number): Promise<Record<string, string>>;
  setProjectSetting(projectId: number, key: string, value: string | null): Promise<void>;
}

/** One `discarded_events` entry of a Sentry client report. */
export interface ClientDiscard {
  reason: string;
  category: string;
  quantity: number;
}

export interface ClientDiscardTotal extends ClientDiscard {
  projectId: number;
  /** When it was first and last reported (ms). */
  firstAt: number;
  lastAt: number;
}

/** A logged-in dashboard user. Only the SHA-256 of the cookie value is stored. */
export interface WebSession {
  idHash: string;
  login: string;
  /** The synchronizer token every form of this session must send back. */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export interface IssueSearch extends IssueFilter {
  /** At least this many events in total. */
  minEvents?: number;
  /** Assigned to this dashboard login. */
  assignee?: string;
  /** No GitHub issue linked yet. */
  untracked?: boolean;
  /** Last HTTP status within [from, to]. */
  httpStatus?: { from: number; to: number };
  /** Only issues with events since this time (ms), sorted by how many; `recentCounts` has the numbers. */
  eventsSince?: number;
  /**
   * Count at most this many matches (the dashboard: countBoundFor, its page's end plus 1,000);
   * more reads as `total` = countUpTo with `totalIsLowerBound`. Without it the count is exact.
   */
  countUpTo?: number;
}

export interface IssueSearchResult {
  issues: Issue[];
  /** Every match, or at least this many when `totalIsLowerBound` (the search's `countUpTo`). */
  total: number;
  totalIsLowerBound: boolean;
  /** Events since `eventsSince` per issue on the page. */
  recentCounts: Map<number, number>;
}

export interface HourlyCount {
  hour: number;
  count: number;
}

export interface IssueTagSummary {
  key: string;
  values: { value: string; count: number; lastSeen: number }[];
  truncated: boolean;
}

import type { SentryEventPayload, TelegramContext } from '@botpulse/protocol';

export type IssueStatus = 'new' | 'in_progress' | 'resolved' | 'ignored';
export const ISSUE_STATUSES: readonly IssueStatus[] = ['new', 'in_progress', 'resolved', 'ignored'];

export interface LinkTemplate {
  /** What the link is for, shown as its label: `user`, `generation`... */
  name: string;
  /** URL with `{user.id}`, `{tags.gen_request_id}`, `{telegram.chat_id}` placeholders. */
  url: string;
}

export interface Project {
  id: number;
  slug: string;
  name: string;
  publicKey: string;
  shortIdPrefix: string;
  linkTemplates: LinkTemplate[];
  groupingVersion: number;
  createdAt: number;
  /** The key before the last rotation: still accepted until `previousKeyExpiresAt` (ms). */
  previousPublicKey: string | null;
  previousKeyExpiresAt: number | null;
  /** Set when deletion started: ingestion refuses the project while its data is removed. */
  deletingAt: number | null;
}

/**
 * Whether a DSN key authenticates for the project at `now`: its key, or the key before the last
 * rotation during its grace period. A project being deleted accepts none.
 */
export function projectAcceptsKey(project: Project, key: string, now: number): boolean {
  if (project.deletingAt !== null) return false;
  if (key === project.publicKey) return true;
  return project.previousPublicKey !== null && key === project.previousPublicKey && (project.previousKeyExpiresAt ?? 0) > now;
}

/** The short-id prefix rule, the same in the API, the CLI and the dashboard. */
export const SHORT_ID_PREFIX = /^[A-Za-z]{1,6}$/;
export const SHORT_ID_PREFIX_RULE = 'the short-id prefix must be 1 to 6 letters (A–Z), e.g. PAY';

/**
 * Who may do what (dashboard users and API tokens alike): an admin manages projects, users,
 * tokens, rules and monitors; a member also triages issues; a viewer changes nothing.
 */
export type Role = 'admin' | 'member' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'member', 'viewer'];
const ROLE_RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2 };
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}
export function asRole(value: unknown): Role {
  return ROLES.includes(value as Role) ? (value as Role) : 'viewer';
}

export interface UserSummary {
  login: string;
  role: Role;
  createdAt: number;
}

export interface ApiTokenSummary {
  id: number;
  label: string;
  role: Role;
  createdAt: number;
  /** Rounded to the minute: the store writes it at most once a minute per token. */
  lastUsedAt: number | null;
}

export interface Issue {
  id: number;
  projectId: number;
  shortId: string;
  groupingVersion: number;
  fingerprint: string;
  title: string;
  culprit: string | null;
  level: Level;
  status: IssueStatus;
  origin: string | null;
  firstSeen: number;
  lastSeen: number;
  eventCount: number;
  userCount: number;
  firstRelease: string | null;
  lastRelease: string | null;
  resolvedAt: number | null;
  resolvedInRelease: string | null;
  /** Set when a resolved issue recurred; cleared when it is resolved again. */
  regressed: boolean;
  ignoreUntil: number | null;
  /** Ignore until the event count reaches this number. */
  ignoreUntilCount: number | null;
  githubUrl: string | null;
  /** The linked GitHub issue's number (docs/github.md). */
  githubNumber: number | null;
  httpStatus: number | null;
  /** The dashboard login the issue is assigned to. */
  assignee: string | null;
  /**
   * Resolved "in the next release": events from releases first seen before `resolvedAt` do not
   * reopen it, a release first seen after does (the release is not known when resolving).
   */
  resolvedInNextRelease: boolean;
}

/** A release with what happened in it (the releases page). */
export interface ReleaseSummary {
  version: string;
  firstSeen: number;
  /** Issues first seen in this release. */
  newIssues: number;
  /** Issues that came back (regressed) with an event of this release. */
  regressions: number;
  /** Issues whose latest event is from this release and that are not resolved. */
  openIssues: number;
}

/** An attachment with its bytes (for download). */
export interface StoredAttachment {
  filename: string;
  contentType: string | null;
  size: number;
  data: Buffer;
}

/** Who did something to an issue (docs/issues.md, "History"). */
export type ActorKind = 'user' | 'telegram' | 'token' | 'cli' | 'github' | 'system';
export interface Actor {
  kind: ActorKind;
  /** The login, Telegram name, token label, GitHub login; `botpulse` for the system. */
  name: string;
}
export const SYSTEM_ACTOR: Actor = { kind: 'system', name: 'botpulse' };

export type HistoryAction = 'resolved' | 'reopened' | 'in_progress' | 'ignored' | 'regressed' | 'unignored' | 'assigned' | 'unassigned' | 'acknowledged' | 'note' | 'linked';
export interface IssueHistoryEntry {
  id: number;
  issueId: number;
  at: number;
  actor: Actor;
  action: HistoryAction;
  /** Per action: `release`, `until`, `forEvents`, `assignee`, `text`, `url`... */
  detail: Record<string, unknown>;
}

export interface StoredEvent {
  id: number;
  eventId: string;
  projectId: number;
  issueId: number;
  timestamp: number;
  receivedAt: number;
  level: Level;
  environment: string | null;
  release: string | null;
  origin: string | null;
  title: string;
  message: string | null;
  userKey: string | null;
  tags: Record<string, string>;
  /** The scrubbed Sentry payload, decompressed. */
  payload: NormalizedEvent['payload'];
  attachments: { filename: string; contentType: string | null; size: number }[];
}

/** What the digest learnt about an issue from one batch; the alert rules read these. */
export interface IssueChange {
  issue: Issue;
  /** The issue did not exist before this batch. */
  created: boolean;
  /** A resolved issue recurred (release-aware). */
  regressed: boolean;
  /** The release of the event that made it recur (when it had one). */
  regressedIn?: string | null;
  /** An ignored issue's condition ended. */
  unignored: boolean;
  /** Events added to the issue in this batch. */
  newEvents: number;
  lastEvent: NormalizedEvent;
}

/** Levels Botpulse stores. Sentry's `fatal` is shown as "critical" in the product (seed 000). */
export type Level = 'fatal' | 'error' | 'warning' | 'info' | 'debug';

/** Request facts kept per event (seed 004's ErrorLog fields). */
export interface RequestInfo {
  method: string | null;
  url: string | null;
  /** The route pattern: numbers/ids in the path replaced, so `/users/42` → `/users/<int>`. */
  urlPattern: string | null;
  statusCode: number | null;
  ip: string | null;
  userAgent: string | null;
}

/**
 * One event after scrubbing and normalisation: what the store writes and what grouping and the
 * rules read. `payload` is the scrubbed Sentry event, kept whole (compressed) for the dashboard.
 */
export interface NormalizedEvent {
  /** 32 lowercase hex characters. */
  eventId: string;
  /** When the SDK says the event happened (ms since epoch), clamped to a sane window. */
  timestamp: number;
  level: Level;
  platform: string | null;
  environment: string | null;
  release: string | null;
  serverName: string | null;
  transaction: string | null;
  /** Where it came from: webhook, handler, worker, miniapp, http, scheduler... (tag `origin`). */
  origin: string | null;
  /** One line: `Type: value` or the message's first line; at most 200 characters. */
  title: string;
  /** Where: the crashing in-app frame (`module in function`) or the transaction. */
  culprit: string | null;
  message: string | null;
  exceptionType: string | null;
  exceptionValue: string | null;
  /** Identifies the affected user for the "users affected" count (Telegram user id first). */
  userKey: string | null;
  telegram: TelegramContext | null;
  request: RequestInfo | null;
  /** Flattened string tags, keys and values capped at 200 characters. */
  tags: Record<string, string>;
  payload: SentryEventPayload;
}

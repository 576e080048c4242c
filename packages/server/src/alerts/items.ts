import type { Issue, IssueStatus, Level, Project, StoredEvent } from '../store/model.js';
import type { AlertReason, AlertState, AlertTier, OutboxBody } from '../store/alerts.js';
import type { Store } from '../store/store.js';
import { FORBIDDEN_FINGERPRINT } from '../logs/rules.js';

/**
 * What one alert says, frozen when the message is built (and stored with the sent message, so a
 * button press can re-render it with the issue's new state). Channel formatters read only this.
 */
export type AlertItem = IssueAlertItem | ProjectAlertItem | MonitorAlertItem;

export interface AlertProject {
  id: number;
  slug: string;
  name: string;
}

export interface IssueAlertItem {
  kind: 'issue';
  tier: AlertTier;
  reasons: AlertReason[];
  project: AlertProject;
  issueId: number;
  shortId: string;
  title: string;
  culprit: string | null;
  level: Level;
  status: IssueStatus;
  environment: string | null;
  release: string | null;
  /** Since the last message about this issue (or since it began, for the first). */
  eventsSince: number;
  usersSince: number;
  totalEvents: number;
  totalUsers: number;
  firstSeen: number;
  lastSeen: number;
  /** A few in-app frames, innermost first. */
  frames: AlertFrame[];
  telegram: { chatId: string | null; userId: string | null; username: string | null; updateType: string | null } | null;
  url: string;
  /**
   * The issue's GitHub issue (docs/github.md): its number and URL once linked; `offer` when the
   * project has GitHub set up, so the message offers a button to create one. Absent in items
   * stored by earlier versions.
   */
  github?: { number: number | null; url: string | null; offer: boolean };
  /**
   * A log-born issue (a forbidden log pattern, docs/logs.md): the pattern, so the message names it
   * and counts matching lines instead of events and users. Absent for other issues and in items
   * stored by earlier versions.
   */
  log?: { pattern: string; matched?: number };
}

/** Creates GitHub issues for the alert bot's button; main.ts hands in the GitHub integration (docs/github.md). */
export interface IssueTracker {
  /** Whether the project has a repository and token, and its link is not disabled. */
  offers(projectId: number): Promise<boolean>;
  /** Queues the creation (or answers the existing link); throws a ClientError saying why not. */
  create(issue: Issue, by: string): Promise<{ state: string; number: number | null; url: string | null }>;
}

export interface ProjectAlertItem {
  kind: 'project';
  tier: AlertTier;
  reasons: AlertReason[];
  project: AlertProject;
  /** Events in the window that fired the project-wide frequency rule. */
  events: number;
  windowMs: number;
  url: string;
}

/**
 * A monitor notification (down, deaf, recovered, conflict, health check, threshold) forwarded into
 * the outbox by monitors/notify.ts: its text was written when the monitor flipped, so the
 * formatters show it as it is. It has no buttons and no cooldown of its own.
 */
export interface MonitorAlertItem {
  kind: 'monitor';
  /** critical for a failure, alert for a recovery (never repeated: see docs/monitors.md). */
  tier: AlertTier;
  project: AlertProject;
  /** Telegram HTML, already escaped (monitors/format.ts). */
  text: string;
  /** The notification's JSON (`kind`: down, recovered, uptime_down… and what it is about). */
  payload: Record<string, unknown>;
  monitorId: number | null;
  /** `monitor_notifications.id`: the same notification sent to several targets has one id. */
  notificationId: number;
  url?: string;
}

export interface AlertFrame {
  location: string;
  code: string | null;
}

const MAX_FRAMES = 5;

/** The dashboard's issue page (web/routes/issues.ts: GET /issues/:id). */
export function issueUrl(publicUrl: string, issueId: number): string {
  return `${publicUrl}/issues/${issueId}`;
}

export function projectUrl(publicUrl: string, project: Pick<Project, 'slug'>): string {
  return `${publicUrl}/issues?project=${encodeURIComponent(project.slug)}`;
}

/** The dashboard's monitors page, at the monitor when there is one (web/routes/monitors.ts). */
export function monitorUrl(publicUrl: string, monitorId: number | null): string {
  return monitorId === null ? `${publicUrl}/monitors` : `${publicUrl}/monitors#monitor-${monitorId}`;
}

/** A forwarded monitor notification's item, from its outbox row's body. */
export function monitorItem(project: AlertProject, tier: AlertTier, body: OutboxBody, publicUrl: string): MonitorAlertItem {
  return {
    kind: 'monitor',
    tier,
    project,
    // The body was written by monitors/format.ts; a row stored by another version is shown as far as it can be.
    text: typeof body.text === 'string' ? body.text : '',
    payload: isRecord(body.payload) ? body.payload : {},
    monitorId: body.monitorId,
    notificationId: body.notificationId,
    url: monitorUrl(publicUrl, body.monitorId),
  };
}

export interface IssueItemOptions {
  /** The latest event could not be read (corrupt payload): the item is built without its details. */
  onUnreadableEvent?: (err: unknown) => void;
  /** Offer a button that creates the issue's GitHub issue (when it has none). */
  offerGithub?: boolean;
}

/**
 * Builds an issue's item from the store: the issue now, its latest event, the counts since the
 * last message. Total over any stored event: events stored by earlier versions (before the
 * digest normalised shapes) may hold any JSON where a string or a list is expected, so every value
 * read from one is checked for its type and clipped, and anything else is left out.
 */
export async function issueItem(
  store: Pick<Store, 'getIssue' | 'latestEvent'>,
  project: AlertProject,
  issueId: number,
  state: AlertState | null,
  tier: AlertTier,
  reasons: AlertReason[],
  publicUrl: string,
  options: IssueItemOptions = {},
): Promise<IssueAlertItem | null> {
  const issue = await store.getIssue(issueId);
  if (!issue) return null;
  let event: StoredEvent | null = null;
  try {
    event = await store.latestEvent(issueId);
  } catch (err) {
    options.onUnreadableEvent?.(err);
  }
  return {
    kind: 'issue',
    tier,
    reasons,
    project,
    issueId,
    shortId: text(issue.shortId, 40) ?? String(issueId),
    title: text(issue.title, MAX_TEXT) ?? '<untitled>',
    culprit: text(issue.culprit, MAX_TEXT),
    level: issue.level,
    status: issue.status,
    environment: text(event?.environment, MAX_FIELD),
    release: text(event?.release, MAX_FIELD) ?? text(issue.lastRelease, MAX_FIELD),
    eventsSince: Math.max(0, issue.eventCount - (state?.eventsAtLast ?? 0)),
    usersSince: Math.max(0, issue.userCount - (state?.usersAtLast ?? 0)),
    totalEvents: issue.eventCount,
    totalUsers: issue.userCount,
    firstSeen: issue.firstSeen,
    lastSeen: issue.lastSeen,
    frames: event ? inAppFrames(event.payload) : [],
    telegram: event ? telegramOf(event.payload) : null,
    url: issueUrl(publicUrl, issueId),
    github: { number: issue.githubNumber, url: issue.githubUrl, offer: options.offerGithub === true },
    ...logOf(event),
  };
}

/** The forbidden pattern a log-born issue's event carries in its fingerprint (logs/evaluator.ts forbiddenEvent). */
function logOf(event: StoredEvent | null): { log: { pattern: string } } | Record<string, never> {
  const fingerprint = (event?.payload as { fingerprint?: unknown } | undefined)?.fingerprint;
  if (!Array.isArray(fingerprint) || fingerprint[0] !== FORBIDDEN_FINGERPRINT) return {};
  const pattern = text(fingerprint[1], MAX_TEXT);
  return pattern ? { log: { pattern } } : {};
}

/** The same item with the issue's current status (after a button press). */
export function withStatus(item: IssueAlertItem, issue: Pick<Issue, 'status'>): IssueAlertItem {
  return { ...item, status: issue.status };
}

/** Longest title or culprit an item carries (Telegram shows 300 at most; the webhook stays small). */
const MAX_TEXT = 1_000;
/** Longest environment, release, frame location or code line an item carries. */
const MAX_FIELD = 300;

/** A string (or a finite number, as text) cut to `max` characters; null for anything else. */
function text(value: unknown, max: number): string | null {
  const s = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
  if (s === null || s === '') return null;
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The exceptions of a payload, outermost last, as Sentry sends them (`values`, or a bare list from old SDKs). */
function exceptionsOf(payload: unknown): Record<string, unknown>[] {
  const ex = isRecord(payload) ? payload.exception : undefined;
  const values = Array.isArray(ex) ? ex : isRecord(ex) ? ex.values : undefined;
  return Array.isArray(values) ? values.filter(isRecord) : [];
}

function framesOf(exception: Record<string, unknown>): Record<string, unknown>[] {
  const stacktrace = exception.stacktrace;
  const frames = isRecord(stacktrace) ? stacktrace.frames : undefined;
  return Array.isArray(frames) ? frames.filter(isRecord) : [];
}

/** In-app frames of the outermost exception chain, innermost (the crash) first. */
export function inAppFrames(payload: unknown): AlertFrame[] {
  const frames: Record<string, unknown>[] = [];
  for (const ex of exceptionsOf(payload).reverse()) frames.push(...framesOf(ex).reverse());
  const inApp = frames.filter((f) => f.in_app === true);
  return (inApp.length ? inApp : frames).slice(0, MAX_FRAMES).map((f) => {
    const line = typeof f.lineno === 'number' && Number.isFinite(f.lineno) && f.lineno > 0 ? `:${f.lineno}` : '';
    const where = text(f.filename, MAX_FIELD) ?? text(f.module, MAX_FIELD) ?? text(f.abs_path, MAX_FIELD) ?? '?';
    return {
      location: `${text(f.function, MAX_FIELD) ?? '?'} (${where}${line})`,
      code: typeof f.context_line === 'string' ? text(f.context_line.trim(), MAX_FIELD) : null,
    };
  });
}

function telegramOf(payload: unknown): IssueAlertItem['telegram'] {
  const contexts = isRecord(payload) ? payload.contexts : undefined;
  const tg = isRecord(contexts) ? contexts.telegram : undefined;
  if (!isRecord(tg)) return null;
  return { chatId: text(tg.chat_id, 64), userId: text(tg.user_id, 64), username: text(tg.username, 64), updateType: text(tg.update_type, 64) };
}

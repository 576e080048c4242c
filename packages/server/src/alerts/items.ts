import type { SentryEvent, SentryException, SentryStackFrame } from '@botpulse/protocol';
import type { Level } from '../digest/types.js';
import type { AlertReason, AlertState, AlertTier, OutboxBody } from '../store/alerts.js';
import type { Issue, IssueStatus, Project, StoredEvent } from '../store/model.js';
import type { Store } from '../store/store.js';

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
    text: body.text,
    payload: body.payload,
    monitorId: body.monitorId,
    notificationId: body.notificationId,
    url: monitorUrl(publicUrl, body.monitorId),
  };
}

/** Builds an issue's item from the store: the issue now, its latest event, the counts since the last message. */
export async function issueItem(
  store: Pick<Store, 'getIssue' | 'latestEvent'>,
  project: AlertProject,
  issueId: number,
  state: AlertState | null,
  tier: AlertTier,
  reasons: AlertReason[],
  publicUrl: string,
): Promise<IssueAlertItem | null> {
  const issue = await store.getIssue(issueId);
  if (!issue) return null;
  const event = await store.latestEvent(issueId);
  return {
    kind: 'issue',
    tier,
    reasons,
    project,
    issueId,
    shortId: issue.shortId,
    title: issue.title,
    culprit: issue.culprit,
    level: issue.level,
    status: issue.status,
    environment: event?.environment ?? null,
    release: event?.release ?? issue.lastRelease,
    eventsSince: Math.max(0, issue.eventCount - (state?.eventsAtLast ?? 0)),
    usersSince: Math.max(0, issue.userCount - (state?.usersAtLast ?? 0)),
    totalEvents: issue.eventCount,
    totalUsers: issue.userCount,
    firstSeen: issue.firstSeen,
    lastSeen: issue.lastSeen,
    frames: event ? inAppFrames(event.payload) : [],
    telegram: event ? telegramOf(event) : null,
    url: issueUrl(publicUrl, issueId),
  };
}

/** The same item with the issue's current status (after a button press). */
export function withStatus(item: IssueAlertItem, issue: Pick<Issue, 'status'>): IssueAlertItem {
  return { ...item, status: issue.status };
}

function exceptionsOf(payload: SentryEvent): SentryException[] {
  const ex = payload.exception;
  if (!ex) return [];
  return Array.isArray(ex) ? ex : (ex.values ?? []);
}

/** In-app frames of the outermost exception chain, innermost (the crash) first. */
export function inAppFrames(payload: SentryEvent): AlertFrame[] {
  const frames: SentryStackFrame[] = [];
  for (const ex of exceptionsOf(payload).slice().reverse()) frames.push(...(ex.stacktrace?.frames ?? []).slice().reverse());
  const inApp = frames.filter((f) => f.in_app === true);
  return (inApp.length ? inApp : frames).slice(0, MAX_FRAMES).map((f) => ({
    location: `${f.function ?? '?'} (${f.filename ?? f.module ?? f.abs_path ?? '?'}${f.lineno ? `:${f.lineno}` : ''})`,
    code: typeof f.context_line === 'string' ? f.context_line.trim() : null,
  }));
}

function telegramOf(event: StoredEvent): IssueAlertItem['telegram'] {
  const tg = (event.payload.contexts?.telegram ?? null) as Record<string, unknown> | null;
  if (!tg) return null;
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : null);
  return { chatId: str(tg.chat_id), userId: str(tg.user_id), username: str(tg.username), updateType: str(tg.update_type) };
}

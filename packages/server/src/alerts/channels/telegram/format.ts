import type { MessageAction } from '../../../store/alerts.js';
import type { AlertItem, IssueAlertItem, MonitorAlertItem, ProjectAlertItem } from '../../items.js';

/**
 * Alert messages in Telegram HTML. Every piece of text is truncated *before* it is escaped (so a
 * cut never lands inside `&amp;` or a tag) and the whole message is kept under Telegram's 4096
 * characters as counted after entity parsing, dropping stack lines first, then shortening titles.
 * A monitor notification's text is HTML already (monitors/format.ts, one complete tag set per
 * line): it is shown as it is, or by its first line when the message must shrink.
 */

export const TELEGRAM_TEXT_LIMIT = 4096;
/** Headroom under the limit: Telegram trims and counts in UTF-16 units, as JS strings do. */
const BUDGET = 4000;

export interface InlineButton {
  text: string;
  callback_data: string;
}

export interface TelegramMessage {
  text: string;
  reply_markup: { inline_keyboard: InlineButton[][] };
}

export type ButtonAction = 'ack' | 'res' | 'm1h' | 'm24h' | 'reo' | 'gh';

/**
 * Items are built with strings where strings belong (items.ts), but a message stored for ChatOps
 * by an earlier version is re-rendered as it was stored: the two text helpers take anything, so
 * a value of the wrong type shows as text (or nothing) instead of failing the message.
 */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

export function escapeHtml(value: string): string {
  const text = asText(value);
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Cuts to at most `max` UTF-16 units without splitting a surrogate pair, marking the cut with an ellipsis. */
export function clip(value: string, max: number): string {
  const text = asText(value);
  if (text.length <= max) return text;
  if (max <= 1) return '…'.slice(0, max);
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** The text Telegram will count: tags removed, the four entities we emit decoded. */
export function visibleLength(html: string): number {
  return html.replace(/<[^>]*>/g, '').replace(/&(lt|gt|amp|quot);/g, '_').trim().length;
}

/** `bp:<action>:<issue id>` — well under the 64-byte limit of callback_data. */
export function callbackData(action: ButtonAction, issueId: number): string {
  return `bp:${action}:${issueId}`;
}

export function parseCallbackData(data: string): { action: ButtonAction; issueId: number } | null {
  const m = /^bp:(ack|res|m1h|m24h|reo|gh):(\d+)$/.exec(data);
  return m ? { action: m[1] as ButtonAction, issueId: Number(m[2]) } : null;
}

interface Budget {
  titleMax: number;
  frames: number;
  codeMax: number;
}

const BUDGETS: Budget[] = [
  { titleMax: 300, frames: 5, codeMax: 120 },
  { titleMax: 300, frames: 3, codeMax: 80 },
  { titleMax: 200, frames: 1, codeMax: 60 },
  { titleMax: 120, frames: 0, codeMax: 0 },
  { titleMax: 60, frames: 0, codeMax: 0 },
];

/** An alert message (one item, or several of one project grouped), with its buttons. */
export function formatAlert(items: AlertItem[], actions: MessageAction[] = []): TelegramMessage {
  let text = '';
  for (const budget of BUDGETS) {
    text = items.length === 1 ? single(items[0]!, budget, actions) : grouped(items, budget, actions);
    if (visibleLength(text) <= BUDGET) break;
  }
  if (visibleLength(text) > BUDGET) text = hardCut(items);
  return { text, reply_markup: { inline_keyboard: keyboard(items) } };
}

function single(item: AlertItem, budget: Budget, actions: MessageAction[]): string {
  if (item.kind === 'project') return projectBlock(item);
  if (item.kind === 'monitor') return monitorBlock(item, budget);
  const lines = [
    header(item),
    `<b>${escapeHtml(clip(item.title, budget.titleMax))}</b>`,
    facts(item),
    counts(item),
    where(item, 150),
    stack(item, budget),
    telegramLine(item),
    githubLine(item),
    `<a href="${escapeHtml(item.url)}">Open in dashboard</a>`,
    ...stateLines(item, actions),
  ];
  return lines.filter((l): l is string => Boolean(l)).join('\n');
}

function grouped(items: AlertItem[], budget: Budget, actions: MessageAction[]): string {
  const first = items[0]!;
  const perItemTitle = Math.max(40, Math.floor(budget.titleMax / Math.max(1, items.length / 3)));
  const head = `${tierMark(highest(items))} <b>${items.length} alerts</b> · ${escapeHtml(clip(first.project.name, 80))}`;
  const blocks = items.map((item) => {
    if (item.kind === 'project') return projectBlock(item);
    if (item.kind === 'monitor') return monitorBlock(item, budget);
    return [
      `${tierMark(item.tier)} <code>${escapeHtml(item.shortId)}</code> ${reasonText(item.reasons)} · <a href="${escapeHtml(item.url)}">open</a>`,
      `<b>${escapeHtml(clip(item.title, Math.min(perItemTitle, budget.titleMax)))}</b>`,
      counts(item),
      budget.frames > 0 ? where(item, 100) : null,
      ...stateLines(item, actions.filter((a) => a.issueId === item.issueId)),
    ]
      .filter(Boolean)
      .join('\n');
  });
  return [head, ...blocks].join('\n\n');
}

/** Last resort (many grouped items): one short line each, as many as fit. */
function hardCut(items: AlertItem[]): string {
  const lines: string[] = [];
  for (const i of items) {
    const line =
      i.kind === 'issue' ? `${tierMark(i.tier)} <code>${escapeHtml(i.shortId)}</code> ${escapeHtml(clip(i.title, 40))}` : i.kind === 'monitor' ? monitorHeadline(i) : projectBlock(i);
    if (visibleLength([...lines, line].join('\n')) > BUDGET) break;
    lines.push(line);
  }
  return lines.join('\n');
}

function header(item: IssueAlertItem): string {
  return `${tierMark(item.tier)} <b>${tierName(item.tier)}</b> · ${reasonText(item.reasons)} · <code>${escapeHtml(item.shortId)}</code>`;
}

function facts(item: IssueAlertItem): string {
  const parts = [`${escapeHtml(clip(item.project.name, 80))}`];
  if (item.environment) parts.push(`env <code>${escapeHtml(clip(item.environment, 60))}</code>`);
  if (item.release) parts.push(`release <code>${escapeHtml(clip(item.release, 80))}</code>`);
  parts.push(`level ${item.level === 'fatal' ? 'critical' : item.level}`);
  return parts.join(' · ');
}

/** The culprit, or for a log-born issue the forbidden pattern its lines matched. */
function where(item: IssueAlertItem, max: number): string | null {
  if (item.log) return `forbidden log pattern: <code>${escapeHtml(clip(item.log.pattern, max))}</code>`;
  return item.culprit ? `in <code>${escapeHtml(clip(item.culprit, max))}</code>` : null;
}

function counts(item: IssueAlertItem): string {
  if (item.log) {
    // Each matching line is one event of the issue (users mean nothing for log lines), up to 60
    // a minute per pattern; past that the rule's state counts them (`matched`), so the issue's
    // counts are a floor: said as "at least".
    const total = Math.max(item.totalEvents, item.log.matched ?? 0);
    const capped = total > item.totalEvents;
    const lines = `${capped ? 'at least ' : ''}${item.eventsSince} matching line${item.eventsSince === 1 ? '' : 's'}`;
    return item.reasons.includes('new') && item.eventsSince === total ? lines : `${lines} since the last message (${total} in total)`;
  }
  const events = `${item.eventsSince} event${item.eventsSince === 1 ? '' : 's'}`;
  const users = `${item.usersSince} user${item.usersSince === 1 ? '' : 's'}`;
  const since = item.reasons.includes('new') && item.eventsSince === item.totalEvents ? '' : ` since the last message (${item.totalEvents} in total)`;
  return `${events} · ${users}${since}`;
}

function stack(item: IssueAlertItem, budget: Budget): string | null {
  const frames = item.frames.slice(0, budget.frames);
  if (!frames.length) return null;
  const lines = frames.flatMap((f) => [`at ${clip(f.location, 140)}`, ...(f.code && budget.codeMax ? [`    ${clip(f.code, budget.codeMax)}`] : [])]);
  return `<pre>${escapeHtml(lines.join('\n'))}</pre>`;
}

function telegramLine(item: IssueAlertItem): string | null {
  const tg = item.telegram;
  if (!tg || (!tg.chatId && !tg.userId)) return null;
  const parts: string[] = [];
  if (tg.chatId) parts.push(`chat <code>${escapeHtml(clip(tg.chatId, 40))}</code>`);
  if (tg.userId) parts.push(`user <code>${escapeHtml(clip(tg.userId, 40))}</code>${tg.username ? ` @${escapeHtml(clip(tg.username, 40))}` : ''}`);
  if (tg.updateType) parts.push(escapeHtml(clip(tg.updateType, 40)));
  return `Telegram: ${parts.join(' · ')}`;
}

/** `GitHub: #12`, linked, once the issue has its GitHub issue (docs/github.md). */
function githubLine(item: IssueAlertItem): string | null {
  const gh = item.github;
  if (!gh || typeof gh.url !== 'string' || !/^https?:\/\//.test(gh.url)) return null;
  const label = typeof gh.number === 'number' ? `#${gh.number}` : 'issue';
  return `GitHub: <a href="${escapeHtml(gh.url)}">${label}</a>`;
}

function projectBlock(item: ProjectAlertItem): string {
  const minutes = Math.round(item.windowMs / 60_000);
  return [
    `${tierMark(item.tier)} <b>${tierName(item.tier)}</b> · error rate · ${escapeHtml(clip(item.project.name, 80))}`,
    `${item.events} events in the last ${minutes >= 1 ? `${minutes} min` : `${Math.round(item.windowMs / 1000)} s`}`,
    `<a href="${escapeHtml(item.url)}">Open in dashboard</a>`,
  ].join('\n');
}

/**
 * A monitor notification as the monitors wrote it. Under the tighter budgets (long grouped
 * messages) only its first line (what, which bot, which monitor) and a link are kept: every line
 * of those texts is complete HTML, so dropping lines never breaks a tag.
 */
function monitorBlock(item: MonitorAlertItem, budget: Budget): string {
  if (budget.frames > 0) return item.text;
  const link = item.url ? ` · <a href="${escapeHtml(item.url)}">open</a>` : '';
  return `${monitorHeadline(item)}${link}`;
}

function monitorHeadline(item: MonitorAlertItem): string {
  return item.text.split('\n', 1)[0] ?? '';
}

const STATUS_TEXT: Record<string, string> = { ack: '👀 Acknowledged', res: '✅ Resolved', m1h: '🔕 Muted for 1 h', m24h: '🔕 Muted for 24 h', reo: '↩️ Reopened', gh: '🐙 GitHub issue requested' };

/** "✅ Resolved by @alice at 12:34 UTC": the latest button press on this issue. */
function stateLines(item: IssueAlertItem, actions: MessageAction[]): string[] {
  const mine = actions.filter((a) => a.issueId === item.issueId);
  const last = mine[mine.length - 1];
  if (!last) return [];
  const at = Number.isFinite(last.at) && Math.abs(last.at) < 8.64e15 ? new Date(last.at).toISOString().slice(11, 16) : '?';
  return [`${STATUS_TEXT[last.action] ?? escapeHtml(last.action)} by ${escapeHtml(clip(last.by, 64))} at ${at} UTC`];
}

function keyboard(items: AlertItem[]): InlineButton[][] {
  const issues = items.filter((i): i is IssueAlertItem => i.kind === 'issue');
  if (issues.length === 1) return singleKeyboard(issues[0]!);
  return issues.map((item) => compactRow(item));
}

function singleKeyboard(item: IssueAlertItem): InlineButton[][] {
  const b = (text: string, action: ButtonAction) => ({ text, callback_data: callbackData(action, item.issueId) });
  if (item.status === 'resolved') return [[b('↩️ Reopen', 'reo')]];
  if (item.status === 'ignored') return [[b('🔔 Unmute', 'reo'), b('✅ Resolve', 'res')]];
  const first = item.status === 'in_progress' ? [b('✅ Resolve', 'res')] : [b('👀 Acknowledge', 'ack'), b('✅ Resolve', 'res')];
  const rows = [first, [b('🔕 Mute 1 h', 'm1h'), b('🔕 Mute 24 h', 'm24h')]];
  if (item.github?.offer && !item.github.url) rows.push([b('🐙 Create GitHub issue', 'gh')]);
  return rows;
}

function compactRow(item: IssueAlertItem): InlineButton[] {
  const b = (text: string, action: ButtonAction) => ({ text: `${text} ${item.shortId}`, callback_data: callbackData(action, item.issueId) });
  if (item.status === 'resolved' || item.status === 'ignored') return [b('↩️', 'reo')];
  const row = [b('✅', 'res'), b('🔕 1h', 'm1h')];
  return item.status === 'in_progress' ? row : [b('👀', 'ack'), ...row];
}

function tierMark(tier: string): string {
  return tier === 'critical' ? '🔴' : tier === 'alert' ? '🟠' : '🟡';
}

function tierName(tier: string): string {
  return tier === 'critical' ? 'CRITICAL' : tier === 'alert' ? 'Alert' : 'Warning';
}

function highest(items: AlertItem[]): string {
  return items.some((i) => i.tier === 'critical') ? 'critical' : 'alert';
}

const REASON_TEXT: Record<string, string> = {
  new: 'New issue',
  regression: 'Regression',
  unignored: 'Back after mute',
  level: 'Critical level',
  frequency: 'High frequency',
  project_frequency: 'Error rate',
  repeat: 'Still unacknowledged',
  monitor: 'Monitor',
};

function reasonText(reasons: string[]): string {
  const shown = reasons.filter((r) => !(r === 'level' && reasons.includes('new')));
  return escapeHtml(shown.map((r) => REASON_TEXT[r] ?? r).join(', ') || 'Alert');
}

/** What ChatOps stores with a message to re-render it: an alert, or a `/issues` list. */
export interface StoredRender {
  layout: 'alert' | 'list';
  items: AlertItem[];
}

export function render(stored: StoredRender, actions: MessageAction[]): TelegramMessage {
  return stored.layout === 'list' ? formatIssueList(stored.items, actions) : formatAlert(stored.items, actions);
}

/** `/issues`: the top open issues, one line each, with a row of buttons per issue. */
export function formatIssueList(items: AlertItem[], actions: MessageAction[] = [], now = Date.now()): TelegramMessage {
  const issues = items.filter((i): i is IssueAlertItem => i.kind === 'issue');
  if (!issues.length) return { text: '🎉 No open issues.', reply_markup: { inline_keyboard: [] } };
  const lines = issues.map((item, n) =>
    [
      `${n + 1}. <code>${escapeHtml(item.shortId)}</code> <b>${escapeHtml(clip(item.title, 150))}</b>`,
      `    ${item.totalEvents} events · ${item.totalUsers} users · last ${ago(item.lastSeen, now)} · ${escapeHtml(clip(item.project.name, 60))} · <a href="${escapeHtml(item.url)}">open</a>`,
      ...stateLines(item, actions).map((l) => `    ${l}`),
    ].join('\n'),
  );
  const text = [`<b>Top open issues</b>`, ...lines].join('\n');
  return { text: visibleLength(text) <= BUDGET ? text : hardCut(issues), reply_markup: { inline_keyboard: issues.map(compactRow) } };
}

export function ago(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129_600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** The plain-text test message of `botpulse test-alert`. */
export function formatTestMessage(publicUrl: string): string {
  return `✅ <b>Botpulse test alert</b>\nAlerts from ${escapeHtml(publicUrl)} reach this chat.`;
}

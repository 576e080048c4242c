import { readableTime } from '../lib/readable-time.js';
import type { Monitor } from '../store/monitors.js';
import type { SignalEvent } from './signals.js';

/** Telegram HTML for monitor notifications. Every value is escaped; texts stay far below 4096 characters. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** 1 h 5 m, 3 m 20 s, 45 s. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h} h ${m} m`;
  if (m) return `${m} m ${sec} s`;
  return `${sec} s`;
}

export interface Who {
  project: string;
  slug: string;
  /** The environment whose state changed (each environment alerts on its own); absent: not tied to one. */
  environment?: string | null;
}

function title(icon: string, what: string, who: Who): string {
  const env = who.environment ? ` (${escapeHtml(who.environment)})` : '';
  return `${icon} <b>${escapeHtml(what)}</b>: ${escapeHtml(who.project)} · <code>${escapeHtml(who.slug)}</code>${env}`;
}

/** `now`: when the alert is written, for "(5 min ago)" beside the last heartbeat. */
export function downText(who: Who, m: Pick<Monitor, 'lastPingAt' | 'periodMs' | 'graceMs'>, reason: string, url: string, now: number): string {
  const last = m.lastPingAt ? readableTime(m.lastPingAt, now) : 'never';
  return [title('🔴', 'Bot down', who), escapeHtml(reason), `Last heartbeat: ${last}`, `Expected every ${humanDuration(m.periodMs)} (+${humanDuration(m.graceMs)} grace)`, url].join('\n');
}

export function deafText(who: Who, reason: string, url: string): string {
  return [title('🙉', 'Bot deaf', who), 'The process is alive but its getUpdates is not working.', escapeHtml(reason), url].join('\n');
}

export function recoveredText(who: Who, downtimeMs: number, url: string): string {
  return [title('🟢', 'Bot recovered', who), `Down for ${humanDuration(downtimeMs)}.`, url].join('\n');
}

export function uptimeDownText(who: Who, target: string, failures: number, error: string, url: string): string {
  return [title('🔴', 'Health check failing', who), `${escapeHtml(target)} failed ${failures} times in a row: ${escapeHtml(error)}`, url].join('\n');
}

export function uptimeUpText(who: Who, target: string, downtimeMs: number, url: string): string {
  return [title('🟢', 'Health check OK', who), `${escapeHtml(target)} answers again after ${humanDuration(downtimeMs)}.`, url].join('\n');
}

export function conflictText(who: Who, holder: string, streakMs: number, url: string): string {
  return [
    title('⚠️', 'Polling conflict', who),
    `getUpdates has answered 409 Conflict for ${humanDuration(streakMs)}: two processes poll one token (longer than a deploy overlap).`,
    `Lock holder: ${escapeHtml(holder)}`,
    url,
  ].join('\n');
}

export function thresholdText(who: Pick<Who, 'project'>, firing: boolean, description: string, url: string): string {
  const head = `${firing ? '📈' : '✅'} <b>${firing ? 'Threshold exceeded' : 'Threshold back to normal'}</b>: ${escapeHtml(who.project)}`;
  return [head, escapeHtml(description), url].join('\n');
}

const SIGNAL_TITLES: Record<SignalEvent['kind'], [string, string]> = {
  webhook_failing: ['📭', 'Webhook failing'],
  webhook_ok: ['🟢', 'Webhook delivering again'],
  update_lag: ['🐢', 'Updates late'],
  update_lag_ok: ['🟢', 'Updates on time again'],
  throttled: ['🚦', 'Telegram throttling the bot'],
  throttled_ok: ['🟢', 'Telegram throttling over'],
};

/** A bot signal's alert or recovery (webhook health, update lag, 429s): what the bot itself saw. */
export function signalText(who: Who, e: SignalEvent, url: string): string {
  const [icon, what] = SIGNAL_TITLES[e.kind];
  const lasted = e.lastedMs !== undefined && e.lastedMs > 0 ? [`It lasted ${humanDuration(e.lastedMs)}.`] : [];
  return [title(icon, what, who), escapeHtml(e.detail), ...lasted, url].join('\n');
}

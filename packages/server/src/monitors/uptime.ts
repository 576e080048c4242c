import type { Flip, MonitorStatus, MonitorStore } from '../store/monitors.js';

/**
 * Uptime and the error budget of a monitor (docs/monitors.md, "Uptime and error budget"), read
 * from its state history (`monitor_flips`). Only time the monitor was watched counts: a state
 * that is `new` (before the monitor existed or before its first ping) or `paused` is neither up
 * nor down. `late` is still up (the grace period has not run out); `down` is down. A monitor with
 * several environments is down while any of them is down.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const UPTIME_WINDOWS = { '24h': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS } as const;
/** The window the error budget is counted over. */
export const BUDGET_WINDOW_MS = UPTIME_WINDOWS['30d'];

export interface UptimeFigure {
  /** Up time over watched time, in percent; null when the monitor was not watched at all in the window. */
  percent: number | null;
  /** Time the monitor was watched (not new, not paused). */
  countedMs: number;
  downMs: number;
}

export interface ErrorBudget {
  targetPercent: number;
  windowDays: number;
  /** Downtime the target allows over the watched part of the window. */
  allowedMs: number;
  usedMs: number;
  /** allowed − used; negative when the budget is overspent. */
  leftMs: number;
  /** Share of the budget left, in percent (negative when overspent; with nothing allowed: 100 if nothing was used, else 0). */
  leftPercent: number;
}

export interface MonitorUptime {
  uptime24h: UptimeFigure;
  uptime7d: UptimeFigure;
  uptime30d: UptimeFigure;
  errorBudget: ErrorBudget;
}

const WATCHED = new Set<MonitorStatus>(['up', 'late', 'down']);

/**
 * Watched and down time in [from, to). `flips` oldest first, as `flipsForUptime` returns them: an
 * environment's status before its first flip in the list is `new` (it did not exist, or nothing
 * had been heard yet), so time before the monitor existed never counts.
 */
export function uptimeBetween(flips: Flip[], from: number, to: number): UptimeFigure {
  const status = new Map<string, MonitorStatus>();
  let countedMs = 0;
  let downMs = 0;
  let cursor = from;
  const advance = (until: number) => {
    const span = Math.min(until, to) - cursor;
    if (span <= 0) return;
    const now = [...status.values()];
    if (now.some((s) => WATCHED.has(s))) countedMs += span;
    if (now.includes('down')) downMs += span;
    cursor = Math.min(until, to);
  };
  for (const f of flips) {
    if (f.at > from) advance(f.at);
    if (f.at >= to) break;
    status.set(f.environment ?? '', f.to);
  }
  advance(to);
  return { percent: countedMs > 0 ? ((countedMs - downMs) / countedMs) * 100 : null, countedMs, downMs };
}

/** The budget the target allows over the watched time of the window, against the downtime in it. */
export function errorBudget(window: UptimeFigure, targetPercent: number, windowMs: number = BUDGET_WINDOW_MS): ErrorBudget {
  const allowedMs = Math.round(window.countedMs * (1 - targetPercent / 100));
  const leftMs = allowedMs - window.downMs;
  const leftPercent = allowedMs > 0 ? (leftMs / allowedMs) * 100 : window.downMs > 0 ? 0 : 100;
  return { targetPercent, windowDays: windowMs / DAY_MS, allowedMs, usedMs: window.downMs, leftMs, leftPercent };
}

/** 24 h / 7 d / 30 d uptime and the 30-day error budget of a monitor, from one read of its history. */
export async function monitorUptime(store: Pick<MonitorStore, 'flipsForUptime'>, monitorId: number, now: number, targetPercent: number): Promise<MonitorUptime> {
  const flips = await store.flipsForUptime(monitorId, now - BUDGET_WINDOW_MS);
  const over = (ms: number) => uptimeBetween(flips, now - ms, now);
  const uptime30d = over(UPTIME_WINDOWS['30d']);
  return { uptime24h: over(UPTIME_WINDOWS['24h']), uptime7d: over(UPTIME_WINDOWS['7d']), uptime30d, errorBudget: errorBudget(uptime30d, targetPercent) };
}

/** Floored, so 99.996 % never shows as 100 %; "–" when the monitor was not watched in the window. */
export function percentText(p: number | null): string {
  if (p === null) return '–';
  if (p >= 100) return '100 %';
  return `${(Math.floor(p * 100) / 100).toFixed(2)} %`;
}

import { Cron } from 'croner';
import type { Monitor } from '../store/monitors.js';

/**
 * When the next ping is due. Interval monitors: one period after this ping. Cron monitors: the
 * next match of the schedule in the monitor's time zone (so "0 9 * * *" in Europe/Moscow is 09:00
 * there across DST changes), as Healthchecks and Sentry Crons do. Schedules are read by croner:
 * 5 fields, names (`MON`, `JAN`), macros (`@daily`, `@hourly`...), `L` for the last day; day of
 * month and day of week combine with OR when both are restricted, as in cron.
 */
export function nextExpectedAt(m: Pick<Monitor, 'periodMs' | 'schedule' | 'timezone'>, after: number): number {
  if (!m.schedule) return after + m.periodMs;
  // A schedule stored before schedules were checked may never match: fall back to the period.
  return nextCronMatch(m.schedule, after, m.timezone ?? 'UTC') ?? after + m.periodMs;
}

const MAX_CACHED = 1000;
/** Parsed schedules by pattern and time zone: a beat computes its deadline without parsing again. */
const parsed = new Map<string, Cron | null>();

/** A parsed schedule, or null when it can never run (an impossible date such as 31 April). Throws on a schedule it cannot read. */
function cronOf(expression: string, timeZone: string): Cron | null {
  const key = `${timeZone}\u0000${expression}`;
  const hit = parsed.get(key);
  if (hit !== undefined) return hit;
  const cron = new Cron(expression.trim(), { mode: '5-part', timezone: timeZone, paused: true });
  const result = cron.nextRun(new Date()) === null ? null : cron;
  if (parsed.size >= MAX_CACHED) parsed.clear();
  parsed.set(key, result);
  return result;
}

/** The first match strictly after `after` (ms), or null if the schedule never matches. */
export function nextCronMatch(expression: string, after: number, timeZone: string): number | null {
  let cron: Cron | null;
  try {
    cron = cronOf(expression, timeZone);
  } catch {
    return null;
  }
  return cron?.nextRun(new Date(after))?.getTime() ?? null;
}

/**
 * Checks a schedule where a monitor is defined (API, config file, a check-in's monitor_config):
 * the reason it cannot be used, or null. Refuses what croner cannot read, anything but 5 fields
 * or a macro, an unknown time zone, and a schedule that never runs (`0 0 31 4 *`, `0 0 30 2 *`).
 */
export function scheduleProblem(expression: string, timeZone: string | null = null): string | null {
  if (timeZone && !validTimeZone(timeZone)) return `unknown time zone "${timeZone}" (use an IANA name like Europe/Moscow)`;
  let cron: Cron | null;
  try {
    cron = cronOf(expression, timeZone ?? 'UTC');
  } catch (err) {
    return `cron "${expression}" cannot be read: ${(err as Error).message.replace(/^CronPattern: /, '')} (use 5 fields "minute hour day month weekday", names like MON or JAN, or @hourly/@daily/@weekly/@monthly/@yearly)`;
  }
  if (!cron) return `cron "${expression}" never runs (no such date, e.g. 31 April or 30 February)`;
  return null;
}

export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

import type { MonitorSettings } from '../store/monitors.js';
import { scheduleProblem, validTimeZone } from './schedule.js';
import { ownEntry } from '../lib/own-entry.js';

/**
 * What a Sentry `check_in` item (or a plain ping) names, read as Sentry reads it, so a bot that
 * moves from Sentry keeps its monitors: the slug, the environment, and the monitor_config upsert.
 */

/** Relay keeps the first 50 characters of a slug (relay-monitors `trim_slug`); Sentry's monitors keep 50 too. */
export const SLUG_MAX = 50;
/** The environment a check-in without one belongs to (Sentry's default). */
export const DEFAULT_ENVIRONMENT = 'production';
/** Sentry's limit on environment names. */
const ENVIRONMENT_MAX = 64;
/** Slugs of monitors made before slugs were slugified (the API and old check-ins allowed these). */
const LEGACY_SLUG = /^[\w.-]{1,100}$/;

/**
 * The slug a monitor is keyed by: Relay trims to 50 characters, then Sentry slugifies (Django's
 * `slugify`: accents folded to ASCII, anything but letters, digits, `_`, `-` and spaces removed,
 * lower case, runs of spaces and hyphens made one hyphen) and keeps 50 characters without
 * hyphens at the ends. `Nightly Backup Job` → `nightly-backup-job`, `billing/daily` →
 * `billingdaily`. Null when nothing is left (an empty slug, only punctuation, not a string).
 */
export function slugify(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const trimmed = [...raw].slice(0, SLUG_MAX).join('');
  const ascii = trimmed.normalize('NFKD').replace(/[^\x00-\x7f]/g, '');
  const slug = ascii
    .toLowerCase()
    .replace(/[^\w\s-]/g, '')
    .replace(/[-\s]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, SLUG_MAX)
    .replace(/^-+|-+$/g, '');
  return slug || null;
}

/**
 * The candidate slugs for a check-in's `monitor_slug`, in the order to look them up: the slug as
 * sent when it is one a monitor made before could have (so `bot.poller` or `MyJob` keep their
 * monitor), then its slugified form, which a new monitor is created under.
 */
export function slugCandidates(raw: unknown): { exact: string | null; slug: string | null } {
  const slug = slugify(raw);
  const exact = typeof raw === 'string' && LEGACY_SLUG.test(raw) && raw !== slug ? raw : null;
  return { exact, slug };
}

/** The check-in's environment (trimmed, at most 64 characters), or Sentry's default. */
export function environmentOf(raw: unknown): string {
  const env = typeof raw === 'string' ? [...raw.trim()].slice(0, ENVIRONMENT_MAX).join('') : '';
  return env || DEFAULT_ENVIRONMENT;
}

const UNIT_MS: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000, month: 2_592_000_000, year: 31_536_000_000 };

/**
 * Sentry's `monitor_config` → our settings (interval or crontab schedule, timezone, checkin_margin
 * as grace, failure/recovery thresholds). `problem` says why the config cannot be used (an
 * impossible or unreadable crontab, an unknown time zone); the settings are then empty.
 */
export function monitorConfigSettings(config: unknown): { settings: Partial<MonitorSettings>; problem: string | null } {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return { settings: {}, problem: null };
  const c = config as Record<string, unknown>;
  const out: Partial<MonitorSettings> = {};
  const schedule = c['schedule'] as Record<string, unknown> | undefined;
  const timezone = typeof c['timezone'] === 'string' && c['timezone'] ? c['timezone'] : null;
  if (timezone && !validTimeZone(timezone)) return { settings: {}, problem: `monitor_config.timezone: unknown time zone "${timezone}"` };
  // A unit this server does not know (a later SDK's) leaves the period as it is, as an unknown
  // schedule type does: refusing would keep a newer client's monitor from being created at all.
  const unitMs = typeof schedule?.['unit'] === 'string' ? ownEntry(UNIT_MS, schedule['unit']) : undefined;
  if (schedule?.['type'] === 'interval' && typeof schedule['value'] === 'number' && unitMs !== undefined) {
    if (!(schedule['value'] > 0)) return { settings: {}, problem: `monitor_config.schedule: interval ${schedule['value']} ${schedule['unit']} is not positive` };
    out.periodMs = Math.max(1000, schedule['value'] * unitMs);
    out.schedule = null;
  } else if (schedule?.['type'] === 'crontab' && typeof schedule['value'] === 'string') {
    const problem = scheduleProblem(schedule['value'], timezone);
    if (problem) return { settings: {}, problem: `monitor_config.schedule: ${problem}` };
    out.schedule = schedule['value'];
  }
  if (timezone) out.timezone = timezone;
  if (typeof c['checkin_margin'] === 'number' && c['checkin_margin'] >= 0) out.graceMs = Math.max(1000, c['checkin_margin'] * 60_000);
  if (typeof c['failure_issue_threshold'] === 'number') out.failureThreshold = Math.min(100, Math.max(1, Math.floor(c['failure_issue_threshold'])));
  if (typeof c['recovery_threshold'] === 'number') out.recoveryThreshold = Math.min(100, Math.max(1, Math.floor(c['recovery_threshold'])));
  return { settings: out, problem: null };
}

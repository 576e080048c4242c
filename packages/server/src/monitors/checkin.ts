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

/** What `monitorConfigSettings` read from a check-in's `monitor_config`. */
export interface MonitorConfigReading {
  settings: Partial<MonitorSettings>;
  /** Why the config cannot be used at all (the settings are then empty), or null. */
  problem: string | null;
  /**
   * Parts present but unreadable (an interval unit or schedule type this server does not know, a
   * margin or threshold that is not a number): left out, the rest applied. The caller counts and
   * logs them, so a later SDK's field that changes nothing here is seen, not silently lost.
   */
  ignored: string[];
}

/**
 * Sentry's `monitor_config` → our settings (interval or crontab schedule, timezone, checkin_margin
 * as grace, failure/recovery thresholds). `problem` says why the config cannot be used (an
 * impossible or unreadable crontab, an unknown time zone); the settings are then empty.
 */
export function monitorConfigSettings(config: unknown): MonitorConfigReading {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return { settings: {}, problem: null, ignored: [] };
  const c = config as Record<string, unknown>;
  const timezone = typeof c['timezone'] === 'string' && c['timezone'] ? c['timezone'] : null;
  if (timezone && !validTimeZone(timezone)) return { settings: {}, problem: `monitor_config.timezone: unknown time zone "${timezone}"`, ignored: [] };
  const ignored: string[] = [];
  const schedule = readSchedule(c['schedule'], timezone, ignored);
  if ('problem' in schedule) return { settings: {}, problem: schedule.problem, ignored: [] };
  const out: Partial<MonitorSettings> = schedule.settings;
  if (timezone) out.timezone = timezone;
  const margin = readNumber(c, 'checkin_margin', ignored, (n) => n >= 0);
  if (margin !== undefined) out.graceMs = Math.max(1000, margin * 60_000);
  const failures = readNumber(c, 'failure_issue_threshold', ignored);
  if (failures !== undefined) out.failureThreshold = clampThreshold(failures);
  const recoveries = readNumber(c, 'recovery_threshold', ignored);
  if (recoveries !== undefined) out.recoveryThreshold = clampThreshold(recoveries);
  return { settings: out, problem: null, ignored };
}

/**
 * The schedule part: an interval (value × unit) or a crontab. A unit or type this server does not
 * know (a later SDK's) leaves the period as it is and is noted in `ignored`: refusing would keep a
 * newer client's monitor from being created at all.
 */
function readSchedule(raw: unknown, timezone: string | null, ignored: string[]): { settings: Partial<MonitorSettings> } | { problem: string } {
  if (raw === undefined || raw === null) return { settings: {} };
  const schedule = (typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  const { type, value, unit } = schedule;
  if (type === 'interval' && typeof value === 'number') {
    const unitMs = typeof unit === 'string' ? ownEntry(UNIT_MS, unit) : undefined;
    if (unitMs === undefined) {
      ignored.push(`monitor_config.schedule.unit ${describe(unit)} is no interval unit this server knows (${Object.keys(UNIT_MS).join(', ')})`);
      return { settings: {} };
    }
    if (!(value > 0)) return { problem: `monitor_config.schedule: interval ${value} ${unit as string} is not positive` };
    return { settings: { periodMs: Math.max(1000, value * unitMs), schedule: null } };
  }
  if (type === 'crontab' && typeof value === 'string') {
    const problem = scheduleProblem(value, timezone);
    return problem ? { problem: `monitor_config.schedule: ${problem}` } : { settings: { schedule: value } };
  }
  ignored.push(`monitor_config.schedule of type ${describe(type)} with value ${describe(value)} is no interval or crontab this server reads`);
  return { settings: {} };
}

/** A numeric field: absent → undefined; present but no usable number → undefined, noted in `ignored`. */
function readNumber(c: Record<string, unknown>, key: string, ignored: string[], usable: (n: number) => boolean = () => true): number | undefined {
  const value = c[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && usable(value)) return value;
  ignored.push(`monitor_config.${key} ${describe(value)} is not a usable number`);
  return undefined;
}

function clampThreshold(n: number): number {
  return Math.min(100, Math.max(1, Math.floor(n)));
}

/** A value, shortened, for a log line (check-in fields are client input: never whole). */
function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : value === undefined ? 'missing' : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

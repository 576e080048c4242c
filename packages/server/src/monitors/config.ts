import { z } from 'zod';
import { declaredMonitorsJson, type MonitorDefinition } from './definition.js';

/**
 * Monitor settings: the zod pieces config/schema.ts spreads in (like the alert keys) and the typed
 * MonitorConfig config/load.ts builds from them. Durations are seconds and take decimals, so tests
 * and benchmarks can run a "5 minute" rule in seconds.
 */
const seconds = (max: number) => z.coerce.number().positive().max(max);
const thresholdSpec = (valueIsDuration: boolean) =>
  z.string().refine(
    (text) => {
      try {
        parseThreshold(text, '', valueIsDuration);
        return true;
      } catch {
        return false;
      }
    },
    valueIsDuration ? 'use DURATION/DURATION (e.g. 1s/5m) or off' : 'use NUMBER/DURATION (e.g. 10/10m) or off',
  );

export const monitorConfigKeys = {
  BOTPULSE_MONITOR_TICK_SECONDS: seconds(60).default(1),
  BOTPULSE_MONITOR_PERIOD_SECONDS: seconds(31 * 86_400).default(60),
  BOTPULSE_MONITOR_GRACE_SECONDS: seconds(31 * 86_400).default(240),
  BOTPULSE_DEAF_AFTER_POLLS: z.coerce.number().int().min(1).max(100).default(3),
  BOTPULSE_LOCK_CONFLICT_ALERT_SECONDS: seconds(86_400).default(90),
  BOTPULSE_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').optional(),
  BOTPULSE_PROBE_INTERVAL_SECONDS: seconds(86_400).default(60),
  BOTPULSE_PROBE_TIMEOUT_SECONDS: seconds(600).default(10),
  BOTPULSE_PROBE_FAILURES: z.coerce.number().int().min(1).max(100).default(3),
  BOTPULSE_THRESHOLD_LATENCY: thresholdSpec(true).default('1s/5m'),
  BOTPULSE_THRESHOLD_ERRORS: thresholdSpec(false).default('10/10m'),
  BOTPULSE_THRESHOLD_QUEUE: thresholdSpec(false).default('80/5m'),
  BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: z.coerce.number().min(0).max(86_400).default(60),
  BOTPULSE_THRESHOLD_UPDATE_LAG: thresholdSpec(true).default('60s/5m'),
  BOTPULSE_THRESHOLD_THROTTLE: thresholdSpec(true).default('30s/3m'),
  BOTPULSE_WEBHOOK_ERROR_RECENT_SECONDS: seconds(86_400).default(600),
  BOTPULSE_METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  BOTPULSE_MONITORS: declaredMonitorsJson.prefault(''),
  BOTPULSE_CHECKIN_MONITOR_LIMIT: z.coerce.number().int().min(0).max(1_000_000).default(100),
  BOTPULSE_UPTIME_TARGET_PERCENT: z.coerce.number().min(0).max(100).default(99.5),
};

const monitorObject = z.object(monitorConfigKeys);
type Raw = z.output<typeof monitorObject>;

/** `value/for` pairs: "p95 above value for that long" (latency, queue) or "more than value within that window" (errors). */
export interface ThresholdRule {
  value: number;
  forMs: number;
}

/** The settings the monitors read (a slice of config/load.ts Config). */
export interface MonitoringSettings {
  readonly monitors: MonitorConfig;
  /** The base of links in notifications, without a trailing slash. */
  readonly publicUrl: string;
}

export interface MonitorConfig {
  tickMs: number;
  periodMs: number;
  graceMs: number;
  deafAfterPolls: number;
  conflictAlertMs: number;
  redisUrl: string | null;
  probe: { intervalMs: number; timeoutMs: number; failures: number };
  thresholds: {
    latencyP95: ThresholdRule | null;
    errors: ThresholdRule | null;
    queueDepth: ThresholdRule | null;
    heartbeatAgeMs: number | null;
    /** Bot signals (SDK check-ins): p95 update lag of a minute above `value` ms, for `forMs` (per monitor: updateLagSeconds/Minutes). */
    updateLag: ThresholdRule | null;
    /** Bot signals: retry_after of 429 answers summing to at least `value` ms in each minute, for `forMs`. */
    throttle: ThresholdRule | null;
    /** Bot signals: a getWebhookInfo last_error_date at most this old (with updates waiting) is a failing webhook. */
    webhookErrorRecentMs: number;
  };
  metricsToken: string | null;
  /** BOTPULSE_MONITORS: monitors declared per project slug, applied at every start (monitors/declared.ts). */
  declared: Record<string, MonitorDefinition[]>;
  /** Most monitors check-ins and pings may create per project (API and config monitors are not counted). */
  checkInMonitorLimit: number;
  /** The availability target the 30-day error budget is counted against (seed 002: 99.5 %). */
  uptimeTargetPercent: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function durationMs(text: string, key: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`${key}: "${text}" is not a duration (e.g. 500ms, 1s, 5m)`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** "1s/5m" (latency: value is a duration), "10/10m", "80/5m", or "off". */
export function parseThreshold(text: string, key: string, valueIsDuration = false): ThresholdRule | null {
  if (text.trim() === 'off') return null;
  const [value, window] = text.split('/');
  if (value === undefined || window === undefined) throw new Error(`${key}: "${text}" must look like VALUE/DURATION (e.g. 10/10m) or off`);
  const v = valueIsDuration ? durationMs(value, key) : Number(value);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${key}: "${value}" is not a number`);
  return { value: v, forMs: durationMs(window, key) };
}

export function toMonitorConfig(raw: Raw): MonitorConfig {
  return {
    tickMs: raw.BOTPULSE_MONITOR_TICK_SECONDS * 1000,
    periodMs: raw.BOTPULSE_MONITOR_PERIOD_SECONDS * 1000,
    graceMs: raw.BOTPULSE_MONITOR_GRACE_SECONDS * 1000,
    deafAfterPolls: raw.BOTPULSE_DEAF_AFTER_POLLS,
    conflictAlertMs: raw.BOTPULSE_LOCK_CONFLICT_ALERT_SECONDS * 1000,
    redisUrl: raw.BOTPULSE_REDIS_URL ?? null,
    probe: {
      intervalMs: raw.BOTPULSE_PROBE_INTERVAL_SECONDS * 1000,
      timeoutMs: raw.BOTPULSE_PROBE_TIMEOUT_SECONDS * 1000,
      failures: raw.BOTPULSE_PROBE_FAILURES,
    },
    thresholds: {
      latencyP95: parseThreshold(raw.BOTPULSE_THRESHOLD_LATENCY, 'BOTPULSE_THRESHOLD_LATENCY', true),
      errors: parseThreshold(raw.BOTPULSE_THRESHOLD_ERRORS, 'BOTPULSE_THRESHOLD_ERRORS'),
      queueDepth: parseThreshold(raw.BOTPULSE_THRESHOLD_QUEUE, 'BOTPULSE_THRESHOLD_QUEUE'),
      heartbeatAgeMs: raw.BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS === 0 ? null : raw.BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS * 1000,
      updateLag: parseThreshold(raw.BOTPULSE_THRESHOLD_UPDATE_LAG, 'BOTPULSE_THRESHOLD_UPDATE_LAG', true),
      throttle: parseThreshold(raw.BOTPULSE_THRESHOLD_THROTTLE, 'BOTPULSE_THRESHOLD_THROTTLE', true),
      webhookErrorRecentMs: raw.BOTPULSE_WEBHOOK_ERROR_RECENT_SECONDS * 1000,
    },
    metricsToken: raw.BOTPULSE_METRICS_TOKEN ?? null,
    declared: raw.BOTPULSE_MONITORS,
    checkInMonitorLimit: raw.BOTPULSE_CHECKIN_MONITOR_LIMIT,
    uptimeTargetPercent: raw.BOTPULSE_UPTIME_TARGET_PERCENT,
  };
}

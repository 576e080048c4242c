import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { toAlertConfig, type AlertConfig } from '../alerts/config.js';
import { toLogConfig, type LogConfig } from '../logs/config.js';
import { toMonitorConfig, type MonitorConfig } from '../monitors/config.js';
import { toUpstreamConfig, type UpstreamConfig } from '../upstream/config.js';
import { toGithubConfig, type GithubConfig } from '../github/config.js';
import { ConfigError } from '../lib/errors.js';
import { DatabaseUrl, type DatabaseConfig } from '../lib/database-url.js';
import { compileUserRegex, UserRegexError, type UserRegex } from '../lib/user-regex.js';
import { configSchema, CONFIG_KEYS, type RawConfig } from './schema.js';

/** The configuration every part of the server reads; built once at start and frozen. */
export interface Config {
  host: string;
  port: number;
  /** Public base URL used in DSNs and links, without a trailing slash. */
  publicUrl: string;
  dataDir: string;
  /** The SQLite file (also where per-machine files sit beside it, whatever `database` says). */
  databaseFile: string;
  /** Which database holds the data: SQLite (default) or PostgreSQL (BOTPULSE_DATABASE_URL). */
  database: DatabaseConfig;
  logLevel: RawConfig['BOTPULSE_LOG_LEVEL'];
  limits: {
    maxBodyBytes: number;
    maxDecompressedBytes: number;
    /** All request bodies held at once, after decompression (ingest/body-budget.ts). */
    maxBodyBytesInFlight: number;
    maxEventBytes: number;
    maxAttachmentBytes: number;
  };
  backlogLimit: number;
  digestBatch: number;
  /** Spool flushes waiting for their commits at once (BOTPULSE_SPOOL_FLUSHES); unset: the store's default (stores.ts spoolFlushesFor). */
  spoolFlushes: number | undefined;
  rawItemRetentionHours: number;
  /** After a DSN key rotation, how long the old key is still accepted (ms). */
  dsnKeyGraceMs: number;
  retentionDays: number;
  /** Per-issue caps: the first and latest events an issue over its cap keeps (store/issue-caps.ts). */
  issueCaps: { keepFirst: number; keepLatest: number };
  scrub: { extraKeys: string[]; extraPatterns: UserRegex[] };
  /** Alert rules, channels and noise control (docs/alerts.md). */
  alerts: AlertConfig;
  /** Heartbeats, uptime probes, thresholds, /metrics (docs/monitors.md). */
  monitors: MonitorConfig;
  /** Log lines: retention, the NDJSON endpoint's caps, the log rules (docs/logs.md). */
  logs: LogConfig;
  /** Forwarding to an upstream Sentry (docs/upstream.md). */
  upstream: UpstreamConfig;
  /** GitHub issues in step with Botpulse issues (docs/github.md). */
  github: GithubConfig;
}

export { ConfigError };

/**
 * Reads configuration from `env` (and the JSON file named by BOTPULSE_CONFIG, which env overrides).
 * A key K may also be given as K_FILE, a path whose content is the value (for secrets).
 * Throws ConfigError naming every bad key and what to fix.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const merged: Record<string, string | undefined> = { ...readConfigFile(env.BOTPULSE_CONFIG) };
  for (const key of CONFIG_KEYS) {
    const fromFile = env[`${key}_FILE`];
    if (fromFile) merged[key] = readFileSync(fromFile, 'utf8').trim();
    else if (env[key] !== undefined && env[key] !== '') merged[key] = env[key];
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${problems.join('\n')}\nSee docs/configuration.md.`);
  }
  return Object.freeze(toConfig(parsed.data));
}

function readConfigFile(path: string | undefined): Record<string, string> {
  if (!path) return {};
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read BOTPULSE_CONFIG file ${path}: ${(err as Error).message}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`BOTPULSE_CONFIG file ${path} must hold a JSON object of KEY: value`);
  }
  const unknown = Object.keys(data).filter((k) => !(CONFIG_KEYS as string[]).includes(k));
  if (unknown.length) throw new ConfigError(`unknown keys in ${path}: ${unknown.join(', ')}`);
  // Structured keys (BOTPULSE_ALERT_RULES, BOTPULSE_MONITORS) may be written as JSON in the file.
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)]));
}

function toConfig(raw: RawConfig): Config {
  const dataDir = resolve(raw.BOTPULSE_DATA_DIR);
  const displayHost = raw.BOTPULSE_HOST === '0.0.0.0' || raw.BOTPULSE_HOST === '::' ? 'localhost' : raw.BOTPULSE_HOST;
  return {
    host: raw.BOTPULSE_HOST,
    port: raw.BOTPULSE_PORT,
    publicUrl: (raw.BOTPULSE_URL ?? `http://${displayHost}:${raw.BOTPULSE_PORT}`).replace(/\/+$/, ''),
    dataDir,
    databaseFile: resolve(dataDir, 'botpulse.db'),
    database: databaseConfig(raw, resolve(dataDir, 'botpulse.db')),
    logLevel: raw.BOTPULSE_LOG_LEVEL,
    limits: {
      maxBodyBytes: raw.BOTPULSE_MAX_BODY_BYTES,
      maxDecompressedBytes: raw.BOTPULSE_MAX_DECOMPRESSED_BYTES,
      maxBodyBytesInFlight: bodyBudget(raw),
      maxEventBytes: raw.BOTPULSE_MAX_EVENT_BYTES,
      maxAttachmentBytes: raw.BOTPULSE_MAX_ATTACHMENT_BYTES,
    },
    backlogLimit: raw.BOTPULSE_BACKLOG_LIMIT,
    digestBatch: raw.BOTPULSE_DIGEST_BATCH,
    spoolFlushes: raw.BOTPULSE_SPOOL_FLUSHES,
    rawItemRetentionHours: raw.BOTPULSE_RAW_ITEM_RETENTION_HOURS,
    dsnKeyGraceMs: raw.BOTPULSE_DSN_KEY_GRACE_HOURS * 3600_000,
    retentionDays: raw.ERROR_LOG_RETENTION_DAYS,
    issueCaps: { keepFirst: raw.BOTPULSE_ISSUE_KEEP_FIRST, keepLatest: raw.BOTPULSE_ISSUE_KEEP_LATEST },
    scrub: {
      extraKeys: splitList(raw.BOTPULSE_SCRUB_EXTRA_KEYS),
      extraPatterns: patternList(raw.BOTPULSE_SCRUB_EXTRA_PATTERNS).map(compilePattern),
    },
    alerts: toAlertConfig(raw),
    monitors: toMonitorConfig(raw),
    logs: toLogConfig(raw),
    upstream: toUpstreamConfig(raw),
    github: toGithubConfig(raw),
  };
}

function databaseConfig(raw: RawConfig, sqliteFile: string): DatabaseConfig {
  if (raw.BOTPULSE_DATABASE_URL === undefined) return { kind: 'sqlite', file: sqliteFile };
  return {
    kind: 'postgres',
    url: new DatabaseUrl(raw.BOTPULSE_DATABASE_URL),
    poolMax: raw.BOTPULSE_DATABASE_POOL_MAX,
    statementTimeoutMs: raw.BOTPULSE_DATABASE_STATEMENT_TIMEOUT_MS,
  };
}

/** The budget must hold one body of the largest size allowed, or such a body could never be accepted. */
function bodyBudget(raw: RawConfig): number {
  const largest = Math.max(raw.BOTPULSE_MAX_BODY_BYTES, raw.BOTPULSE_MAX_DECOMPRESSED_BYTES);
  if (raw.BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT < largest) {
    throw new ConfigError(
      `BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT (${raw.BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT}) must be at least BOTPULSE_MAX_BODY_BYTES and BOTPULSE_MAX_DECOMPRESSED_BYTES (${largest}): a body that large could never be accepted`,
    );
  }
  return raw.BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT;
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Comma-separated, or a JSON array of strings when a pattern itself holds a comma (`\\d{13,16}`
 * would otherwise be cut in two).
 */
function patternList(value: string): string[] {
  if (!value.trim().startsWith('[')) return splitList(value);
  let list: unknown;
  try {
    list = JSON.parse(value);
  } catch (err) {
    throw new ConfigError(`BOTPULSE_SCRUB_EXTRA_PATTERNS: starts with "[" but is not a JSON array: ${(err as Error).message}`);
  }
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) {
    throw new ConfigError('BOTPULSE_SCRUB_EXTRA_PATTERNS: a JSON value must be an array of pattern strings');
  }
  return list.filter(Boolean);
}

/** Linear-time (RE2) or refused at start with the reason: a user pattern must never hang ingestion. */
function compilePattern(source: string): UserRegex {
  try {
    return compileUserRegex(source);
  } catch (err) {
    if (err instanceof UserRegexError) throw new ConfigError(`BOTPULSE_SCRUB_EXTRA_PATTERNS: ${err.message}`);
    throw err;
  }
}

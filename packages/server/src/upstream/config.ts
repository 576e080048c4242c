import { parseDsn, type Dsn } from '@botpulse/protocol';
import { z } from 'zod';
import { ConfigError } from '../lib/errors.js';
import { UPSTREAM_KINDS, type UpstreamProjectSettings } from '../store/upstream.js';

/**
 * Forwarding to an upstream Sentry (docs/upstream.md): the zod pieces config/schema.ts spreads in
 * and the typed UpstreamConfig config/load.ts builds. Durations are seconds and take decimals, so
 * tests and benchmarks can compress an outage of minutes into seconds.
 */
const seconds = (max: number) => z.coerce.number().positive().max(max);

export const upstreamConfigKeys = {
  /** The upstream's DSN; `off` turns forwarding off even when SENTRY_DSN is set. */
  BOTPULSE_UPSTREAM_DSN: z.string().optional(),
  /** Seed 000's variable: used when BOTPULSE_UPSTREAM_DSN is unset. */
  SENTRY_DSN: z.string().optional(),
  BOTPULSE_UPSTREAM_BACKLOG_LIMIT: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
  BOTPULSE_UPSTREAM_BATCH: z.coerce.number().int().min(1).max(1000).default(100),
  BOTPULSE_UPSTREAM_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  BOTPULSE_UPSTREAM_RETRY_MIN_SECONDS: seconds(3600).default(1),
  BOTPULSE_UPSTREAM_RETRY_MAX_SECONDS: seconds(86_400).default(300),
  BOTPULSE_UPSTREAM_TIMEOUT_SECONDS: seconds(600).default(10),
  BOTPULSE_UPSTREAM_POLL_SECONDS: seconds(60).default(0.5),
  BOTPULSE_UPSTREAM_PROJECTS: z.string().default(''),
};

const upstreamObject = z.object(upstreamConfigKeys);
type Raw = z.output<typeof upstreamObject>;

export interface UpstreamConfig {
  /** Null: forwarding is off. */
  dsn: Dsn | null;
  /** Which key gave the DSN (for messages; the DSN itself holds a key and is never logged). */
  dsnSource: 'BOTPULSE_UPSTREAM_DSN' | 'SENTRY_DSN' | null;
  backlogLimit: number;
  batch: number;
  concurrency: number;
  retryMinMs: number;
  retryMaxMs: number;
  timeoutMs: number;
  pollMs: number;
  /** Per-project settings from the config, by slug or numeric id; `*` is the default of the others. */
  projects: Record<string, UpstreamProjectSettings>;
}

/** What a project does when neither the config nor the API says otherwise. */
export const DEFAULT_PROJECT_SETTINGS: Readonly<UpstreamProjectSettings> = Object.freeze({ enabled: true, sampleRate: 1, kinds: ['event'] as UpstreamProjectSettings['kinds'] });

/** A project's settings as written in the config file or the API: every field optional. */
export const projectSettingsInput = z
  .object({
    enabled: z.boolean().optional(),
    sampleRate: z.number().min(0).max(1).optional(),
    kinds: z.array(z.enum(UPSTREAM_KINDS)).optional(),
  })
  .strict();

export function toUpstreamConfig(raw: Raw): UpstreamConfig {
  const { dsn, source } = pickDsn(raw);
  return {
    dsn,
    dsnSource: source,
    backlogLimit: raw.BOTPULSE_UPSTREAM_BACKLOG_LIMIT,
    batch: raw.BOTPULSE_UPSTREAM_BATCH,
    concurrency: raw.BOTPULSE_UPSTREAM_CONCURRENCY,
    retryMinMs: raw.BOTPULSE_UPSTREAM_RETRY_MIN_SECONDS * 1000,
    retryMaxMs: Math.max(raw.BOTPULSE_UPSTREAM_RETRY_MAX_SECONDS, raw.BOTPULSE_UPSTREAM_RETRY_MIN_SECONDS) * 1000,
    timeoutMs: raw.BOTPULSE_UPSTREAM_TIMEOUT_SECONDS * 1000,
    pollMs: raw.BOTPULSE_UPSTREAM_POLL_SECONDS * 1000,
    projects: parseProjects(raw.BOTPULSE_UPSTREAM_PROJECTS),
  };
}

/** BOTPULSE_UPSTREAM_DSN wins; `off` (or `none`, `false`) turns forwarding off whatever SENTRY_DSN says. */
function pickDsn(raw: Raw): { dsn: Dsn | null; source: UpstreamConfig['dsnSource'] } {
  const own = raw.BOTPULSE_UPSTREAM_DSN?.trim();
  if (own !== undefined && own !== '') {
    if (/^(off|none|false)$/i.test(own)) return { dsn: null, source: null };
    return { dsn: parseOrRefuse(own, 'BOTPULSE_UPSTREAM_DSN'), source: 'BOTPULSE_UPSTREAM_DSN' };
  }
  const seed = raw.SENTRY_DSN?.trim();
  if (seed) return { dsn: parseOrRefuse(seed, 'SENTRY_DSN'), source: 'SENTRY_DSN' };
  return { dsn: null, source: null };
}

/** The message never quotes the value: a DSN holds the upstream project's key. */
function parseOrRefuse(value: string, key: string): Dsn {
  try {
    return parseDsn(value);
  } catch (err) {
    const hint = key === 'SENTRY_DSN' ? ' (SENTRY_DSN on the Botpulse server forwards every event to that Sentry; set BOTPULSE_UPSTREAM_DSN=off if it came from a bot\'s .env)' : '';
    throw new ConfigError(`${key}: ${(err as Error).message}${hint}`);
  }
}

function parseProjects(text: string): Record<string, UpstreamProjectSettings> {
  if (!text.trim()) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`BOTPULSE_UPSTREAM_PROJECTS: not JSON: ${(err as Error).message}`);
  }
  const parsed = z.record(z.string(), projectSettingsInput).safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`BOTPULSE_UPSTREAM_PROJECTS: ${problems} (expected {"<project slug or id, or *>": {"enabled": true, "sampleRate": 1, "kinds": ["event"]}})`);
  }
  const base = { ...DEFAULT_PROJECT_SETTINGS, ...stripUndefined(parsed.data['*'] ?? {}) };
  return Object.fromEntries(Object.entries(parsed.data).map(([key, value]) => [key, { ...(key === '*' ? DEFAULT_PROJECT_SETTINGS : base), ...stripUndefined(value) }]));
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

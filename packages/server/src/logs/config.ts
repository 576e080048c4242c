import { z } from 'zod';
import { jsonKey } from '../lib/json-key.js';
import { compileUserRegex, UserRegexError, type UserRegex } from '../lib/user-regex.js';

/**
 * Log settings (docs/logs.md, docs/configuration.md): retention, the NDJSON endpoint's caps, and
 * the log rules. Rules per project: seed 002's lists by default, then BOTPULSE_LOG_RULES for `*`
 * and for the project's slug, then the project's own `log_rules` setting (set through the API).
 */

/** Seed 002 "Forbidden Log Patterns": must never appear in production (critical, at the first line). */
export const DEFAULT_FORBIDDEN = [
  'Decimal.*is not JSON serializable',
  'OID.*out of range',
  'Error handling request',
  'Lock acquisition failed',
  'Queue full',
  'Database connection lost',
  'Webhook timeout',
] as const;

/** Seed 002 "Rate-Limited Log Patterns": fine, but not more than once per 30 s. */
export const DEFAULT_RATE_LIMITED = ['Duplicate update_id', 'Insufficient balance', 'Model not found'] as const;

/** At most `count` matching lines within `windowMs`; above it, one alert, and a recovery when it calms. */
export interface RateRule {
  pattern: string;
  regex: UserRegex;
  count: number;
  windowMs: number;
}

export interface LogRuleSet {
  /**
   * All the forbidden and rate-limited patterns as one RE2 alternation: one pass over a line tells
   * whether any of them can match (most lines match none), where one test per pattern cost five
   * times as much with 60 patterns (docs/logs.md "Throughput"). Null when there are no patterns.
   */
  anyPattern: UserRegex | null;
  forbidden: { pattern: string; regex: UserRegex }[];
  rateLimited: RateRule[];
  /** ERROR and CRITICAL lines: more than `count` within `windowMs` notifies (seed 002: 10 in 10 minutes). */
  errorRate: { count: number; windowMs: number } | null;
}

const MAX_PATTERNS = 100;
const MAX_PATTERN_CHARS = 500;

/** A pattern in RE2 syntax, refused with the reason when RE2 cannot run it (lib/user-regex.ts). */
const patternSpec = z
  .string()
  .min(1)
  .max(MAX_PATTERN_CHARS)
  .superRefine((source, ctx) => {
    try {
      compileUserRegex(source);
    } catch (err) {
      if (err instanceof UserRegexError) ctx.addIssue({ code: 'custom', message: err.message });
      else throw err;
    }
  });

const rateSpec = z.object({
  pattern: patternSpec,
  count: z.number().int().min(1).max(1_000_000).default(1),
  windowSeconds: z.number().min(1).max(86_400).default(30),
}).strict();

/** What BOTPULSE_LOG_RULES (per slug or `*`) and the API (`PUT …/log-rules`) may set. Lists replace the defaults. */
export const logRulesOverrideSchema = z.object({
  /** false: no log rules for the project (lines are still stored). */
  enabled: z.boolean().optional(),
  forbidden: z.array(patternSpec).max(MAX_PATTERNS).optional(),
  rateLimited: z.array(z.union([patternSpec.transform((pattern) => ({ pattern, count: 1, windowSeconds: 30 })), rateSpec])).max(MAX_PATTERNS).optional(),
  /** null turns the error-rate rule off. */
  errorRate: z.object({ count: z.number().int().min(0).max(1_000_000), windowMinutes: z.number().min(1).max(1440) }).strict().nullable().optional(),
}).strict();

export type LogRulesOverride = z.output<typeof logRulesOverrideSchema>;

const mib = 1024 * 1024;

/** The keys `config/schema.ts` spreads in; see docs/configuration.md. */
export const logConfigKeys = {
  BOTPULSE_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
  BOTPULSE_LOG_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1024 * mib).default(1 * mib),
  BOTPULSE_LOG_MAX_DECOMPRESSED_BYTES: z.coerce.number().int().min(1024).max(4096 * mib).default(10 * mib),
  BOTPULSE_LOG_RULES: jsonKey(z.record(z.string(), logRulesOverrideSchema)).prefault(''),
};

type LogKeysOutput = z.output<z.ZodObject<typeof logConfigKeys>>;

export interface LogConfig {
  retentionDays: number;
  limits: { maxBodyBytes: number; maxDecompressedBytes: number };
  /** BOTPULSE_LOG_RULES: per project slug (or `*`), applied over seed 002's defaults. */
  overrides: Record<string, LogRulesOverride>;
}

export function toLogConfig(raw: LogKeysOutput): LogConfig {
  return {
    retentionDays: raw.BOTPULSE_LOG_RETENTION_DAYS,
    limits: { maxBodyBytes: raw.BOTPULSE_LOG_MAX_BODY_BYTES, maxDecompressedBytes: raw.BOTPULSE_LOG_MAX_DECOMPRESSED_BYTES },
    overrides: raw.BOTPULSE_LOG_RULES,
  };
}

/** The rules as plain data (what the API shows and what overrides are applied to). */
export interface LogRulesSpec {
  enabled: boolean;
  forbidden: string[];
  rateLimited: { pattern: string; count: number; windowSeconds: number }[];
  errorRate: { count: number; windowMinutes: number } | null;
}

export const DEFAULT_LOG_RULES: LogRulesSpec = {
  enabled: true,
  forbidden: [...DEFAULT_FORBIDDEN],
  rateLimited: DEFAULT_RATE_LIMITED.map((pattern) => ({ pattern, count: 1, windowSeconds: 30 })),
  errorRate: { count: 10, windowMinutes: 10 },
};

export function applyLogOverride(base: LogRulesSpec, o: LogRulesOverride): LogRulesSpec {
  return {
    enabled: o.enabled ?? base.enabled,
    forbidden: o.forbidden ?? base.forbidden,
    rateLimited: o.rateLimited ?? base.rateLimited,
    errorRate: o.errorRate === undefined ? base.errorRate : o.errorRate,
  };
}

/** The spec a project runs: defaults, `*`, its slug, then its stored override. */
export function resolveLogRules(config: LogConfig, slug: string, stored: LogRulesOverride | null): LogRulesSpec {
  let spec = DEFAULT_LOG_RULES;
  for (const key of ['*', slug]) {
    const override = config.overrides[key];
    if (override) spec = applyLogOverride(spec, override);
  }
  return stored ? applyLogOverride(spec, stored) : spec;
}

/** Compiles a spec (its patterns were validated when it was read); null when the project's log rules are off. */
export function compileLogRules(spec: LogRulesSpec): LogRuleSet | null {
  if (!spec.enabled) return null;
  return {
    anyPattern: alternation([...spec.forbidden, ...spec.rateLimited.map((r) => r.pattern)]),
    forbidden: spec.forbidden.map((pattern) => ({ pattern, regex: compileUserRegex(pattern) })),
    rateLimited: spec.rateLimited.map((r) => ({ pattern: r.pattern, regex: compileUserRegex(r.pattern), count: r.count, windowMs: r.windowSeconds * 1000 })),
    errorRate: spec.errorRate ? { count: spec.errorRate.count, windowMs: spec.errorRate.windowMinutes * 60_000 } : null,
  };
}

/**
 * One RE2 pattern matching where any of `patterns` matches. Each is its own non-capturing group,
 * so a flag group it opens (`(?i)…`) ends with it. Null when there are none, or when the
 * alternation cannot be compiled (each pattern then runs alone, as before).
 */
export function alternation(patterns: string[]): UserRegex | null {
  if (!patterns.length) return null;
  try {
    return compileUserRegex(patterns.map((p) => `(?:${p})`).join('|'));
  } catch {
    return null;
  }
}

/** A stored override, or why it cannot be used (then the configured rules apply). */
export function parseStoredLogRules(text: string | undefined): { rules: LogRulesOverride | null; problem: string | null } {
  if (!text) return { rules: null, problem: null };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { rules: null, problem: `not JSON: ${(err as Error).message}` };
  }
  const parsed = logRulesOverrideSchema.safeParse(json);
  if (parsed.success) return { rules: parsed.data, problem: null };
  return { rules: null, problem: parsed.error.issues.map((i) => `${i.path.join('.') || 'rules'}: ${i.message}`).join('; ') };
}

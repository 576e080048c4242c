import { z } from 'zod';
import { jsonKey } from '../lib/json-key.js';
import type { Level } from '../store/model.js';
import type { AlertTier } from '../store/alerts.js';

/**
 * Alert settings: the zod pieces `config/schema.ts` uses for the alert keys, the typed
 * `AlertConfig` that `config/load.ts` builds from them, and per-project rules (defaults from the
 * keys, overridden by BOTPULSE_ALERT_RULES and by the project's `alert_rules` setting).
 */

export type TierOrOff = AlertTier | 'off';

/** More than `count` events within `windowMs` (seed 002: "more than 10 errors in 10 minutes"). */
export interface FrequencyRule {
  count: number;
  windowMs: number;
  tier: TierOrOff;
}

export interface ProjectRules {
  newIssue: TierOrOff;
  regression: TierOrOff;
  /** An ignored issue whose ignore condition ended. */
  unignored: TierOrOff;
  level: { threshold: Level; tier: TierOrOff };
  /** Per issue. */
  frequency: FrequencyRule;
  /** All events of the project together. */
  projectFrequency: FrequencyRule;
  cooldownMs: number;
  /** Telegram chats; empty: no Telegram alert for this project. */
  chatIds: string[];
  threadId: number | null;
  silent: boolean;
}

export interface AlertConfig {
  telegram: {
    token: string | null;
    apiRoot: string;
    admins: number[];
    /** How the alert bot receives button presses and commands. */
    updates: 'polling' | 'off';
  };
  webhook: { url: string | null; secret: string | null };
  groupWindowMs: number;
  criticalRepeatMs: number;
  retryMaxMs: number;
  /** What a project gets without any setup. */
  defaults: ProjectRules;
  /** BOTPULSE_ALERT_RULES: per project slug (or `*`), applied over the defaults. */
  overrides: Record<string, RulesOverride>;
}

const TIER_OR_OFF = ['warning', 'alert', 'critical', 'off'] as const;
const LEVELS = ['debug', 'info', 'warning', 'error', 'fatal'] as const;

/** `critical` is the product's name for Sentry's `fatal` (seed 000). */
export const levelSpec = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .transform((s) => (s === 'critical' ? 'fatal' : s))
  .pipe(z.enum([...LEVELS, 'off'], { message: 'expected debug, info, warning, error, fatal (or critical) or off' }));

/** `10/10m`: more than 10 events in 10 minutes; `off`. */
export const frequencySpec = z
  .string()
  .trim()
  .transform((s, ctx) => {
    if (s.toLowerCase() === 'off') return null;
    const m = /^(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*(s|m|h)$/i.exec(s);
    if (!m || Number(m[2]) <= 0) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a frequency; use e.g. 10/10m (more than 10 events in 10 minutes) or off` });
      return z.NEVER;
    }
    const unit = { s: 1000, m: 60_000, h: 3_600_000 }[m[3]!.toLowerCase() as 's' | 'm' | 'h'];
    return { count: Number(m[1]), windowMs: Math.round(Number(m[2]) * unit) };
  });

export const chatIdList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^(-?\d+|@\w{5,})$/, 'a chat id is a number like -1001234567890 or an @channel name')));

export const userIdList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^\d+$/, 'a Telegram user id is a positive number')))
  .transform((ids) => ids.map(Number));

export const booleanSpec = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { message: 'expected true or false' }))
  .transform((s) => ['true', '1', 'yes', 'on'].includes(s));

const tierSpec = z.enum(TIER_OR_OFF);

/** One project's overrides (BOTPULSE_ALERT_RULES per slug, or the project's `alert_rules` setting). */
export const rulesOverrideSchema = z
  .object({
    newIssue: tierSpec,
    regression: tierSpec,
    unignored: tierSpec,
    level: levelSpec,
    levelTier: tierSpec,
    frequency: frequencySpec,
    frequencyTier: tierSpec,
    projectFrequency: frequencySpec,
    projectFrequencyTier: tierSpec,
    cooldownSeconds: z.number().min(0).max(86_400),
    chatIds: z.array(z.string().regex(/^(-?\d+|@\w{5,})$/)),
    threadId: z.number().int().positive().nullable(),
    silent: z.boolean(),
  })
  .partial()
  .strict();

export type RulesOverride = z.output<typeof rulesOverrideSchema>;

/** BOTPULSE_ALERT_RULES: `{"<slug or *>": {…overrides}}` as JSON text. */
export const rulesJson = jsonKey(z.record(z.string(), rulesOverrideSchema));

/** The keys `config/schema.ts` spreads in; see docs/configuration.md. */
export const alertConfigKeys = {
  BOTPULSE_TELEGRAM_TOKEN: z.string().regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'expected a bot token like 123456:ABC… from @BotFather').optional(),
  BOTPULSE_TELEGRAM_API_ROOT: z.url().transform((s) => s.replace(/\/+$/, '')).default('https://api.telegram.org'),
  BOTPULSE_TELEGRAM_ADMINS: userIdList.default([]),
  BOTPULSE_TELEGRAM_UPDATES: z.enum(['polling', 'off']).default('polling'),
  ERROR_ALERT_CHAT_ID: chatIdList.default([]),
  ERROR_ALERT_COOLDOWN: z.coerce.number().min(0).max(86_400).default(300),
  BOTPULSE_ALERT_THREAD_ID: z.coerce.number().int().positive().optional(),
  BOTPULSE_ALERT_SILENT: booleanSpec.prefault('false'),
  BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: z.coerce.number().min(0).max(600).default(3),
  BOTPULSE_ALERT_CRITICAL_REPEAT_MINUTES: z.coerce.number().positive().max(10_080).default(30),
  BOTPULSE_ALERT_RETRY_MAX_SECONDS: z.coerce.number().positive().max(86_400).default(300),
  BOTPULSE_ALERT_LEVEL: levelSpec.prefault('fatal'),
  BOTPULSE_ALERT_FREQUENCY: frequencySpec.prefault('10/10m'),
  BOTPULSE_ALERT_PROJECT_FREQUENCY: frequencySpec.prefault('off'),
  BOTPULSE_ALERT_RULES: rulesJson.prefault(''),
  BOTPULSE_ALERT_WEBHOOK_URL: z.url().optional(),
  BOTPULSE_ALERT_WEBHOOK_SECRET: z.string().min(16, 'use at least 16 characters').optional(),
};

type AlertKeysOutput = z.output<z.ZodObject<typeof alertConfigKeys>>;

/** Builds the typed alert settings from the parsed keys (called by config/load.ts). */
export function toAlertConfig(raw: AlertKeysOutput): AlertConfig {
  const frequency = raw.BOTPULSE_ALERT_FREQUENCY;
  const projectFrequency = raw.BOTPULSE_ALERT_PROJECT_FREQUENCY;
  const level = raw.BOTPULSE_ALERT_LEVEL;
  return {
    telegram: {
      token: raw.BOTPULSE_TELEGRAM_TOKEN ?? null,
      apiRoot: raw.BOTPULSE_TELEGRAM_API_ROOT,
      admins: raw.BOTPULSE_TELEGRAM_ADMINS,
      updates: raw.BOTPULSE_TELEGRAM_UPDATES,
    },
    webhook: { url: raw.BOTPULSE_ALERT_WEBHOOK_URL ?? null, secret: raw.BOTPULSE_ALERT_WEBHOOK_SECRET ?? null },
    groupWindowMs: Math.round(raw.BOTPULSE_ALERT_GROUP_WINDOW_SECONDS * 1000),
    criticalRepeatMs: Math.round(raw.BOTPULSE_ALERT_CRITICAL_REPEAT_MINUTES * 60_000),
    retryMaxMs: Math.round(raw.BOTPULSE_ALERT_RETRY_MAX_SECONDS * 1000),
    defaults: {
      newIssue: 'alert',
      regression: 'alert',
      unignored: 'alert',
      level: level === 'off' ? { threshold: 'fatal', tier: 'off' } : { threshold: level, tier: 'critical' },
      frequency: frequency ? { ...frequency, tier: 'alert' } : { count: 10, windowMs: 600_000, tier: 'off' },
      projectFrequency: projectFrequency ? { ...projectFrequency, tier: 'alert' } : { count: 10, windowMs: 600_000, tier: 'off' },
      cooldownMs: Math.round(raw.ERROR_ALERT_COOLDOWN * 1000),
      chatIds: raw.ERROR_ALERT_CHAT_ID,
      threadId: raw.BOTPULSE_ALERT_THREAD_ID ?? null,
      silent: raw.BOTPULSE_ALERT_SILENT,
    },
    overrides: raw.BOTPULSE_ALERT_RULES,
  };
}

/** Applies one override over a rule set (later overrides win). */
export function applyOverride(base: ProjectRules, o: RulesOverride): ProjectRules {
  const rules: ProjectRules = structuredClone(base);
  if (o.newIssue) rules.newIssue = o.newIssue;
  if (o.regression) rules.regression = o.regression;
  if (o.unignored) rules.unignored = o.unignored;
  if (o.level === 'off') rules.level.tier = 'off';
  else if (o.level) rules.level = { threshold: o.level, tier: rules.level.tier === 'off' ? 'critical' : rules.level.tier };
  if (o.levelTier) rules.level.tier = o.levelTier;
  applyFrequency(rules.frequency, o.frequency, o.frequencyTier);
  applyFrequency(rules.projectFrequency, o.projectFrequency, o.projectFrequencyTier);
  if (o.cooldownSeconds !== undefined) rules.cooldownMs = Math.round(o.cooldownSeconds * 1000);
  if (o.chatIds) rules.chatIds = o.chatIds;
  if (o.threadId !== undefined) rules.threadId = o.threadId;
  if (o.silent !== undefined) rules.silent = o.silent;
  return rules;
}

function applyFrequency(rule: FrequencyRule, spec: { count: number; windowMs: number } | null | undefined, tier: TierOrOff | undefined): void {
  if (spec === null) rule.tier = 'off';
  else if (spec) Object.assign(rule, spec, { tier: rule.tier === 'off' ? 'alert' : rule.tier });
  if (tier) rule.tier = tier;
}

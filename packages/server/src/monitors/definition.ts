import { z } from 'zod';
import { jsonKey } from '../lib/json-key.js';
import type { Monitor, MonitorSettings, MonitorSource, NewMonitor, SettingName } from '../store/monitors.js';
import { scheduleProblem, validTimeZone } from './schedule.js';

/**
 * What a monitor is, as a person writes it: the body of `POST /api/v1/monitors` (with `project`)
 * and each entry of BOTPULSE_MONITORS (under its project's slug). One schema for both, so the
 * API and the config file accept exactly the same fields with the same meaning.
 */
export const definitionFields = z
  .object({
    slug: z.string().regex(/^[\w.-]{1,100}$/, 'letters, digits, ".", "_" or "-", up to 100'),
    kind: z.enum(['heartbeat', 'uptime']).default('heartbeat'),
    /** Heartbeats: expected ping interval. Uptime: probe interval. */
    periodSeconds: z.number().positive().max(31 * 86_400).optional(),
    graceSeconds: z.number().nonnegative().max(31 * 86_400).optional(),
    schedule: z.string().optional(),
    timezone: z.string().optional(),
    failureThreshold: z.number().int().min(1).max(100).optional(),
    recoveryThreshold: z.number().int().min(1).max(100).optional(),
    url: z.url().optional(),
    timeoutSeconds: z.number().positive().max(600).optional(),
    lockKey: z.string().min(1).max(200).optional(),
    /** Heartbeats: the bot's update lag (p95 of a minute, seconds) that counts as late; 0 turns the lag alert off. Default BOTPULSE_THRESHOLD_UPDATE_LAG. */
    updateLagSeconds: z.number().nonnegative().max(86_400).optional(),
    /** For how many minutes in a row the lag must stay above it before it alerts. */
    updateLagMinutes: z.number().positive().max(1440).optional(),
  })
  .strict();

export type MonitorDefinition = z.output<typeof definitionFields>;

/** The checks one field cannot make alone; `.superRefine(checkDefinition)` on any schema built from the fields. */
export function checkDefinition(def: MonitorDefinition, ctx: z.RefinementCtx): void {
  const problem = definitionProblem(def);
  if (problem) ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
}

export const monitorDefinition = definitionFields.superRefine(checkDefinition);

function definitionProblem(def: MonitorDefinition): { field: string; message: string } | null {
  if (def.kind === 'uptime' && !def.url) return { field: 'url', message: "an uptime monitor needs \"url\" (the bot's /health)" };
  if (def.kind === 'heartbeat' && def.url) return { field: 'url', message: 'only uptime monitors have a url (add "kind": "uptime")' };
  if (def.timezone && !validTimeZone(def.timezone)) return { field: 'timezone', message: `unknown time zone "${def.timezone}" (use an IANA name like Europe/Moscow)` };
  if (def.schedule) {
    const problem = scheduleProblem(def.schedule, def.timezone ?? null);
    if (problem) return { field: 'schedule', message: problem };
  }
  return null;
}

/** The settings a definition names (each one a person chose), as stored setting names. */
export function namedSettings(def: Partial<MonitorDefinition>): SettingName[] {
  const names: SettingName[] = [];
  for (const [field, setting] of Object.entries(SETTING_OF_FIELD)) if ((def as Record<string, unknown>)[field] !== undefined) names.push(setting);
  return names;
}

/** Definition field → stored setting. */
export const SETTING_OF_FIELD: Record<string, SettingName> = {
  periodSeconds: 'periodMs',
  graceSeconds: 'graceMs',
  schedule: 'schedule',
  timezone: 'timezone',
  failureThreshold: 'failureThreshold',
  recoveryThreshold: 'recoveryThreshold',
  url: 'url',
  timeoutSeconds: 'timeoutMs',
  lockKey: 'lockKey',
  updateLagSeconds: 'updateLagMs',
  updateLagMinutes: 'updateLagForMs',
};

/** The server's defaults for what a definition leaves out (from MonitorConfig). */
export interface MonitorDefaults {
  periodMs: number;
  graceMs: number;
  probe: { intervalMs: number; timeoutMs: number; failures: number };
}

/** Settings whose null means "the server's default" (BOTPULSE_THRESHOLD_UPDATE_LAG), not "whatever a check-in declares". */
const FOLLOWS_SERVER_DEFAULT = new Set<SettingName>(['updateLagMs', 'updateLagForMs']);

/** How each definition field that is not stored as given converts to its stored setting (ms). */
const FIELD_TO_MS: Record<string, number> = { periodSeconds: 1000, graceSeconds: 1000, timeoutSeconds: 1000, updateLagSeconds: 1000, updateLagMinutes: 60_000 };

/** The stored settings a definition means, with the server's defaults for what it leaves out. */
export function toNewMonitor(def: MonitorDefinition, projectId: number, cfg: MonitorDefaults, source: MonitorSource): NewMonitor {
  const uptime = def.kind === 'uptime';
  return {
    projectId,
    slug: def.slug,
    kind: def.kind,
    source,
    periodMs: (def.periodSeconds ?? (uptime ? cfg.probe.intervalMs / 1000 : cfg.periodMs / 1000)) * 1000,
    graceMs: (def.graceSeconds ?? cfg.graceMs / 1000) * 1000,
    schedule: def.schedule ?? null,
    timezone: def.timezone ?? null,
    failureThreshold: def.failureThreshold ?? (uptime ? cfg.probe.failures : 1),
    recoveryThreshold: def.recoveryThreshold ?? 1,
    url: def.url ?? null,
    timeoutMs: def.timeoutSeconds ? def.timeoutSeconds * 1000 : uptime ? cfg.probe.timeoutMs : null,
    lockKey: def.lockKey ?? null,
    updateLagMs: def.updateLagSeconds === undefined ? null : def.updateLagSeconds * 1000,
    updateLagForMs: def.updateLagMinutes === undefined ? null : def.updateLagMinutes * 60_000,
    manualFields: source === 'api' ? namedSettings(def) : [],
  };
}

export const SETTINGS: readonly SettingName[] = ['periodMs', 'graceMs', 'schedule', 'timezone', 'failureThreshold', 'recoveryThreshold', 'url', 'timeoutMs', 'lockKey', 'updateLagMs', 'updateLagForMs'];

/** The settings in `wanted` that differ from the monitor's (a setting left undefined is kept); `skip`: settings to leave alone. */
export function changedSettings(m: Monitor, wanted: Partial<MonitorSettings>, skip: readonly SettingName[] = []): Partial<MonitorSettings> {
  const out: Partial<MonitorSettings> = {};
  for (const key of SETTINGS) if (!skip.includes(key) && wanted[key] !== undefined && wanted[key] !== m[key]) (out as Record<string, unknown>)[key] = wanted[key];
  return out;
}

/**
 * `PATCH /api/v1/monitors/:id` and the dashboard's edit form: any setting of a definition (not
 * `slug` or `kind`), and `paused`. A value is kept against check-ins' monitor_config from then on;
 * `null` gives the setting back to them (its value stays until a check-in declares another).
 * An empty `schedule` or `timezone` removes it (set by hand: an interval monitor, UTC).
 */
export const monitorPatch = z
  .object({
    paused: z.boolean().optional(),
    periodSeconds: z.number().positive().max(31 * 86_400).nullable().optional(),
    graceSeconds: z.number().nonnegative().max(31 * 86_400).nullable().optional(),
    /** "" removes the schedule (pings are then expected every periodSeconds). */
    schedule: z.string().nullable().optional(),
    timezone: z.string().nullable().optional(),
    failureThreshold: z.number().int().min(1).max(100).nullable().optional(),
    recoveryThreshold: z.number().int().min(1).max(100).nullable().optional(),
    url: z.url().nullable().optional(),
    timeoutSeconds: z.number().positive().max(600).nullable().optional(),
    lockKey: z.string().min(1).max(200).nullable().optional(),
    updateLagSeconds: z.number().nonnegative().max(86_400).nullable().optional(),
    updateLagMinutes: z.number().positive().max(1440).nullable().optional(),
  })
  .strict();

export type MonitorPatch = z.output<typeof monitorPatch>;

/** The settings change a patch means for `m`: values to write, fields now set by hand, fields given back. Throws a message for a bad combination. */
export function patchSettings(m: Monitor, patch: MonitorPatch): { set: Partial<MonitorSettings>; manual: SettingName[]; unmanual: SettingName[] } {
  const set: Partial<MonitorSettings> = {};
  const manual: SettingName[] = [];
  const unmanual: SettingName[] = [];
  for (const [field, setting] of Object.entries(SETTING_OF_FIELD)) {
    const value = (patch as Record<string, unknown>)[field];
    if (value === undefined) continue;
    if (value === null) {
      unmanual.push(setting);
      // No check-in declares a lag rule: given back, it follows the server's default again.
      if (FOLLOWS_SERVER_DEFAULT.has(setting)) (set as Record<string, unknown>)[setting] = null;
      continue;
    }
    const factor = FIELD_TO_MS[field];
    const stored = factor ? (value as number) * factor : value === '' ? null : value;
    (set as Record<string, unknown>)[setting] = stored;
    manual.push(setting);
  }
  if (m.kind === 'heartbeat' && set.url) throw new Error('url: only uptime monitors have a url');
  const schedule = set.schedule !== undefined ? set.schedule : m.schedule;
  const timezone = set.timezone !== undefined ? set.timezone : m.timezone;
  if (timezone && !validTimeZone(timezone)) throw new Error(`timezone: unknown time zone "${timezone}" (use an IANA name like Europe/Moscow)`);
  if (schedule && (set.schedule !== undefined || set.timezone !== undefined)) {
    const problem = scheduleProblem(schedule, timezone);
    if (problem) throw new Error(`schedule: ${problem}`);
  }
  return { set, manual, unmanual };
}

/** BOTPULSE_MONITORS: `{"<project slug>": [definition, …]}` as JSON text. */
export const declaredMonitorsJson = jsonKey(
  z.record(z.string().min(1), z.array(monitorDefinition)).superRefine((declared, ctx) => {
    for (const [project, list] of Object.entries(declared)) {
      const seen = new Set<string>();
      for (const def of list) {
        if (seen.has(def.slug)) ctx.addIssue({ code: 'custom', path: [project], message: `monitor "${def.slug}" is declared twice` });
        seen.add(def.slug);
      }
    }
  }),
);

import { z } from 'zod';
import { jsonKey } from '../config/json-key.js';
import type { Monitor, MonitorSettings, MonitorSource, NewMonitor } from '../store/monitors.js';
import type { MonitorConfig } from './config.js';
import { parseCron } from './schedule.js';

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
  if (def.schedule) {
    try {
      parseCron(def.schedule);
    } catch (err) {
      return { field: 'schedule', message: (err as Error).message };
    }
  }
  if (def.timezone && !validTimeZone(def.timezone)) return { field: 'timezone', message: `unknown time zone "${def.timezone}" (use an IANA name like Europe/Moscow)` };
  return null;
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The stored settings a definition means, with the server's defaults for what it leaves out. */
export function toNewMonitor(def: MonitorDefinition, projectId: number, cfg: MonitorConfig, source: MonitorSource): NewMonitor {
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
  };
}

const SETTINGS: readonly (keyof MonitorSettings)[] = ['periodMs', 'graceMs', 'schedule', 'timezone', 'failureThreshold', 'recoveryThreshold', 'url', 'timeoutMs', 'lockKey'];

/** The settings in `wanted` that differ from the monitor's (a setting left undefined is kept). */
export function changedSettings(m: Monitor, wanted: Partial<MonitorSettings>): Partial<Monitor> {
  const out: Partial<Monitor> = {};
  for (const key of SETTINGS) if (wanted[key] !== undefined && wanted[key] !== m[key]) (out as Record<string, unknown>)[key] = wanted[key];
  return out;
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

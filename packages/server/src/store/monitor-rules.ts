import type { Monitor, MonitorKind, MonitorStateFields, NewMonitor, SettingsChange } from './monitors.js';

/**
 * The monitors' storage rules (docs/monitors.md), pure, shared by every MonitorStore
 * implementation so they cannot drift: a new monitor's defaults and first deadline, which fields
 * a transition or a settings change may write (and how values are stored), which settings a
 * person set by hand, and how latency histograms add up. The stores only read and write.
 */

/** Column of each state field that a Transition may set (anything else is refused). */
const STATE_COLUMNS: Record<string, string> = {
  status: 'status',
  failures: 'failures',
  successes: 'successes',
  deadline: 'deadline',
  lastPingAt: 'last_ping_at',
  lastOkAt: 'last_ok_at',
  lastReason: 'last_reason',
  downSince: 'down_since',
  downReason: 'down_reason',
  alertSent: 'alert_sent',
  polling: 'polling',
  gauges: 'gauges',
  signals: 'signals',
  conflictsTotal: 'conflicts_total',
  conflictSince: 'conflict_since',
  conflictAlerted: 'conflict_alerted',
  updatedAt: 'updated_at',
};

/** Column of each setting (and the source) a settings change may write. */
const SETTING_COLUMNS: Record<string, string> = {
  source: 'source',
  periodMs: 'period_ms',
  graceMs: 'grace_ms',
  schedule: 'schedule',
  timezone: 'timezone',
  failureThreshold: 'failure_threshold',
  recoveryThreshold: 'recovery_threshold',
  url: 'url',
  timeoutMs: 'timeout_ms',
  lockKey: 'lock_key',
  updateLagMs: 'update_lag_ms',
  updateLagForMs: 'update_lag_for_ms',
};

export const DEFAULT_PERIOD_MS = 60_000;
export const DEFAULT_GRACE_MS = 240_000;


/** A value as stored: booleans as 0/1, objects as JSON text. */
function toColumn(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return value;
}

/** The columns of a new monitor's settings row, defaults applied. */
export function newMonitorColumns(input: NewMonitor, now: number) {
  return {
    project_id: input.projectId,
    slug: input.slug,
    kind: input.kind,
    source: input.source,
    period_ms: input.periodMs ?? DEFAULT_PERIOD_MS,
    grace_ms: input.graceMs ?? DEFAULT_GRACE_MS,
    schedule: input.schedule ?? null,
    timezone: input.timezone ?? null,
    failure_threshold: input.failureThreshold ?? 1,
    recovery_threshold: input.recoveryThreshold ?? 1,
    url: input.url ?? null,
    timeout_ms: input.timeoutMs ?? null,
    lock_key: input.lockKey ?? null,
    update_lag_ms: input.updateLagMs ?? null,
    update_lag_for_ms: input.updateLagForMs ?? null,
    manual_fields: JSON.stringify(input.manualFields ?? []),
    created_at: now,
    updated_at: now,
  };
}

/** A new heartbeat monitor waits for its first ping (no deadline); an uptime monitor is probed at once. */
export function firstDeadline(kind: MonitorKind, now: number): number | null {
  return kind === 'uptime' ? now : null;
}

/** The [column, stored value] pairs a transition writes; throws on a field it may not set. */
export function stateAssignments(set: Partial<MonitorStateFields>): [string, unknown][] {
  return assignments(set, STATE_COLUMNS, (k) => `monitor field ${k} cannot be set by a transition`);
}

/** The [column, stored value] pairs a settings change writes; throws on anything but a setting (or the source). */
export function settingAssignments(set: SettingsChange['set']): [string, unknown][] {
  return assignments(set, SETTING_COLUMNS, (k) => `monitor setting ${k} cannot be changed`);
}

function assignments(set: object, columns: Record<string, string>, refusal: (key: string) => string): [string, unknown][] {
  return Object.entries(set)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const column = columns[k];
      if (!column) throw new Error(refusal(k));
      return [column, toColumn(v)];
    });
}

/** The settings set by hand after a change, sorted (stored as JSON). */
export function manualFieldsAfter(current: Monitor, change: SettingsChange): string[] {
  const manual = new Set<string>(current.manualFields);
  for (const f of change.manual ?? []) manual.add(f);
  for (const f of change.unmanual ?? []) manual.delete(f);
  return [...manual].sort();
}

/** Two histograms of one minute added bucket by bucket (fixed log-spaced buckets; a shorter one is padded). */
export function addBuckets(stored: number[], added: number[]): number[] {
  const merged = [...stored];
  added.forEach((n, i) => (merged[i] = (merged[i] ?? 0) + n));
  return merged;
}

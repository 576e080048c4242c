import type { Flip, Monitor, MonitorFilter, Notification, NotificationStatus, Refusal, RefusalReason, RuleState, SettingName } from './monitors.js';

/**
 * Row <-> model mapping of the monitor tables, shared by every MonitorStore implementation (the
 * drivers return the same columns: SQLite natively, PostgreSQL with bigint read as numbers).
 */

/** A monitor's settings joined with one of its states (one row per monitor and environment). */
export const JOINED = `SELECT m.id, m.project_id, m.slug, m.kind, m.source, m.period_ms, m.grace_ms, m.schedule, m.timezone,
    m.failure_threshold, m.recovery_threshold, m.url, m.timeout_ms, m.lock_key, m.update_lag_ms, m.update_lag_for_ms, m.manual_fields, m.created_at,
    s.id AS state_id, s.environment, s.status, s.failures, s.successes, s.deadline, s.last_ping_at, s.last_ok_at,
    s.last_reason, s.down_since, s.down_reason, s.alert_sent, s.polling, s.gauges, s.signals, s.conflicts_total,
    s.conflict_since, s.conflict_alerted, s.updated_at
  FROM monitor_states s JOIN monitors m ON m.id = s.monitor_id`;

export interface MonitorRow {
  id: number;
  project_id: number;
  slug: string;
  kind: string;
  source: string;
  manual_fields: string;
  state_id: number;
  environment: string | null;
  status: string;
  period_ms: number;
  grace_ms: number;
  schedule: string | null;
  timezone: string | null;
  failure_threshold: number;
  recovery_threshold: number;
  failures: number;
  successes: number;
  deadline: number | null;
  last_ping_at: number | null;
  last_ok_at: number | null;
  last_reason: string | null;
  down_since: number | null;
  down_reason: string | null;
  alert_sent: number;
  url: string | null;
  timeout_ms: number | null;
  lock_key: string | null;
  update_lag_ms: number | null;
  update_lag_for_ms: number | null;
  polling: string | null;
  gauges: string | null;
  signals: string | null;
  conflicts_total: number;
  conflict_since: number | null;
  conflict_alerted: number;
  created_at: number;
  updated_at: number;
}

export interface FlipRow {
  id: number;
  monitor_id: number;
  project_id: number;
  at: number;
  from_status: string;
  to_status: string;
  reason: string | null;
  environment: string | null;
}

export interface RefusalRow {
  project_id: number;
  reason: string;
  count: number;
  first_at: number;
  last_at: number;
  last_slug: string | null;
  last_detail: string | null;
}

export interface NotificationRow {
  id: number;
  project_id: number;
  monitor_id: number | null;
  fingerprint: string;
  kind: string;
  text: string;
  payload: string;
  status: string;
  done_targets: string;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  sent_at: number | null;
  last_error: string | null;
}

export interface RuleRow {
  fingerprint: string;
  project_id: number;
  rule: string;
  state: string;
  since: number | null;
  value: number | null;
  updated_at: number;
}

export function toMonitor(r: MonitorRow): Monitor {
  return {
    id: r.id,
    projectId: r.project_id,
    slug: r.slug,
    kind: r.kind as Monitor['kind'],
    source: r.source as Monitor['source'],
    manualFields: JSON.parse(r.manual_fields) as SettingName[],
    stateId: r.state_id,
    environment: r.environment,
    status: r.status as Monitor['status'],
    periodMs: r.period_ms,
    graceMs: r.grace_ms,
    schedule: r.schedule,
    timezone: r.timezone,
    failureThreshold: r.failure_threshold,
    recoveryThreshold: r.recovery_threshold,
    failures: r.failures,
    successes: r.successes,
    deadline: r.deadline,
    lastPingAt: r.last_ping_at,
    lastOkAt: r.last_ok_at,
    lastReason: r.last_reason,
    downSince: r.down_since,
    downReason: r.down_reason,
    alertSent: r.alert_sent === 1,
    url: r.url,
    timeoutMs: r.timeout_ms,
    lockKey: r.lock_key,
    updateLagMs: r.update_lag_ms,
    updateLagForMs: r.update_lag_for_ms,
    signals: r.signals ? (JSON.parse(r.signals) as Monitor['signals']) : null,
    polling: r.polling ? (JSON.parse(r.polling) as Record<string, unknown>) : null,
    gauges: r.gauges ? (JSON.parse(r.gauges) as Record<string, number>) : null,
    conflictsTotal: r.conflicts_total,
    conflictSince: r.conflict_since,
    conflictAlerted: r.conflict_alerted === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toNotification(r: NotificationRow): Notification {
  return {
    id: r.id,
    projectId: r.project_id,
    monitorId: r.monitor_id,
    fingerprint: r.fingerprint,
    kind: r.kind,
    text: r.text,
    payload: JSON.parse(r.payload) as Record<string, unknown>,
    status: r.status as NotificationStatus,
    doneTargets: JSON.parse(r.done_targets) as string[],
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    sentAt: r.sent_at,
    lastError: r.last_error,
  };
}

export function toRuleState(r: RuleRow): RuleState {
  return { fingerprint: r.fingerprint, projectId: r.project_id, rule: r.rule, state: r.state as RuleState['state'], since: r.since, value: r.value, updatedAt: r.updated_at };
}

/**
 * The WHERE clause of a monitor filter over JOINED, with `?` placeholders (each store binds them
 * its own way), so every store reads the same filter the same way.
 */
export function monitorWhere(filter: MonitorFilter): { where: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (filter.projectId !== undefined) (where.push('m.project_id = ?'), args.push(filter.projectId));
  if (filter.kind !== undefined) (where.push('m.kind = ?'), args.push(filter.kind));
  if (filter.status !== undefined) (where.push('s.status = ?'), args.push(filter.status));
  if (filter.active) where.push("s.status <> 'paused'");
  if (filter.withSignals) where.push('s.signals IS NOT NULL');
  if (filter.pingedBefore !== undefined) (where.push('s.last_ping_at < ?'), args.push(filter.pingedBefore));
  if (filter.afterStateId !== undefined) (where.push('s.id > ?'), args.push(filter.afterStateId));
  if (filter.sources?.length) (where.push(`m.source IN (${filter.sources.map(() => '?').join(', ')})`), args.push(...filter.sources));
  if (filter.environments?.length) {
    const named = filter.environments.filter((e): e is string => e !== null);
    const parts = [...(filter.environments.includes(null) ? ['s.environment IS NULL'] : []), ...(named.length ? [`s.environment IN (${named.map(() => '?').join(', ')})`] : [])];
    where.push(`(${parts.join(' OR ')})`);
    args.push(...named);
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

export function toFlip(r: FlipRow): Flip {
  return { id: r.id, monitorId: r.monitor_id, projectId: r.project_id, at: r.at, from: r.from_status as Flip['from'], to: r.to_status as Flip['to'], reason: r.reason, environment: r.environment };
}

export function toRefusal(r: RefusalRow): Refusal {
  return { projectId: r.project_id, reason: r.reason as RefusalReason, count: r.count, firstAt: r.first_at, lastAt: r.last_at, lastSlug: r.last_slug, lastDetail: r.last_detail };
}

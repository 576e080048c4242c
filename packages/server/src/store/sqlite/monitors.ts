import type Sqlite from 'better-sqlite3';
import type {
  Flip,
  LatencyMinute,
  Monitor,
  MonitorFilter,
  MonitorStore,
  NewMonitor,
  MonitorSource,
  NewNotification,
  Notification,
  NotificationStatus,
  Refusal,
  RefusalReason,
  RuleState,
  SettingName,
  SettingsChange,
  Transition,
} from '../monitors.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { deleteInChunks, CHUNK_ROWS } from './chunked.js';

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
};

const DEFAULT_PERIOD_MS = 60_000;
const DEFAULT_GRACE_MS = 240_000;

/** A monitor's settings joined with one of its states (one row per monitor and environment). */
const JOINED = `SELECT m.id, m.project_id, m.slug, m.kind, m.source, m.period_ms, m.grace_ms, m.schedule, m.timezone,
    m.failure_threshold, m.recovery_threshold, m.url, m.timeout_ms, m.lock_key, m.manual_fields, m.created_at,
    s.id AS state_id, s.environment, s.status, s.failures, s.successes, s.deadline, s.last_ping_at, s.last_ok_at,
    s.last_reason, s.down_since, s.down_reason, s.alert_sent, s.polling, s.gauges, s.conflicts_total,
    s.conflict_since, s.conflict_alerted, s.updated_at
  FROM monitor_states s JOIN monitors m ON m.id = s.monitor_id`;

/**
 * MonitorStore on SqliteStore's better-sqlite3 connection. Settings live in `monitors`, state per
 * environment in `monitor_states` (migration 009). State changes are conditional updates
 * (`WHERE status = ? AND updated_at = ?`) inside `BEGIN IMMEDIATE`, with the flip and its
 * notification written in the same transaction, so a change is recorded and alerted exactly once.
 */
export class SqliteMonitorStore implements MonitorStore {
  private readonly due: Sqlite.Statement;
  private readonly byState: Sqlite.Statement;
  private readonly firstState: Sqlite.Statement;

  constructor(private readonly db: Sqlite.Database) {
    this.due = db.prepare(`${JOINED} WHERE s.deadline IS NOT NULL AND s.deadline <= ? ORDER BY s.deadline LIMIT ?`);
    this.byState = db.prepare(`${JOINED} WHERE s.id = ?`);
    this.firstState = db.prepare(`${JOINED} WHERE m.id = ? ORDER BY s.id LIMIT 1`);
  }

  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  async createMonitor(input: NewMonitor, now: number): Promise<Monitor> {
    return this.tx(() => this.insertMonitor(input, now));
  }

  private insertMonitor(input: NewMonitor, now: number): Monitor {
    const info = this.db
      .prepare(
        `INSERT INTO monitors (project_id, slug, kind, source, period_ms, grace_ms, schedule, timezone, failure_threshold,
           recovery_threshold, url, timeout_ms, lock_key, manual_fields, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        input.projectId,
        input.slug,
        input.kind,
        input.source,
        input.periodMs ?? DEFAULT_PERIOD_MS,
        input.graceMs ?? DEFAULT_GRACE_MS,
        input.schedule ?? null,
        input.timezone ?? null,
        input.failureThreshold ?? 1,
        input.recoveryThreshold ?? 1,
        input.url ?? null,
        input.timeoutMs ?? null,
        input.lockKey ?? null,
        JSON.stringify(input.manualFields ?? []),
        now,
        now,
      );
    const monitorId = Number(info.lastInsertRowid);
    // A new heartbeat monitor waits for its first ping (no deadline); an uptime monitor is probed at once.
    const stateId = this.insertState(monitorId, null, input.kind === 'uptime' ? now : null, now);
    return toMonitor(this.byState.get(stateId) as MonitorRow);
  }

  private insertState(monitorId: number, environment: string | null, deadline: number | null, now: number): number {
    return Number(
      this.db
        .prepare("INSERT INTO monitor_states (monitor_id, environment, status, deadline, created_at, updated_at) VALUES (?, ?, 'new', ?, ?, ?)")
        .run(monitorId, environment, deadline, now, now).lastInsertRowid,
    );
  }

  ensureMonitor(input: NewMonitor, now: number): Promise<{ monitor: Monitor; created: boolean }>;
  ensureMonitor(input: NewMonitor, now: number, limit: { max: number; sources: MonitorSource[] }): Promise<{ monitor: Monitor; created: boolean } | { monitor: null; created: false }>;
  async ensureMonitor(input: NewMonitor, now: number, limit?: { max: number; sources: MonitorSource[] }): Promise<{ monitor: Monitor; created: boolean } | { monitor: null; created: false }> {
    const existing = await this.findMonitor(input.projectId, input.slug);
    if (existing) return { monitor: existing, created: false };
    try {
      return this.tx(() => {
        const raced = this.firstBySlug(input.projectId, input.slug);
        if (raced) return { monitor: raced, created: false };
        if (limit && this.countBySources(input.projectId, limit.sources) >= limit.max) return { monitor: null, created: false as const };
        return { monitor: this.insertMonitor(input, now), created: true };
      });
    } catch (err) {
      const raced = await this.findMonitor(input.projectId, input.slug); // another connection made it meanwhile
      if (raced) return { monitor: raced, created: false };
      throw err;
    }
  }

  async ensureEnvironment(monitorId: number, environment: string, now: number): Promise<Monitor> {
    const own = this.db.prepare(`${JOINED} WHERE m.id = ? AND s.environment = ?`);
    const hit = own.get(monitorId, environment) as MonitorRow | undefined;
    if (hit) return toMonitor(hit);
    return this.tx(() => {
      const raced = own.get(monitorId, environment) as MonitorRow | undefined;
      if (raced) return toMonitor(raced);
      const unassigned = this.db.prepare('SELECT id FROM monitor_states WHERE monitor_id = ? AND environment IS NULL ORDER BY id LIMIT 1').pluck().get(monitorId) as number | undefined;
      if (unassigned !== undefined) {
        this.db.prepare('UPDATE monitor_states SET environment = ? WHERE id = ?').run(environment, unassigned);
        // Its history so far is this environment's history.
        this.db.prepare('UPDATE monitor_flips SET environment = ? WHERE monitor_id = ? AND environment IS NULL').run(environment, monitorId);
        return toMonitor(this.byState.get(unassigned) as MonitorRow);
      }
      return toMonitor(this.byState.get(this.insertState(monitorId, environment, null, now)) as MonitorRow);
    });
  }

  async getMonitor(id: number): Promise<Monitor | null> {
    const row = this.firstState.get(id) as MonitorRow | undefined;
    return row ? toMonitor(row) : null;
  }

  async getState(stateId: number): Promise<Monitor | null> {
    const row = this.byState.get(stateId) as MonitorRow | undefined;
    return row ? toMonitor(row) : null;
  }

  async monitorStates(monitorId: number): Promise<Monitor[]> {
    return (this.db.prepare(`${JOINED} WHERE m.id = ? ORDER BY s.id`).all(monitorId) as MonitorRow[]).map(toMonitor);
  }

  async findMonitor(projectId: number, slug: string, environment?: string): Promise<Monitor | null> {
    if (environment === undefined) return this.firstBySlug(projectId, slug);
    const row = this.db.prepare(`${JOINED} WHERE m.project_id = ? AND m.slug = ? AND s.environment = ?`).get(projectId, slug, environment) as MonitorRow | undefined;
    return row ? toMonitor(row) : null;
  }

  private firstBySlug(projectId: number, slug: string): Monitor | null {
    const row = this.db.prepare(`${JOINED} WHERE m.project_id = ? AND m.slug = ? ORDER BY s.id LIMIT 1`).get(projectId, slug) as MonitorRow | undefined;
    return row ? toMonitor(row) : null;
  }

  async listMonitors(filter: MonitorFilter = {}): Promise<Monitor[]> {
    const { where, args } = monitorWhere(filter);
    if (filter.afterStateId !== undefined) {
      return (this.db.prepare(`${JOINED} ${where} ORDER BY s.id LIMIT ?`).all(...args, filter.limit ?? -1) as MonitorRow[]).map(toMonitor);
    }
    return (this.db.prepare(`${JOINED} ${where} ORDER BY m.project_id, m.slug, s.id`).all(...args) as MonitorRow[]).map(toMonitor);
  }

  async monitorsAfter(afterId: number, limit: number): Promise<Monitor[]> {
    const rows = this.db
      .prepare(`${JOINED} WHERE m.id IN (SELECT id FROM monitors WHERE id > ? ORDER BY id LIMIT ?) ORDER BY m.id, s.id`)
      .all(afterId, limit) as MonitorRow[];
    return rows.map(toMonitor);
  }

  async countMonitors(filter: MonitorFilter = {}): Promise<number> {
    const { where, args } = monitorWhere(filter);
    return Number(this.db.prepare(`SELECT COUNT(*) FROM monitor_states s JOIN monitors m ON m.id = s.monitor_id ${where}`).pluck().get(...args));
  }

  async countProjectMonitors(projectId: number, sources?: MonitorSource[]): Promise<number> {
    return this.countBySources(projectId, sources);
  }

  private countBySources(projectId: number, sources?: MonitorSource[]): number {
    if (!sources) return Number(this.db.prepare('SELECT COUNT(*) FROM monitors WHERE project_id = ?').pluck().get(projectId));
    return Number(this.db.prepare(`SELECT COUNT(*) FROM monitors WHERE project_id = ? AND source IN (${sources.map(() => '?').join(', ')})`).pluck().get(projectId, ...sources));
  }

  async deleteMonitor(id: number): Promise<void> {
    this.tx(() => {
      this.db.prepare('DELETE FROM monitor_flips WHERE monitor_id = ?').run(id);
      this.db.prepare('DELETE FROM monitor_states WHERE monitor_id = ?').run(id);
      this.db.prepare('DELETE FROM monitors WHERE id = ?').run(id);
    });
  }

  async updateSettings(monitorId: number, change: (current: Monitor) => SettingsChange | null, now: number): Promise<Monitor | null> {
    return this.tx(() => {
      const row = this.firstState.get(monitorId) as MonitorRow | undefined;
      if (!row) return null;
      const current = toMonitor(row);
      const wanted = change(current);
      if (!wanted) return current;
      const entries = Object.entries(wanted.set).filter(([, v]) => v !== undefined);
      const manual = new Set(current.manualFields);
      for (const f of wanted.manual ?? []) manual.add(f);
      for (const f of wanted.unmanual ?? []) manual.delete(f);
      const sets = entries.map(([k]) => {
        const column = SETTING_COLUMNS[k];
        if (!column) throw new Error(`monitor setting ${k} cannot be changed`);
        return `${column} = ?`;
      });
      this.db
        .prepare(`UPDATE monitors SET ${[...sets, 'manual_fields = ?', 'updated_at = ?'].join(', ')} WHERE id = ?`)
        .run(...entries.map(([, v]) => toColumn(v)), JSON.stringify([...manual].sort()), now, monitorId);
      return toMonitor(this.firstState.get(monitorId) as MonitorRow);
    });
  }

  async dueMonitors(now: number, limit: number): Promise<Monitor[]> {
    return (this.due.all(now, limit) as MonitorRow[]).map(toMonitor);
  }

  async transition(t: Transition): Promise<boolean> {
    const entries = Object.entries(t.set).filter(([, v]) => v !== undefined);
    const sets = entries.map(([k]) => {
      const column = STATE_COLUMNS[k];
      if (!column) throw new Error(`monitor field ${k} cannot be set by a transition`);
      return `${column} = ?`;
    });
    const values = entries.map(([, v]) => toColumn(v));
    return this.tx(() => {
      const changed = this.db
        .prepare(`UPDATE monitor_states SET ${sets.join(', ')} WHERE id = ? AND status = ? AND updated_at = ?`)
        .run(...values, t.stateId, t.expect.status, t.expect.updatedAt).changes;
      if (changed !== 1) return false;
      if (t.flip) {
        const owner = this.db
          .prepare('SELECT s.monitor_id, m.project_id, s.environment FROM monitor_states s JOIN monitors m ON m.id = s.monitor_id WHERE s.id = ?')
          .get(t.stateId) as { monitor_id: number; project_id: number; environment: string | null };
        this.db
          .prepare('INSERT INTO monitor_flips (monitor_id, project_id, at, from_status, to_status, reason, environment) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(owner.monitor_id, owner.project_id, t.flip.at, t.flip.from, t.flip.to, t.flip.reason, owner.environment);
      }
      for (const n of t.notify ?? []) this.insertNotification(n);
      return true;
    });
  }

  /**
   * A chunk of states per transaction, with a turn of the event loop between chunks (10,000
   * monitors in one transaction held the loop when a server took over evaluation). Each update
   * only moves a deadline forward, so a ping landing between chunks is never undone.
   */
  async postponeDeadlines(until: (m: Monitor) => number): Promise<number> {
    let moved = 0;
    const page = this.db.prepare(`${JOINED} WHERE s.id > ? AND s.deadline IS NOT NULL AND s.status IN ('up', 'late', 'new') ORDER BY s.id LIMIT ?`);
    const update = this.db.prepare('UPDATE monitor_states SET deadline = ? WHERE id = ? AND deadline < ?');
    for (let after = 0; ; ) {
      const rows = page.all(after, CHUNK_ROWS) as MonitorRow[];
      this.tx(() => {
        for (const row of rows) {
          const at = until(toMonitor(row));
          moved += update.run(at, row.state_id, at).changes;
        }
      });
      if (rows.length < CHUNK_ROWS) return moved;
      after = rows.at(-1)!.state_id;
      await yieldToLoop();
    }
  }

  async countRefusal(projectId: number, reason: RefusalReason, at: number, slug: string | null, detail: string | null, count = 1): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO monitor_refusals (project_id, reason, count, first_at, last_at, last_slug, last_detail) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (project_id, reason) DO UPDATE SET count = count + excluded.count, last_at = excluded.last_at,
           last_slug = excluded.last_slug, last_detail = excluded.last_detail`,
      )
      .run(projectId, reason, count, at, at, slug, detail);
  }

  async refusals(projectId?: number): Promise<Refusal[]> {
    const rows = (projectId === undefined
      ? this.db.prepare('SELECT * FROM monitor_refusals ORDER BY project_id, reason').all()
      : this.db.prepare('SELECT * FROM monitor_refusals WHERE project_id = ? ORDER BY reason').all(projectId)) as RefusalRow[];
    return rows.map((r) => ({ projectId: r.project_id, reason: r.reason as RefusalReason, count: r.count, firstAt: r.first_at, lastAt: r.last_at, lastSlug: r.last_slug, lastDetail: r.last_detail }));
  }

  async flips(monitorId: number, opts: { limit?: number; since?: number } = {}): Promise<Flip[]> {
    const rows = this.db
      .prepare('SELECT * FROM monitor_flips WHERE monitor_id = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?')
      .all(monitorId, opts.since ?? 0, opts.limit ?? 100) as FlipRow[];
    return rows.map((r) => ({ id: r.id, monitorId: r.monitor_id, projectId: r.project_id, at: r.at, from: r.from_status as Flip['from'], to: r.to_status as Flip['to'], reason: r.reason, environment: r.environment }));
  }

  private insertNotification(n: NewNotification): number {
    return Number(
      this.db
        .prepare('INSERT INTO monitor_notifications (project_id, monitor_id, fingerprint, kind, text, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(n.projectId, n.monitorId, n.fingerprint, n.kind, n.text, JSON.stringify(n.payload), n.createdAt, n.createdAt).lastInsertRowid,
    );
  }

  async enqueue(n: NewNotification): Promise<Notification> {
    const id = this.tx(() => this.insertNotification(n));
    return toNotification(this.db.prepare('SELECT * FROM monitor_notifications WHERE id = ?').get(id) as NotificationRow);
  }

  async claimNotifications(workerId: string, now: number, leaseMs: number, limit: number): Promise<Notification[]> {
    return this.tx(() => {
      const rows = this.db
        .prepare("SELECT * FROM monitor_notifications WHERE status = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY id LIMIT ?")
        .all(now, now, limit) as NotificationRow[];
      const claim = this.db.prepare(
        "UPDATE monitor_notifications SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1 WHERE id = ? AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < ?)",
      );
      return rows.filter((r) => claim.run(workerId, now + leaseMs, r.id, now).changes === 1).map((r) => toNotification({ ...r, attempts: r.attempts + 1 }));
    });
  }

  async finishNotification(id: number, workerId: string, result: { status: NotificationStatus; doneTargets: string[]; sentAt?: number; error?: string; retryAt?: number }): Promise<void> {
    this.tx(() => {
      this.db
        .prepare(
          `UPDATE monitor_notifications SET status = ?, done_targets = ?, sent_at = COALESCE(?, sent_at), last_error = ?,
             next_attempt_at = COALESCE(?, next_attempt_at), claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?`,
        )
        .run(result.status, JSON.stringify(result.doneTargets), result.sentAt ?? null, result.error ?? null, result.retryAt ?? null, id, workerId);
    });
  }

  async notifications(filter: { projectId?: number; monitorId?: number; limit?: number } = {}): Promise<Notification[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.projectId !== undefined) (where.push('project_id = ?'), args.push(filter.projectId));
    if (filter.monitorId !== undefined) (where.push('monitor_id = ?'), args.push(filter.monitorId));
    const sql = `SELECT * FROM monitor_notifications ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 100) as NotificationRow[]).map(toNotification);
  }

  async addLatency(projectId: number, minute: number, buckets: number[], count: number, sumMs: number): Promise<void> {
    this.tx(() => {
      const row = this.db.prepare('SELECT buckets FROM monitor_latency WHERE project_id = ? AND minute = ?').get(projectId, minute) as { buckets: string } | undefined;
      if (!row) {
        this.db.prepare('INSERT INTO monitor_latency (project_id, minute, buckets, count, sum_ms) VALUES (?, ?, ?, ?, ?)').run(projectId, minute, JSON.stringify(buckets), count, sumMs);
        return;
      }
      const merged = JSON.parse(row.buckets) as number[];
      buckets.forEach((n, i) => (merged[i] = (merged[i] ?? 0) + n));
      this.db
        .prepare('UPDATE monitor_latency SET buckets = ?, count = count + ?, sum_ms = sum_ms + ? WHERE project_id = ? AND minute = ?')
        .run(JSON.stringify(merged), count, sumMs, projectId, minute);
    });
  }

  async latency(projectId: number, fromMinute: number, toMinute: number): Promise<LatencyMinute[]> {
    const rows = this.db
      .prepare('SELECT * FROM monitor_latency WHERE project_id = ? AND minute >= ? AND minute <= ? ORDER BY minute')
      .all(projectId, fromMinute, toMinute) as { project_id: number; minute: number; buckets: string; count: number; sum_ms: number }[];
    return rows.map((r) => ({ projectId: r.project_id, minute: r.minute, buckets: JSON.parse(r.buckets) as number[], count: r.count, sumMs: r.sum_ms }));
  }

  async pruneLatency(beforeMinute: number): Promise<number> {
    return deleteInChunks((n) => this.db.prepare('DELETE FROM monitor_latency WHERE (project_id, minute) IN (SELECT project_id, minute FROM monitor_latency WHERE minute < ? LIMIT ?)').run(beforeMinute, n).changes);
  }

  async getRuleState(fingerprint: string): Promise<RuleState | null> {
    const r = this.db.prepare('SELECT * FROM monitor_rule_state WHERE fingerprint = ?').get(fingerprint) as RuleRow | undefined;
    return r ? toRuleState(r) : null;
  }

  async setRuleState(s: RuleState): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO monitor_rule_state (fingerprint, project_id, rule, state, since, value, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (fingerprint) DO UPDATE SET state = excluded.state, since = excluded.since, value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(s.fingerprint, s.projectId, s.rule, s.state, s.since, s.value, s.updatedAt);
  }

  async ruleStates(filter: { projectId?: number; rule?: string; activeOnly?: boolean } = {}): Promise<RuleState[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.projectId !== undefined) (where.push('project_id = ?'), args.push(filter.projectId));
    if (filter.rule !== undefined) (where.push('rule = ?'), args.push(filter.rule));
    if (filter.activeOnly) where.push("state <> 'inactive'");
    const sql = `SELECT * FROM monitor_rule_state ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY fingerprint`;
    return (this.db.prepare(sql).all(...args) as RuleRow[]).map(toRuleState);
  }

  async getValue(key: string): Promise<string | null> {
    return (this.db.prepare('SELECT value FROM monitor_kv WHERE key = ?').get(key) as { value: string } | undefined)?.value ?? null;
  }

  async setValue(key: string, value: string): Promise<void> {
    this.db.prepare('INSERT INTO monitor_kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }
}

interface MonitorRow {
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
  polling: string | null;
  gauges: string | null;
  conflicts_total: number;
  conflict_since: number | null;
  conflict_alerted: number;
  created_at: number;
  updated_at: number;
}

interface FlipRow {
  id: number;
  monitor_id: number;
  project_id: number;
  at: number;
  from_status: string;
  to_status: string;
  reason: string | null;
  environment: string | null;
}

interface RefusalRow {
  project_id: number;
  reason: string;
  count: number;
  first_at: number;
  last_at: number;
  last_slug: string | null;
  last_detail: string | null;
}

interface NotificationRow {
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

interface RuleRow {
  fingerprint: string;
  project_id: number;
  rule: string;
  state: string;
  since: number | null;
  value: number | null;
  updated_at: number;
}

function toColumn(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return value;
}

function toMonitor(r: MonitorRow): Monitor {
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
    polling: r.polling ? (JSON.parse(r.polling) as Record<string, unknown>) : null,
    gauges: r.gauges ? (JSON.parse(r.gauges) as Record<string, number>) : null,
    conflictsTotal: r.conflicts_total,
    conflictSince: r.conflict_since,
    conflictAlerted: r.conflict_alerted === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toNotification(r: NotificationRow): Notification {
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

function toRuleState(r: RuleRow): RuleState {
  return { fingerprint: r.fingerprint, projectId: r.project_id, rule: r.rule, state: r.state as RuleState['state'], since: r.since, value: r.value, updatedAt: r.updated_at };
}

function monitorWhere(filter: MonitorFilter): { where: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (filter.projectId !== undefined) (where.push('m.project_id = ?'), args.push(filter.projectId));
  if (filter.kind !== undefined) (where.push('m.kind = ?'), args.push(filter.kind));
  if (filter.status !== undefined) (where.push('s.status = ?'), args.push(filter.status));
  if (filter.active) where.push("s.status <> 'paused'");
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

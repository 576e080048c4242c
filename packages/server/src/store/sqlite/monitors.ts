import type Sqlite from 'better-sqlite3';
import type { Flip, LatencyMinute, Monitor, MonitorFilter, MonitorStore, NewMonitor, MonitorSource, NewNotification, Notification, NotificationStatus, Refusal, RefusalReason, RuleState, SettingsChange, Transition } from '../monitors.js';
import { addBuckets, firstDeadline, manualFieldsAfter, newMonitorColumns, settingAssignments, stateAssignments } from '../monitor-rules.js';
import { JOINED, monitorWhere, toFlip, toMonitor, toNotification, toRefusal, toRuleState, type FlipRow, type MonitorRow, type NotificationRow, type RefusalRow, type RuleRow } from '../monitor-rows.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { deleteInChunks, CHUNK_ROWS } from './chunked.js';


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
           recovery_threshold, url, timeout_ms, lock_key, update_lag_ms, update_lag_for_ms, manual_fields, created_at, updated_at)
         VALUES (@project_id, @slug, @kind, @source, @period_ms, @grace_ms, @schedule, @timezone, @failure_threshold,
           @recovery_threshold, @url, @timeout_ms, @lock_key, @update_lag_ms, @update_lag_for_ms, @manual_fields, @created_at, @updated_at)`,
      )
      .run(newMonitorColumns(input, now));
    const stateId = this.insertState(Number(info.lastInsertRowid), null, firstDeadline(input.kind, now), now);
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
      const sets = settingAssignments(wanted.set);
      this.db
        .prepare(`UPDATE monitors SET ${[...sets.map(([column]) => `${column} = ?`), 'manual_fields = ?', 'updated_at = ?'].join(', ')} WHERE id = ?`)
        .run(...sets.map(([, value]) => value), JSON.stringify(manualFieldsAfter(current, wanted)), now, monitorId);
      return toMonitor(this.firstState.get(monitorId) as MonitorRow);
    });
  }

  async dueMonitors(now: number, limit: number): Promise<Monitor[]> {
    return (this.due.all(now, limit) as MonitorRow[]).map(toMonitor);
  }

  async transition(t: Transition): Promise<boolean> {
    const sets = stateAssignments(t.set);
    return this.tx(() => {
      const changed = this.db
        .prepare(`UPDATE monitor_states SET ${sets.map(([column]) => `${column} = ?`).join(', ')} WHERE id = ? AND status = ? AND updated_at = ?`)
        .run(...sets.map(([, value]) => value), t.stateId, t.expect.status, t.expect.updatedAt).changes;
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
    // Order-free: processes report in any order, the earliest time stays first and the latest refusal's details stay last.
    this.db
      .prepare(
        `INSERT INTO monitor_refusals (project_id, reason, count, first_at, last_at, last_slug, last_detail) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (project_id, reason) DO UPDATE SET count = count + excluded.count,
           first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at),
           last_slug = CASE WHEN excluded.last_at >= last_at THEN excluded.last_slug ELSE last_slug END,
           last_detail = CASE WHEN excluded.last_at >= last_at THEN excluded.last_detail ELSE last_detail END`,
      )
      .run(projectId, reason, count, at, at, slug, detail);
  }

  async refusals(projectId?: number): Promise<Refusal[]> {
    const rows = (projectId === undefined
      ? this.db.prepare('SELECT * FROM monitor_refusals ORDER BY project_id, reason').all()
      : this.db.prepare('SELECT * FROM monitor_refusals WHERE project_id = ? ORDER BY reason').all(projectId)) as RefusalRow[];
    return rows.map(toRefusal);
  }

  async flips(monitorId: number, opts: { limit?: number; since?: number } = {}): Promise<Flip[]> {
    const rows = this.db
      .prepare('SELECT * FROM monitor_flips WHERE monitor_id = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?')
      .all(monitorId, opts.since ?? 0, opts.limit ?? 100) as FlipRow[];
    return rows.map(toFlip);
  }

  async flipsForUptime(monitorId: number, since: number): Promise<Flip[]> {
    const rows = this.db
      .prepare(
        // Per state (environment), its newest flip before the window, found by walking back along the
        // (monitor_id, at) index from the window's start: the history before that is never read.
        `SELECT f.* FROM monitor_states s JOIN monitor_flips f ON f.id = (
           SELECT id FROM monitor_flips WHERE monitor_id = s.monitor_id AND environment IS s.environment AND at < ? ORDER BY at DESC, id DESC LIMIT 1)
         WHERE s.monitor_id = ?
         UNION ALL
         SELECT * FROM monitor_flips WHERE monitor_id = ? AND at >= ?
         ORDER BY at, id`,
      )
      .all(since, monitorId, monitorId, since) as FlipRow[];
    return rows.map(toFlip);
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
      const merged = addBuckets(JSON.parse(row.buckets) as number[], buckets);
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

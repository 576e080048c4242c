import { sql } from 'kysely';
import type { Flip, LatencyMinute, Monitor, MonitorFilter, MonitorSource, MonitorStore, NewMonitor, NewNotification, Notification, NotificationStatus, Refusal, RefusalReason, RuleState, SettingsChange, Transition } from '../monitors.js';
import { addBuckets, firstDeadline, manualFieldsAfter, newMonitorColumns, settingAssignments, stateAssignments } from '../monitor-rules.js';
import { JOINED, monitorWhere, toFlip, toMonitor, toNotification, toRefusal, toRuleState, type FlipRow, type MonitorRow, type NotificationRow, type RefusalRow, type RuleRow } from '../monitor-rows.js';
import { all, changes, isUniqueViolation, LOCKS, lockXact, one, withArgs, type Db } from './query.js';

const joined = sql.raw(JOINED);

/** `SET a = $1, b = $2` from [column, value] pairs (columns come from the shared whitelists, never from input). */
function assignmentList(pairs: [string, unknown][]) {
  return sql.join(pairs.map(([column, value]) => sql`${sql.ref(column)} = ${value}`));
}

/**
 * MonitorStore on PostgreSQL, for several Botpulse processes on one database. State changes are
 * conditional updates (`WHERE status = $ AND updated_at = $`): a second process changing the same
 * state waits for the first to commit, then finds it changed and writes nothing; the flip and its
 * notification go in the same transaction. Steps the SQLite store makes atomic with its single
 * writer (create under the project's limit, adopt or create an environment's state) take a
 * transaction advisory lock on the project or the monitor. Notifications are claimed with
 * `FOR UPDATE SKIP LOCKED`. The storage rules are in monitor-rules.ts, shared with SQLite.
 */
export class PostgresMonitorStore implements MonitorStore {
  constructor(private readonly db: Db) {}

  private tx<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  async createMonitor(input: NewMonitor, now: number): Promise<Monitor> {
    return this.tx((trx) => this.insertMonitor(trx, input, now));
  }

  private async insertMonitor(trx: Db, input: NewMonitor, now: number): Promise<Monitor> {
    const c = newMonitorColumns(input, now);
    const row = await one<{ id: number }>(
      trx,
      sql`INSERT INTO monitors (project_id, slug, kind, source, period_ms, grace_ms, schedule, timezone, failure_threshold,
            recovery_threshold, url, timeout_ms, lock_key, update_lag_ms, update_lag_for_ms, manual_fields, created_at, updated_at)
          VALUES (${c.project_id}, ${c.slug}, ${c.kind}, ${c.source}, ${c.period_ms}, ${c.grace_ms}, ${c.schedule}, ${c.timezone}, ${c.failure_threshold},
            ${c.recovery_threshold}, ${c.url}, ${c.timeout_ms}, ${c.lock_key}, ${c.update_lag_ms}, ${c.update_lag_for_ms}, ${c.manual_fields}, ${c.created_at}, ${c.updated_at})
          RETURNING id`,
    );
    const stateId = await this.insertState(trx, row!.id, null, firstDeadline(input.kind, now), now);
    return (await this.byState(trx, stateId))!;
  }

  private async insertState(trx: Db, monitorId: number, environment: string | null, deadline: number | null, now: number): Promise<number> {
    const row = await one<{ id: number }>(
      trx,
      sql`INSERT INTO monitor_states (monitor_id, environment, status, deadline, created_at, updated_at)
          VALUES (${monitorId}, ${environment}, 'new', ${deadline}, ${now}, ${now}) RETURNING id`,
    );
    return row!.id;
  }

  private async byState(db: Db, stateId: number): Promise<Monitor | null> {
    const row = await one<MonitorRow>(db, sql`${joined} WHERE s.id = ${stateId}`);
    return row ? toMonitor(row) : null;
  }

  ensureMonitor(input: NewMonitor, now: number): Promise<{ monitor: Monitor; created: boolean }>;
  ensureMonitor(input: NewMonitor, now: number, limit: { max: number; sources: MonitorSource[] }): Promise<{ monitor: Monitor; created: boolean } | { monitor: null; created: false }>;
  async ensureMonitor(input: NewMonitor, now: number, limit?: { max: number; sources: MonitorSource[] }): Promise<{ monitor: Monitor; created: boolean } | { monitor: null; created: false }> {
    const existing = await this.findMonitor(input.projectId, input.slug);
    if (existing) return { monitor: existing, created: false };
    try {
      return await this.tx(async (trx) => {
        // The project's monitors are counted and the new one inserted as one step across processes.
        await lockXact(trx, LOCKS.monitorProject, input.projectId);
        const raced = await this.firstBySlug(trx, input.projectId, input.slug);
        if (raced) return { monitor: raced, created: false };
        if (limit && (await this.countBySources(trx, input.projectId, limit.sources)) >= limit.max) return { monitor: null, created: false as const };
        return { monitor: await this.insertMonitor(trx, input, now), created: true };
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const raced = await this.findMonitor(input.projectId, input.slug); // made meanwhile outside the lock (createMonitor)
      if (raced) return { monitor: raced, created: false };
      throw err;
    }
  }

  async ensureEnvironment(monitorId: number, environment: string, now: number): Promise<Monitor> {
    const own = (db: Db) => one<MonitorRow>(db, sql`${joined} WHERE m.id = ${monitorId} AND s.environment = ${environment}`);
    const hit = await own(this.db);
    if (hit) return toMonitor(hit);
    return this.tx(async (trx) => {
      await lockXact(trx, LOCKS.monitorEnvironments, monitorId);
      const raced = await own(trx);
      if (raced) return toMonitor(raced);
      const unassigned = await one<{ id: number }>(trx, sql`SELECT id FROM monitor_states WHERE monitor_id = ${monitorId} AND environment IS NULL ORDER BY id LIMIT 1`);
      if (unassigned) {
        await sql`UPDATE monitor_states SET environment = ${environment} WHERE id = ${unassigned.id}`.execute(trx);
        // Its history so far is this environment's history.
        await sql`UPDATE monitor_flips SET environment = ${environment} WHERE monitor_id = ${monitorId} AND environment IS NULL`.execute(trx);
        return (await this.byState(trx, unassigned.id))!;
      }
      return (await this.byState(trx, await this.insertState(trx, monitorId, environment, null, now)))!;
    });
  }

  async getMonitor(id: number): Promise<Monitor | null> {
    const row = await one<MonitorRow>(this.db, sql`${joined} WHERE m.id = ${id} ORDER BY s.id LIMIT 1`);
    return row ? toMonitor(row) : null;
  }

  async getState(stateId: number): Promise<Monitor | null> {
    return this.byState(this.db, stateId);
  }

  async monitorStates(monitorId: number): Promise<Monitor[]> {
    return (await all<MonitorRow>(this.db, sql`${joined} WHERE m.id = ${monitorId} ORDER BY s.id`)).map(toMonitor);
  }

  async findMonitor(projectId: number, slug: string, environment?: string): Promise<Monitor | null> {
    if (environment === undefined) return this.firstBySlug(this.db, projectId, slug);
    const row = await one<MonitorRow>(this.db, sql`${joined} WHERE m.project_id = ${projectId} AND m.slug = ${slug} AND s.environment = ${environment}`);
    return row ? toMonitor(row) : null;
  }

  private async firstBySlug(db: Db, projectId: number, slug: string): Promise<Monitor | null> {
    const row = await one<MonitorRow>(db, sql`${joined} WHERE m.project_id = ${projectId} AND m.slug = ${slug} ORDER BY s.id LIMIT 1`);
    return row ? toMonitor(row) : null;
  }

  async listMonitors(filter: MonitorFilter = {}): Promise<Monitor[]> {
    const { where, args } = monitorWhere(filter);
    if (filter.afterStateId !== undefined) {
      // A page by state id (the periodic jobs read thousands of states a page at a time).
      const limit = filter.limit === undefined ? sql`` : sql` LIMIT ${filter.limit}`;
      return (await all<MonitorRow>(this.db, sql`${joined} ${withArgs(where, args)} ORDER BY s.id${limit}`)).map(toMonitor);
    }
    return (await all<MonitorRow>(this.db, sql`${joined} ${withArgs(where, args)} ORDER BY m.project_id, m.slug COLLATE "C", s.id`)).map(toMonitor);
  }

  async monitorsAfter(afterId: number, limit: number): Promise<Monitor[]> {
    const rows = await all<MonitorRow>(
      this.db,
      sql`${joined} WHERE m.id IN (SELECT id FROM monitors WHERE id > ${afterId} ORDER BY id LIMIT ${limit}) ORDER BY m.id, s.id`,
    );
    return rows.map(toMonitor);
  }

  async countMonitors(filter: MonitorFilter = {}): Promise<number> {
    const { where, args } = monitorWhere(filter);
    const row = await one<{ n: number }>(this.db, sql`SELECT COUNT(*) AS n FROM monitor_states s JOIN monitors m ON m.id = s.monitor_id ${withArgs(where, args)}`);
    return Number(row?.n ?? 0);
  }

  async countProjectMonitors(projectId: number, sources?: MonitorSource[]): Promise<number> {
    return this.countBySources(this.db, projectId, sources);
  }

  private async countBySources(db: Db, projectId: number, sources?: MonitorSource[]): Promise<number> {
    const bySource = sources ? sql`AND source = ANY(${sources}::text[])` : sql``;
    const row = await one<{ n: number }>(db, sql`SELECT COUNT(*) AS n FROM monitors WHERE project_id = ${projectId} ${bySource}`);
    return Number(row?.n ?? 0);
  }

  async deleteMonitor(id: number): Promise<void> {
    await this.tx(async (trx) => {
      await sql`DELETE FROM monitor_flips WHERE monitor_id = ${id}`.execute(trx);
      await sql`DELETE FROM monitor_states WHERE monitor_id = ${id}`.execute(trx);
      await sql`DELETE FROM monitors WHERE id = ${id}`.execute(trx);
    });
  }

  async updateSettings(monitorId: number, change: (current: Monitor) => SettingsChange | null, now: number): Promise<Monitor | null> {
    return this.tx(async (trx) => {
      // The settings row stays locked until the change commits: two editors take turns.
      const row = await one<MonitorRow>(trx, sql`${joined} WHERE m.id = ${monitorId} ORDER BY s.id LIMIT 1 FOR UPDATE OF m`);
      if (!row) return null;
      const current = toMonitor(row);
      const wanted = change(current);
      if (!wanted) return current;
      const sets: [string, unknown][] = [...settingAssignments(wanted.set), ['manual_fields', JSON.stringify(manualFieldsAfter(current, wanted))], ['updated_at', now]];
      await sql`UPDATE monitors SET ${assignmentList(sets)} WHERE id = ${monitorId}`.execute(trx);
      return toMonitor((await one<MonitorRow>(trx, sql`${joined} WHERE m.id = ${monitorId} ORDER BY s.id LIMIT 1`))!);
    });
  }

  async dueMonitors(now: number, limit: number): Promise<Monitor[]> {
    return (await all<MonitorRow>(this.db, sql`${joined} WHERE s.deadline IS NOT NULL AND s.deadline <= ${now} ORDER BY s.deadline LIMIT ${limit}`)).map(toMonitor);
  }

  async transition(t: Transition): Promise<boolean> {
    const sets = stateAssignments(t.set);
    return this.tx(async (trx) => {
      const changed = await changes(
        trx,
        sql`UPDATE monitor_states SET ${assignmentList(sets)} WHERE id = ${t.stateId} AND status = ${t.expect.status} AND updated_at = ${t.expect.updatedAt}`,
      );
      if (changed !== 1) return false;
      if (t.flip) {
        await sql`INSERT INTO monitor_flips (monitor_id, project_id, at, from_status, to_status, reason, environment)
                  SELECT s.monitor_id, m.project_id, ${t.flip.at}, ${t.flip.from}, ${t.flip.to}, ${t.flip.reason}, s.environment
                  FROM monitor_states s JOIN monitors m ON m.id = s.monitor_id WHERE s.id = ${t.stateId}`.execute(trx);
      }
      for (const n of t.notify ?? []) await this.insertNotification(trx, n);
      return true;
    });
  }

  async postponeDeadlines(until: (m: Monitor) => number): Promise<number> {
    return this.tx(async (trx) => {
      let moved = 0;
      const rows = await all<MonitorRow>(trx, sql`${joined} WHERE s.deadline IS NOT NULL AND s.status IN ('up', 'late', 'new')`);
      for (const row of rows) {
        const at = until(toMonitor(row));
        moved += await changes(trx, sql`UPDATE monitor_states SET deadline = ${at} WHERE id = ${row.state_id} AND deadline < ${at}`);
      }
      return moved;
    });
  }

  async flips(monitorId: number, opts: { limit?: number; since?: number } = {}): Promise<Flip[]> {
    const rows = await all<FlipRow>(
      this.db,
      sql`SELECT * FROM monitor_flips WHERE monitor_id = ${monitorId} AND at >= ${opts.since ?? 0} ORDER BY at DESC, id DESC LIMIT ${opts.limit ?? 100}`,
    );
    return rows.map(toFlip);
  }

  async flipsForUptime(monitorId: number, since: number): Promise<Flip[]> {
    const rows = await all<FlipRow>(
      this.db,
      // Per state (environment), its newest flip before the window, found by walking back along the
      // (monitor_id, at) index from the window's start: the history before that is never read.
      sql`SELECT f.* FROM monitor_states s JOIN monitor_flips f ON f.id = (
            SELECT id FROM monitor_flips WHERE monitor_id = s.monitor_id AND environment IS NOT DISTINCT FROM s.environment AND at < ${since} ORDER BY at DESC, id DESC LIMIT 1)
          WHERE s.monitor_id = ${monitorId}
          UNION ALL
          SELECT * FROM monitor_flips WHERE monitor_id = ${monitorId} AND at >= ${since}
          ORDER BY at, id`,
    );
    return rows.map(toFlip);
  }

  async countRefusal(projectId: number, reason: RefusalReason, at: number, slug: string | null, detail: string | null, count = 1): Promise<void> {
    // Order-free: processes report in any order, the earliest time stays first and the latest refusal's details stay last.
    await sql`INSERT INTO monitor_refusals (project_id, reason, count, first_at, last_at, last_slug, last_detail)
              VALUES (${projectId}, ${reason}, ${count}, ${at}, ${at}, ${slug}, ${detail})
              ON CONFLICT (project_id, reason) DO UPDATE SET count = monitor_refusals.count + excluded.count,
                first_at = LEAST(monitor_refusals.first_at, excluded.first_at), last_at = GREATEST(monitor_refusals.last_at, excluded.last_at),
                last_slug = CASE WHEN excluded.last_at >= monitor_refusals.last_at THEN excluded.last_slug ELSE monitor_refusals.last_slug END,
                last_detail = CASE WHEN excluded.last_at >= monitor_refusals.last_at THEN excluded.last_detail ELSE monitor_refusals.last_detail END`.execute(this.db);
  }

  async refusals(projectId?: number): Promise<Refusal[]> {
    const rows =
      projectId === undefined
        ? await all<RefusalRow>(this.db, sql`SELECT * FROM monitor_refusals ORDER BY project_id, reason COLLATE "C"`)
        : await all<RefusalRow>(this.db, sql`SELECT * FROM monitor_refusals WHERE project_id = ${projectId} ORDER BY reason COLLATE "C"`);
    return rows.map(toRefusal);
  }

  private async insertNotification(db: Db, n: NewNotification): Promise<NotificationRow> {
    const row = await one<NotificationRow>(
      db,
      sql`INSERT INTO monitor_notifications (project_id, monitor_id, fingerprint, kind, text, payload, next_attempt_at, created_at)
          VALUES (${n.projectId}, ${n.monitorId}, ${n.fingerprint}, ${n.kind}, ${n.text}, ${JSON.stringify(n.payload)}, ${n.createdAt}, ${n.createdAt})
          RETURNING *`,
    );
    return row!;
  }

  async enqueue(n: NewNotification): Promise<Notification> {
    return toNotification(await this.insertNotification(this.db, n));
  }

  async claimNotifications(workerId: string, now: number, leaseMs: number, limit: number): Promise<Notification[]> {
    // One statement: rows another process is claiming right now are skipped, not waited for.
    const rows = await all<NotificationRow>(
      this.db,
      sql`UPDATE monitor_notifications SET claimed_by = ${workerId}, claimed_until = ${now + leaseMs}, attempts = attempts + 1
          WHERE id IN (
            SELECT id FROM monitor_notifications WHERE status = 'pending' AND next_attempt_at <= ${now} AND (claimed_until IS NULL OR claimed_until < ${now})
            ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED
          )
          RETURNING *`,
    );
    return rows.sort((x, y) => x.id - y.id).map(toNotification);
  }

  async finishNotification(id: number, workerId: string, result: { status: NotificationStatus; doneTargets: string[]; sentAt?: number; error?: string; retryAt?: number }): Promise<void> {
    await sql`UPDATE monitor_notifications SET status = ${result.status}, done_targets = ${JSON.stringify(result.doneTargets)},
                sent_at = COALESCE(${result.sentAt ?? null}::bigint, sent_at), last_error = ${result.error ?? null},
                next_attempt_at = COALESCE(${result.retryAt ?? null}::bigint, next_attempt_at), claimed_by = NULL, claimed_until = NULL
              WHERE id = ${id} AND claimed_by = ${workerId}`.execute(this.db);
  }

  async notifications(filter: { projectId?: number; monitorId?: number; limit?: number } = {}): Promise<Notification[]> {
    const where = [sql`TRUE`];
    if (filter.projectId !== undefined) where.push(sql`project_id = ${filter.projectId}`);
    if (filter.monitorId !== undefined) where.push(sql`monitor_id = ${filter.monitorId}`);
    const rows = await all<NotificationRow>(this.db, sql`SELECT * FROM monitor_notifications WHERE ${sql.join(where, sql` AND `)} ORDER BY id DESC LIMIT ${filter.limit ?? 100}`);
    return rows.map(toNotification);
  }

  async addLatency(projectId: number, minute: number, buckets: number[], count: number, sumMs: number): Promise<void> {
    await this.tx(async (trx) => {
      const inserted = await changes(
        trx,
        sql`INSERT INTO monitor_latency (project_id, minute, buckets, count, sum_ms) VALUES (${projectId}, ${minute}, ${JSON.stringify(buckets)}, ${count}, ${sumMs})
            ON CONFLICT (project_id, minute) DO NOTHING`,
      );
      if (inserted === 1) return;
      // The minute exists: lock it, add ours to it.
      const row = await one<{ buckets: string }>(trx, sql`SELECT buckets FROM monitor_latency WHERE project_id = ${projectId} AND minute = ${minute} FOR UPDATE`);
      const merged = addBuckets(JSON.parse(row!.buckets) as number[], buckets);
      await sql`UPDATE monitor_latency SET buckets = ${JSON.stringify(merged)}, count = count + ${count}, sum_ms = sum_ms + ${sumMs}
                WHERE project_id = ${projectId} AND minute = ${minute}`.execute(trx);
    });
  }

  async latency(projectId: number, fromMinute: number, toMinute: number): Promise<LatencyMinute[]> {
    const rows = await all<{ project_id: number; minute: number; buckets: string; count: number; sum_ms: number }>(
      this.db,
      sql`SELECT * FROM monitor_latency WHERE project_id = ${projectId} AND minute >= ${fromMinute} AND minute <= ${toMinute} ORDER BY minute`,
    );
    return rows.map((r) => ({ projectId: r.project_id, minute: r.minute, buckets: JSON.parse(r.buckets) as number[], count: r.count, sumMs: r.sum_ms }));
  }

  async pruneLatency(beforeMinute: number): Promise<number> {
    return changes(this.db, sql`DELETE FROM monitor_latency WHERE minute < ${beforeMinute}`);
  }

  async getRuleState(fingerprint: string): Promise<RuleState | null> {
    const row = await one<RuleRow>(this.db, sql`SELECT * FROM monitor_rule_state WHERE fingerprint = ${fingerprint}`);
    return row ? toRuleState(row) : null;
  }

  async setRuleState(s: RuleState): Promise<void> {
    await sql`INSERT INTO monitor_rule_state (fingerprint, project_id, rule, state, since, value, updated_at)
              VALUES (${s.fingerprint}, ${s.projectId}, ${s.rule}, ${s.state}, ${s.since}, ${s.value}, ${s.updatedAt})
              ON CONFLICT (fingerprint) DO UPDATE SET state = excluded.state, since = excluded.since, value = excluded.value, updated_at = excluded.updated_at`.execute(this.db);
  }

  async ruleStates(filter: { projectId?: number; rule?: string; activeOnly?: boolean } = {}): Promise<RuleState[]> {
    const where = [sql`TRUE`];
    if (filter.projectId !== undefined) where.push(sql`project_id = ${filter.projectId}`);
    if (filter.rule !== undefined) where.push(sql`rule = ${filter.rule}`);
    if (filter.activeOnly) where.push(sql`state <> 'inactive'`);
    // COLLATE "C": byte order, as SQLite sorts, whatever the database's collation.
    return (await all<RuleRow>(this.db, sql`SELECT * FROM monitor_rule_state WHERE ${sql.join(where, sql` AND `)} ORDER BY fingerprint COLLATE "C"`)).map(toRuleState);
  }

  async getValue(key: string): Promise<string | null> {
    return (await one<{ value: string }>(this.db, sql`SELECT value FROM monitor_kv WHERE key = ${key}`))?.value ?? null;
  }

  async setValue(key: string, value: string): Promise<void> {
    await sql`INSERT INTO monitor_kv (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`.execute(this.db);
  }
}

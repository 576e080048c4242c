import type Sqlite from 'better-sqlite3';
import type { AlertDecision, AlertLogEntry, AlertState, AlertStore, AlertTarget, ChannelKind, ClaimOptions, ExpiredRows, FeedChange, MessageAction, NewOutboxRow, OutboxFilter, OutboxRow, OutboxStatus, PlannedDecision, SendSuccess, SentMessage, Silence } from '../alerts.js';
import { headHoldsQueue, mergeFollowUps, paceAfterClaim, takeFingerprints, targetMayTake } from '../alert-rules.js';
import { newOutboxColumns, stateColumns, toChange, toLogEntry, toMessage, toOutbox, toSilence, toState, toTarget, type ChangeRow, type LogRow, type MessageRow, type OutboxDbRow, type SilenceRow, type StateRow, type TargetRow } from '../alert-rows.js';
import { withStatementCache } from './statement-cache.js';

/**
 * AlertStore on SqliteStore's better-sqlite3 connection (`store.db`). Every read-modify-write is
 * one `BEGIN IMMEDIATE` transaction, so two processes on one file serialise on SQLite's write
 * lock; the outbox claim is also a conditional update, so it stays correct on a database with
 * row-level concurrency (the PostgreSQL store will do the same with `UPDATE … WHERE`).
 */
export class SqliteAlertStore implements AlertStore {
  private readonly db: Sqlite.Database;

  constructor(db: Sqlite.Database) {
    this.db = withStatementCache(db);
  }

  // ── noise-control state ───────────────────────────────────────────────────

  async decide(fingerprint: string, decide: (state: AlertState | null) => AlertDecision): Promise<AlertDecision> {
    return this.db.transaction(() => this.applyDecision(fingerprint, decide)).immediate();
  }

  /** Must run inside a transaction. */
  private applyDecision(fingerprint: string, decide: (state: AlertState | null) => AlertDecision): AlertDecision {
    const decision = decide(this.readState(fingerprint));
    if (decision.state) this.writeState(decision.state);
    for (const row of decision.enqueue) this.insertOutbox(row);
    for (const entry of decision.log) this.insertLog(entry);
    return decision;
  }

  async getState(fingerprint: string): Promise<AlertState | null> {
    return this.readState(fingerprint);
  }

  async getStates(fingerprints: string[]): Promise<Map<string, AlertState>> {
    const states = new Map<string, AlertState>();
    for (const fingerprint of new Set(fingerprints)) {
      const state = this.readState(fingerprint);
      if (state) states.set(fingerprint, state);
    }
    return states;
  }

  private readState(fingerprint: string): AlertState | null {
    const row = this.db.prepare(`SELECT s.*, ${AWAITING_SEND} AS awaiting_send FROM alert_state s WHERE s.fingerprint = ?`).get(fingerprint) as StateRow | undefined;
    return row ? toState(row) : null;
  }

  private writeState(s: AlertState): void {
    this.db
      .prepare(
        `INSERT INTO alert_state (fingerprint, project_id, issue_id, tier, cooldown_until, pending_tier, pending_reasons,
           last_enqueued_at, last_sent_at, events_at_last, users_at_last, repeat_at, acked_at, acked_by, updated_at)
         VALUES (@fingerprint, @project_id, @issue_id, @tier, @cooldown_until, @pending_tier, @pending_reasons,
           @last_enqueued_at, @last_sent_at, @events_at_last, @users_at_last, @repeat_at, @acked_at, @acked_by, @updated_at)
         ON CONFLICT (fingerprint) DO UPDATE SET tier = excluded.tier, cooldown_until = excluded.cooldown_until,
           pending_tier = excluded.pending_tier, pending_reasons = excluded.pending_reasons,
           last_enqueued_at = excluded.last_enqueued_at, last_sent_at = excluded.last_sent_at,
           events_at_last = excluded.events_at_last, users_at_last = excluded.users_at_last,
           repeat_at = excluded.repeat_at, acked_at = excluded.acked_at, acked_by = excluded.acked_by,
           updated_at = excluded.updated_at`,
      )
      .run(stateColumns(s, Date.now()));
  }

  /** Adds a row; false if its dedupe key is already in the outbox (rows without a key are always added). */
  private insertOutbox(row: NewOutboxRow): boolean {
    const result = this.db
      .prepare(
        `INSERT INTO alert_outbox (project_id, issue_id, fingerprint, channel, target, tier, reasons, status, created_at, not_before, next_attempt_at, body, dedupe_key)
         VALUES (@project_id, @issue_id, @fingerprint, @channel, @target, @tier, @reasons, @status, @created_at, @not_before, @next_attempt_at, @body, @dedupe_key)
         ON CONFLICT (dedupe_key) DO NOTHING`,
      )
      .run(newOutboxColumns(row));
    return result.changes === 1;
  }

  async enqueueOnce(rows: NewOutboxRow[]): Promise<number> {
    return this.db.transaction(() => rows.filter((row) => this.insertOutbox(row)).length).immediate();
  }

  private insertLog(e: AlertLogEntry): void {
    this.db
      .prepare('INSERT INTO alert_log (at, project_id, issue_id, fingerprint, tier, reasons, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(e.at, e.projectId, e.issueId, e.fingerprint, e.tier, JSON.stringify(e.reasons), e.outcome);
  }

  async dueFollowUps(now: number, limit: number): Promise<AlertState[]> {
    // Which destinations still wait for a message is read again inside each follow-up's decision.
    const repeats = this.db.prepare('SELECT s.*, NULL AS awaiting_send FROM alert_state s WHERE s.repeat_at <= ? ORDER BY s.repeat_at LIMIT ?').all(now, limit) as StateRow[];
    const pending = this.db
      .prepare('SELECT s.*, NULL AS awaiting_send FROM alert_state s WHERE s.pending_tier IS NOT NULL AND s.cooldown_until <= ? ORDER BY s.cooldown_until LIMIT ?')
      .all(now, limit) as StateRow[];
    return mergeFollowUps(repeats.map(toState), pending.map(toState));
  }

  async countEventsSince(scope: { issueId: number } | { projectId: number }, since: number, cap: number): Promise<number> {
    // Both shapes walk an index from `since` and stop after `cap` rows.
    const sql =
      'issueId' in scope
        ? 'SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE issue_id = ? AND received_at >= ? LIMIT ?)'
        : 'SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE received_at >= ? AND project_id = ? LIMIT ?)';
    const args = 'issueId' in scope ? [scope.issueId, since, cap] : [since, scope.projectId, cap];
    return Number(this.db.prepare(sql).pluck().get(...args));
  }

  async countIssueEventsSince(issueIds: number[], since: number, cap: number): Promise<Map<number, number>> {
    const count = this.db.prepare('SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE issue_id = ? AND received_at >= ? LIMIT ?)').pluck();
    return new Map([...new Set(issueIds)].map((issueId) => [issueId, Number(count.get(issueId, since, cap))]));
  }

  async acknowledge(issueId: number, by: string, at: number): Promise<void> {
    this.db
      .prepare('UPDATE alert_state SET acked_at = ?, acked_by = ?, repeat_at = NULL, updated_at = ? WHERE issue_id = ?')
      .run(at, by, at, issueId);
  }

  // ── outbox ────────────────────────────────────────────────────────────────

  async claimDue(workerId: string, now: number, opts: ClaimOptions): Promise<OutboxRow[][]> {
    return this.db
      .transaction(() => {
        // Rows that failed in our own code (internal_failures > 0) are out of the ordered queue.
        const heads = this.db
          .prepare(`SELECT channel, target, MIN(id) AS head FROM alert_outbox WHERE status = 'pending' AND internal_failures = 0 GROUP BY channel, target ORDER BY head`)
          .all() as { channel: ChannelKind; target: string; head: number }[];
        const batches: OutboxRow[][] = [];
        const served = new Set<string>();
        for (const { channel, target, head } of heads) {
          const batch = this.claimTarget(workerId, now, opts, channel, target, head);
          if (batch.length) (batches.push(batch), served.add(`${channel}\u0000${target}`));
        }
        for (const row of this.dueSetAside(now)) {
          const key = `${row.channel}\u0000${row.target}`;
          if (served.has(key)) continue; // the target's pace is taken this turn
          const batch = this.claimAlone(workerId, now, opts, row);
          if (batch.length) (batches.push(batch), served.add(key));
        }
        return batches;
      })
      .immediate();
  }

  /** The target's next message: its oldest row and the due rows of the same project after it. */
  private claimTarget(workerId: string, now: number, opts: ClaimOptions, channel: ChannelKind, target: string, headId: number): OutboxRow[] {
    const t = this.targetReady(channel, target, now, opts);
    if (!t) return [];
    const head = toOutbox(this.db.prepare('SELECT * FROM alert_outbox WHERE id = ?').get(headId) as OutboxDbRow);
    // Head of line: a later row never overtakes the oldest one, so a backlog goes out in order.
    if (headHoldsQueue(head, now)) return [];
    const candidates = (
      this.db
        .prepare(
          `SELECT * FROM alert_outbox WHERE status = 'pending' AND channel = ? AND target = ? AND project_id = ? AND internal_failures = 0
             AND not_before <= ? AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY id LIMIT 500`,
        )
        .all(channel, target, head.projectId, now, now, now) as OutboxDbRow[]
    ).map(toOutbox);
    return this.claimRows(workerId, now, opts, t, takeFingerprints(candidates, opts.maxPerMessage));
  }

  /** Set-aside rows (failed in our code) that are due again, oldest first: each is retried alone. */
  private dueSetAside(now: number): OutboxRow[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM alert_outbox WHERE status = 'pending' AND internal_failures > 0
             AND not_before <= ? AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY id LIMIT 100`,
        )
        .all(now, now, now) as OutboxDbRow[]
    ).map(toOutbox);
  }

  /** A set-aside row as a message of its own, when its target may take one now. */
  private claimAlone(workerId: string, now: number, opts: ClaimOptions, row: OutboxRow): OutboxRow[] {
    const t = this.targetReady(row.channel, row.target, now, opts);
    return t ? this.claimRows(workerId, now, opts, t, [row]) : [];
  }

  /** The target, if it may take a message now: enabled, its pace and group budget allowing. */
  private targetReady(channel: ChannelKind, target: string, now: number, opts: ClaimOptions): TargetRow | null {
    const t = this.ensureTarget(channel, target, now);
    return targetMayTake(t, now, opts) ? t : null;
  }

  private claimRows(workerId: string, now: number, opts: ClaimOptions, t: TargetRow, chosen: OutboxRow[]): OutboxRow[] {
    const claim = this.db.prepare(
      `UPDATE alert_outbox SET claimed_by = ?, claimed_until = ? WHERE id = ? AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < ?)`,
    );
    const claimed = chosen.filter((row) => claim.run(workerId, now + opts.leaseMs, row.id, now).changes === 1);
    if (claimed.length) this.reservePace(t, t.channel, t.target, now, opts);
    return claimed.map((r) => ({ ...r, claimedBy: workerId, claimedUntil: now + opts.leaseMs }));
  }

  private ensureTarget(channel: ChannelKind, target: string, now: number): TargetRow {
    this.db.prepare('INSERT INTO alert_targets (channel, target, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(channel, target, now);
    return this.db.prepare('SELECT * FROM alert_targets WHERE channel = ? AND target = ?').get(channel, target) as TargetRow;
  }

  private reservePace(t: TargetRow, channel: ChannelKind, target: string, now: number, opts: ClaimOptions): void {
    const pace = paceAfterClaim(t, now, opts);
    this.db
      .prepare('UPDATE alert_targets SET next_send_at = ?, window_start = ?, window_count = ?, updated_at = ? WHERE channel = ? AND target = ?')
      .run(pace.nextSendAt, pace.windowStart, pace.windowCount, now, channel, target);
  }

  async nextDueAt(): Promise<number | null> {
    const row = this.db
      .prepare(
        `SELECT MIN(MAX(o.next_attempt_at, o.not_before, COALESCE(o.claimed_until, 0), COALESCE(t.next_send_at, 0))) AS due
         FROM alert_outbox o LEFT JOIN alert_targets t ON t.channel = o.channel AND t.target = o.target
         WHERE o.status = 'pending' AND t.disabled_at IS NULL`,
      )
      .get() as { due: number | null };
    return row.due === null ? null : Number(row.due);
  }

  async markSent(workerId: string, batch: OutboxRow[], result: SendSuccess): Promise<void> {
    const { channel, target } = batch[0]!;
    this.db
      .transaction(() => {
        const done = this.db.prepare(
          `UPDATE alert_outbox SET status = ?, sent_at = ?, message_id = ?, claimed_by = NULL, claimed_until = NULL, last_error = NULL
           WHERE id = ? AND claimed_by = ?`,
        );
        for (const id of result.sentIds) done.run('sent', result.sentAt, result.messageId, id, workerId);
        for (const id of result.collapsedIds) done.run('collapsed', result.sentAt, result.messageId, id, workerId);
        const state = this.db.prepare(
          `UPDATE alert_state SET last_sent_at = ?, events_at_last = MAX(events_at_last, ?), users_at_last = MAX(users_at_last, ?),
             repeat_at = CASE WHEN acked_at IS NULL THEN ? ELSE NULL END, cooldown_until = MAX(cooldown_until, ?), updated_at = ?
           WHERE fingerprint = ?`,
        );
        for (const s of result.states) state.run(result.sentAt, s.eventsAtLast, s.usersAtLast, s.repeatAt, s.cooldownUntil, result.sentAt, s.fingerprint);
        this.db
          .prepare('UPDATE alert_targets SET last_ok_at = ?, last_error = NULL, next_send_at = MAX(next_send_at, ?), updated_at = ? WHERE channel = ? AND target = ?')
          .run(result.sentAt, result.nextSendAt ?? 0, result.sentAt, channel, target);
        if (result.message) this.insertMessage({ ...result.message, createdAt: result.sentAt });
      })
      .immediate();
  }

  async markRetry(workerId: string, ids: number[], error: string, nextAttemptAt: number, pauseTargetUntil?: number): Promise<void> {
    this.db
      .transaction(() => {
        const retry = this.db.prepare(
          `UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, claimed_by = NULL, claimed_until = NULL
           WHERE id = ? AND claimed_by = ?`,
        );
        for (const id of ids) retry.run(nextAttemptAt, error, id, workerId);
        const first = ids.length ? (this.db.prepare('SELECT channel, target FROM alert_outbox WHERE id = ?').get(ids[0]) as { channel: string; target: string } | undefined) : undefined;
        if (!first) return;
        this.db.prepare('UPDATE alert_targets SET last_error = ?, updated_at = ? WHERE channel = ? AND target = ?').run(error, Date.now(), first.channel, first.target);
        if (pauseTargetUntil !== undefined) {
          this.db
            .prepare('UPDATE alert_targets SET next_send_at = MAX(next_send_at, ?) WHERE channel = ? AND target = ?')
            .run(pauseTargetUntil, first.channel, first.target);
        }
      })
      .immediate();
  }

  async markFailed(workerId: string, ids: number[], error: string): Promise<void> {
    this.finish(workerId, ids, 'failed', error);
  }

  async markParked(workerId: string, ids: number[], reason: string): Promise<void> {
    this.finish(workerId, ids, 'parked', reason);
  }

  private finish(workerId: string, ids: number[], status: 'failed' | 'parked', reason: string): void {
    const update = this.db.prepare(
      `UPDATE alert_outbox SET status = ?, attempts = attempts + 1, last_error = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?`,
    );
    this.db.transaction(() => ids.forEach((id) => update.run(status, reason, id, workerId))).immediate();
  }

  async markInternalFailure(workerId: string, ids: number[], error: string, nextAttemptAt: number): Promise<void> {
    const update = this.db.prepare(
      `UPDATE alert_outbox SET attempts = attempts + 1, internal_failures = internal_failures + 1, next_attempt_at = ?, last_error = ?,
         claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?`,
    );
    this.db.transaction(() => ids.forEach((id) => update.run(nextAttemptAt, error, id, workerId))).immediate();
  }

  async expire(before: number): Promise<ExpiredRows[]> {
    return this.db
      .transaction(() => {
        const expiring = this.db
          .prepare(`SELECT channel, target, COUNT(*) AS rows FROM alert_outbox WHERE status = 'pending' AND created_at < ? GROUP BY channel, target`)
          .all(before) as { channel: ChannelKind; target: string; rows: number }[];
        if (!expiring.length) return [];
        this.db
          .prepare(`UPDATE alert_outbox SET status = 'expired', last_error = COALESCE(last_error, 'expired') WHERE status = 'pending' AND created_at < ?`)
          .run(before);
        return expiring.map((e) => ({ ...e, rows: Number(e.rows) }));
      })
      .immediate();
  }

  async countOutbox(status: OutboxStatus): Promise<number> {
    return Number(this.db.prepare('SELECT COUNT(*) FROM alert_outbox WHERE status = ?').pluck().get(status));
  }

  // ── the change feed ───────────────────────────────────────────────────────

  async pendingChanges(limit: number): Promise<FeedChange[]> {
    return (this.db.prepare('SELECT * FROM alert_changes ORDER BY id LIMIT ?').all(limit) as ChangeRow[]).map(toChange);
  }

  async changeBacklog(): Promise<number> {
    return Number(this.db.prepare('SELECT COUNT(*) FROM alert_changes').pluck().get());
  }

  async consumeChanges(ids: number[], decisions: PlannedDecision[]): Promise<AlertDecision[] | null> {
    const consume = this.db.prepare('DELETE FROM alert_changes WHERE id = ?');
    const conflict = new Error('change consumed already');
    try {
      return this.db
        .transaction(() => {
          // Deleting is the cursor: a change someone else consumed is gone, and nothing is applied.
          for (const id of ids) if (consume.run(id).changes !== 1) throw conflict;
          return decisions.map((d) => this.applyDecision(d.fingerprint, d.decide));
        })
        .immediate();
    } catch (err) {
      if (err === conflict) return null;
      throw err;
    }
  }

  async outbox(filter: OutboxFilter = {}): Promise<OutboxRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) (where.push('status = ?'), params.push(filter.status));
    if (filter.fingerprint !== undefined) (where.push('fingerprint = ?'), params.push(filter.fingerprint));
    if (filter.createdAt !== undefined) (where.push('created_at = ?'), params.push(filter.createdAt));
    if (filter.target) (where.push('target = ?'), params.push(filter.target));
    // A range on the unique index rather than LIKE: no wildcard characters to escape.
    if (filter.dedupeKeyPrefix) (where.push('dedupe_key >= ? AND dedupe_key < ?'), params.push(filter.dedupeKeyPrefix, `${filter.dedupeKeyPrefix}\u{10ffff}`));
    const sql = `SELECT * FROM alert_outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    return (this.db.prepare(sql).all(...params, filter.limit ?? 1000) as OutboxDbRow[]).map(toOutbox);
  }

  // ── targets ───────────────────────────────────────────────────────────────

  async getTarget(channel: ChannelKind, target: string): Promise<AlertTarget | null> {
    const row = this.db.prepare('SELECT * FROM alert_targets WHERE channel = ? AND target = ?').get(channel, target) as TargetRow | undefined;
    return row ? toTarget(row) : null;
  }

  async listTargets(): Promise<AlertTarget[]> {
    return (this.db.prepare('SELECT * FROM alert_targets ORDER BY channel, target').all() as TargetRow[]).map(toTarget);
  }

  async disableTarget(channel: ChannelKind, target: string, reason: string, at: number): Promise<number> {
    return this.db
      .transaction(() => {
        this.ensureTarget(channel, target, at);
        this.db
          .prepare('UPDATE alert_targets SET disabled_at = ?, disabled_reason = ?, last_error = ?, updated_at = ? WHERE channel = ? AND target = ?')
          .run(at, reason, reason, at, channel, target);
        // Nothing will reach a disabled target: say so on its rows instead of leaving them pending forever.
        return this.db
          .prepare(`UPDATE alert_outbox SET status = 'failed', last_error = ?, claimed_by = NULL, claimed_until = NULL WHERE status = 'pending' AND channel = ? AND target = ?`)
          .run(`target disabled: ${reason}`, channel, target).changes;
      })
      .immediate();
  }

  async enableTarget(channel: ChannelKind, target: string): Promise<void> {
    this.db.prepare('UPDATE alert_targets SET disabled_at = NULL, disabled_reason = NULL, updated_at = ? WHERE channel = ? AND target = ?').run(Date.now(), channel, target);
  }

  async migrateTarget(channel: ChannelKind, from: string, to: string, at: number): Promise<void> {
    this.db
      .transaction(() => {
        this.ensureTarget(channel, from, at);
        this.ensureTarget(channel, to, at);
        this.db.prepare('UPDATE alert_targets SET migrated_to = ?, updated_at = ? WHERE channel = ? AND target = ?').run(to, at, channel, from);
        this.db
          .prepare(`UPDATE alert_outbox SET target = ?, claimed_by = NULL, claimed_until = NULL WHERE status = 'pending' AND channel = ? AND target = ?`)
          .run(to, channel, from);
      })
      .immediate();
  }

  // ── sent messages (ChatOps) ───────────────────────────────────────────────

  async saveMessage(message: Omit<SentMessage, 'id' | 'actions'>): Promise<SentMessage> {
    const id = this.insertMessage(message);
    return { ...message, id, actions: [] };
  }

  private insertMessage(m: Omit<SentMessage, 'id' | 'actions'>): number {
    const result = this.db
      .prepare('INSERT INTO alert_messages (channel, target, message_id, thread_id, project_id, issue_ids, items, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(m.channel, m.target, m.messageId, m.threadId, m.projectId, JSON.stringify(m.issueIds), JSON.stringify(m.items), m.createdAt);
    return Number(result.lastInsertRowid);
  }

  async findMessage(channel: ChannelKind, target: string, messageId: string): Promise<SentMessage | null> {
    const row = this.db
      .prepare('SELECT * FROM alert_messages WHERE channel = ? AND target = ? AND message_id = ? ORDER BY id DESC LIMIT 1')
      .get(channel, target, messageId) as MessageRow | undefined;
    return row ? toMessage(row) : null;
  }

  async addMessageAction(id: number, action: MessageAction): Promise<void> {
    this.db
      .transaction(() => {
        const row = this.db.prepare('SELECT actions FROM alert_messages WHERE id = ?').get(id) as { actions: string } | undefined;
        if (!row) return;
        const actions = [...(JSON.parse(row.actions) as MessageAction[]), action];
        this.db.prepare('UPDATE alert_messages SET actions = ? WHERE id = ?').run(JSON.stringify(actions), id);
      })
      .immediate();
  }

  // ── silences, log ─────────────────────────────────────────────────────────

  async addSilence(s: Omit<Silence, 'id'>): Promise<Silence> {
    const result = this.db
      .prepare('INSERT INTO alert_silences (project_id, issue_id, ends_at, created_by, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(s.projectId, s.issueId, s.endsAt, s.createdBy, s.reason, s.createdAt);
    return { ...s, id: Number(result.lastInsertRowid) };
  }

  async activeSilences(now: number): Promise<Silence[]> {
    return (this.db.prepare('SELECT * FROM alert_silences WHERE ends_at > ? ORDER BY id').all(now) as SilenceRow[]).map(toSilence);
  }

  async removeSilence(id: number): Promise<void> {
    this.db.prepare('DELETE FROM alert_silences WHERE id = ?').run(id);
  }

  async recentLog(filter: { projectId?: number; limit?: number } = {}): Promise<AlertLogEntry[]> {
    const rows = (
      filter.projectId === undefined
        ? this.db.prepare('SELECT * FROM alert_log ORDER BY id DESC LIMIT ?').all(filter.limit ?? 50)
        : this.db.prepare('SELECT * FROM alert_log WHERE project_id = ? ORDER BY id DESC LIMIT ?').all(filter.projectId, filter.limit ?? 50)
    ) as LogRow[];
    return rows.map(toLogEntry);
  }

  // ── leases, key/value ─────────────────────────────────────────────────────

  async lease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    const result = this.db
      .prepare(
        `INSERT INTO alert_leases (name, holder, until) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
         WHERE alert_leases.holder = excluded.holder OR alert_leases.until < ?`,
      )
      .run(name, holder, now + ttlMs, now);
    return result.changes === 1;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.db.prepare('DELETE FROM alert_leases WHERE name = ? AND holder = ?').run(name, holder);
  }

  async getValue(key: string): Promise<string | null> {
    const row = this.db.prepare('SELECT value FROM alert_kv WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  async setValue(key: string, value: string): Promise<void> {
    this.db.prepare('INSERT INTO alert_kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }
}

/**
 * The destinations with a pending outbox row for the alert_state row `s`, newline-separated
 * (index alert_outbox_fingerprint). Keys as store/alerts.ts destinationKey builds them.
 */
const AWAITING_SEND = `(SELECT group_concat(k, char(10)) FROM (SELECT DISTINCT o.channel || ':' || o.target AS k FROM alert_outbox o WHERE o.fingerprint = s.fingerprint AND o.status = 'pending'))`;

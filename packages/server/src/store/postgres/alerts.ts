import { sql } from 'kysely';
import type {
  AlertDecision,
  AlertLogEntry,
  AlertState,
  AlertStore,
  AlertTarget,
  ChannelKind,
  ClaimOptions,
  ExpiredRows,
  FeedChange,
  MessageAction,
  NewOutboxRow,
  OutboxRow,
  OutboxFilter,
  OutboxStatus,
  PlannedDecision,
  SendSuccess,
  SentMessage,
  Silence,
} from '../alerts.js';
import { headHoldsQueue, mergeFollowUps, paceAfterClaim, takeFingerprints, targetMayTake } from '../alert-rules.js';
import {
  newOutboxColumns,
  stateColumns,
  toChange,
  toLogEntry,
  toMessage,
  toOutbox,
  toSilence,
  toState,
  toTarget,
  type ChangeRow,
  type LogRow,
  type MessageRow,
  type OutboxDbRow,
  type SilenceRow,
  type StateRow,
  type TargetRow,
} from '../alert-rows.js';
import { all, changes, LOCKS, lockXact, lockXactMany, one, prepared, type Db } from './query.js';

/**
 * The destinations with a pending outbox row for the alert_state row `s`, newline-separated
 * (index alert_outbox_fingerprint), as the SQLite store reads them.
 */
const AWAITING_SEND = sql`(SELECT string_agg(DISTINCT o.channel || ':' || o.target, E'\\n') FROM alert_outbox o WHERE o.fingerprint = s.fingerprint AND o.status = 'pending')`;

/** Thrown inside a transaction to roll it back; never leaves this file. */
class Rollback extends Error {}

/**
 * AlertStore on PostgreSQL, for several Botpulse processes on one database. Where the SQLite
 * store relies on SQLite's single writer, this one takes row locks or advisory locks:
 * - a decision holds a transaction advisory lock on its fingerprint, so two processes deciding
 *   about one alert take turns and each sees the other's state;
 * - the outbox claim locks each target's row with `FOR UPDATE SKIP LOCKED` (a target another
 *   process is claiming is skipped this turn, so its pace holds) and claims rows with a
 *   conditional `UPDATE … WHERE claimed_until < now`, so a row is never handed out twice;
 * - writes that touch a target and its rows lock the target first, as the claim does, so they
 *   never wait on each other in a cycle.
 * The delivery rules themselves are in alert-rules.ts, shared with the SQLite store.
 */
export class PostgresAlertStore implements AlertStore {
  constructor(private readonly db: Db) {}

  private tx<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  // ── noise-control state ───────────────────────────────────────────────────

  async decide(fingerprint: string, decide: (state: AlertState | null) => AlertDecision): Promise<AlertDecision> {
    return this.tx((trx) => this.applyDecision(trx, fingerprint, decide));
  }

  /** Must run inside a transaction. */
  /**
   * @param log where the decision's log entries go: written at once, or collected by a batch that
   *   writes them all in one statement (nothing in a decision reads the log).
   */
  private async applyDecision(trx: Db, fingerprint: string, decide: (state: AlertState | null) => AlertDecision, log?: AlertLogEntry[]): Promise<AlertDecision> {
    await lockXact(trx, LOCKS.alertFingerprint, fingerprint);
    return this.applyLocked(trx, decide, await this.readState(trx, fingerprint), log);
  }

  /** The rest of a decision, its fingerprint locked and `state` read under that lock. */
  private async applyLocked(trx: Db, decide: (state: AlertState | null) => AlertDecision, state: AlertState | null, log?: AlertLogEntry[]): Promise<AlertDecision> {
    const decision = decide(state);
    if (decision.state) await this.writeState(trx, decision.state);
    for (const row of decision.enqueue) await this.insertOutbox(trx, row);
    if (log) log.push(...decision.log);
    else await this.insertLogs(trx, decision.log);
    return decision;
  }

  async getState(fingerprint: string): Promise<AlertState | null> {
    return this.readState(this.db, fingerprint);
  }

  async getStates(fingerprints: string[]): Promise<Map<string, AlertState>> {
    return this.readStates(this.db, fingerprints);
  }

  private async readStates(db: Db, fingerprints: string[]): Promise<Map<string, AlertState>> {
    if (fingerprints.length === 0) return new Map();
    const rows = await all<StateRow>(db, sql`${prepared}SELECT s.*, ${AWAITING_SEND} AS awaiting_send FROM alert_state s WHERE s.fingerprint = ANY(${[...new Set(fingerprints)]}::text[])`);
    return new Map(rows.map((row) => [row.fingerprint, toState(row)]));
  }

  /**
   * A batch's decisions: every fingerprint locked by one statement (hash order, as lockXact
   * locks one), every state read by one more under those locks, and what the decisions write
   * (states, outbox rows) written by one statement each at the end: about four statements per
   * batch instead of three or more per decision. A decision about a fingerprint an earlier decision
   * of the batch wrote (its state, or an outbox row of it) first writes what is pending and reads
   * that state again, so it sees exactly what it would have seen decided alone.
   */
  private async applyBatch(trx: Db, decisions: PlannedDecision[], log: AlertLogEntry[]): Promise<AlertDecision[]> {
    const fingerprints = [...new Set(decisions.map((d) => d.fingerprint))];
    await lockXactMany(trx, LOCKS.alertFingerprint, fingerprints);
    const states = await this.readStates(trx, fingerprints);
    const pending = { states: new Map<string, AlertState>(), outbox: [] as NewOutboxRow[] };
    const touched = new Set<string>(); // fingerprints written by this batch: read again, never from `states`
    const applied: AlertDecision[] = [];
    for (const d of decisions) {
      let state = states.get(d.fingerprint) ?? null;
      if (touched.has(d.fingerprint)) {
        await this.writePending(trx, pending);
        state = await this.readState(trx, d.fingerprint);
      }
      const decision = d.decide(state);
      if (decision.state) (pending.states.set(decision.state.fingerprint, decision.state), touched.add(decision.state.fingerprint));
      for (const row of decision.enqueue) (pending.outbox.push(row), touched.add(row.fingerprint));
      log.push(...decision.log);
      applied.push(decision);
    }
    await this.writePending(trx, pending);
    return applied;
  }

  /** The states and outbox rows a batch decided, one statement each, in decision order; emptied. */
  private async writePending(trx: Db, pending: { states: Map<string, AlertState>; outbox: NewOutboxRow[] }): Promise<void> {
    if (pending.states.size) await this.writeStates(trx, [...pending.states.values()]);
    if (pending.outbox.length) await this.insertOutboxRows(trx, pending.outbox);
    pending.states.clear();
    pending.outbox.length = 0;
  }

  /** writeState for many states of distinct fingerprints, one statement. */
  private async writeStates(db: Db, states: AlertState[]): Promise<void> {
    const now = Date.now();
    const rows = states.map((s) => stateColumns(s, now));
    const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
    await sql`${prepared}INSERT INTO alert_state (fingerprint, project_id, issue_id, tier, cooldown_until, pending_tier, pending_reasons,
                last_enqueued_at, last_sent_at, events_at_last, users_at_last, repeat_at, acked_at, acked_by, updated_at)
              SELECT * FROM unnest(${col('fingerprint')}::text[], ${col('project_id')}::int[], ${col('issue_id')}::int[], ${col('tier')}::text[],
                ${col('cooldown_until')}::bigint[], ${col('pending_tier')}::text[], ${col('pending_reasons')}::text[], ${col('last_enqueued_at')}::bigint[],
                ${col('last_sent_at')}::bigint[], ${col('events_at_last')}::int[], ${col('users_at_last')}::int[], ${col('repeat_at')}::bigint[],
                ${col('acked_at')}::bigint[], ${col('acked_by')}::text[], ${col('updated_at')}::bigint[])
              ON CONFLICT (fingerprint) DO UPDATE SET tier = excluded.tier, cooldown_until = excluded.cooldown_until,
                pending_tier = excluded.pending_tier, pending_reasons = excluded.pending_reasons,
                last_enqueued_at = excluded.last_enqueued_at, last_sent_at = excluded.last_sent_at,
                events_at_last = excluded.events_at_last, users_at_last = excluded.users_at_last,
                repeat_at = excluded.repeat_at, acked_at = excluded.acked_at, acked_by = excluded.acked_by,
                updated_at = excluded.updated_at`.execute(db);
  }

  /** insertOutbox for many rows, one statement, ids in row order; a row whose dedupe key is taken is skipped. */
  private async insertOutboxRows(db: Db, outbox: NewOutboxRow[]): Promise<void> {
    const rows = outbox.map(newOutboxColumns);
    const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
    await sql`${prepared}INSERT INTO alert_outbox (project_id, issue_id, fingerprint, channel, target, tier, reasons, status, created_at, not_before, next_attempt_at, body, dedupe_key)
              SELECT project_id, issue_id, fingerprint, channel, target, tier, reasons, status, created_at, not_before, next_attempt_at, body, dedupe_key
              FROM unnest(${col('project_id')}::int[], ${col('issue_id')}::int[], ${col('fingerprint')}::text[], ${col('channel')}::text[], ${col('target')}::text[],
                ${col('tier')}::text[], ${col('reasons')}::text[], ${col('status')}::text[], ${col('created_at')}::bigint[], ${col('not_before')}::bigint[],
                ${col('next_attempt_at')}::bigint[], ${col('body')}::text[], ${col('dedupe_key')}::text[])
                WITH ORDINALITY AS u(project_id, issue_id, fingerprint, channel, target, tier, reasons, status, created_at, not_before, next_attempt_at, body, dedupe_key, n)
              ORDER BY n
              ON CONFLICT (dedupe_key) DO NOTHING`.execute(db);
  }

  private async readState(db: Db, fingerprint: string): Promise<AlertState | null> {
    const row = await one<StateRow>(db, sql`SELECT s.*, ${AWAITING_SEND} AS awaiting_send FROM alert_state s WHERE s.fingerprint = ${fingerprint}`);
    return row ? toState(row) : null;
  }

  private async writeState(db: Db, state: AlertState): Promise<void> {
    await this.writeStates(db, [state]);
  }

  /** Adds a row; false if its dedupe key is already in the outbox (rows without a key are always added). */
  private async insertOutbox(db: Db, row: NewOutboxRow): Promise<boolean> {
    const c = newOutboxColumns(row);
    const added = await changes(
      db,
      sql`INSERT INTO alert_outbox (project_id, issue_id, fingerprint, channel, target, tier, reasons, status, created_at, not_before, next_attempt_at, body, dedupe_key)
          VALUES (${c.project_id}, ${c.issue_id}, ${c.fingerprint}, ${c.channel}, ${c.target}, ${c.tier}, ${c.reasons}, ${c.status}, ${c.created_at},
            ${c.not_before}, ${c.next_attempt_at}, ${c.body}, ${c.dedupe_key})
          ON CONFLICT (dedupe_key) DO NOTHING`,
    );
    return added === 1;
  }

  async enqueueOnce(rows: NewOutboxRow[]): Promise<number> {
    return this.tx(async (trx) => {
      let added = 0;
      for (const row of rows) if (await this.insertOutbox(trx, row)) added++;
      return added;
    });
  }

  private async insertLogs(db: Db, entries: AlertLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const col = <T>(f: (e: AlertLogEntry) => T) => entries.map(f);
    await sql`${prepared}INSERT INTO alert_log (at, project_id, issue_id, fingerprint, tier, reasons, outcome)
              SELECT at, project_id, issue_id, fingerprint, tier, reasons, outcome FROM unnest(${col((e) => e.at)}::bigint[], ${col((e) => e.projectId)}::int[], ${col((e) => e.issueId)}::int[],
                ${col((e) => e.fingerprint)}::text[], ${col((e) => e.tier)}::text[], ${col((e) => JSON.stringify(e.reasons))}::text[], ${col((e) => e.outcome)}::text[])
              WITH ORDINALITY AS u(at, project_id, issue_id, fingerprint, tier, reasons, outcome, n) ORDER BY n`.execute(db);
  }

  async dueFollowUps(now: number, limit: number): Promise<AlertState[]> {
    // Which destinations still wait for a message is read again inside each follow-up's decision.
    const repeats = await all<StateRow>(this.db, sql`SELECT s.*, NULL AS awaiting_send FROM alert_state s WHERE s.repeat_at <= ${now} ORDER BY s.repeat_at LIMIT ${limit}`);
    const pending = await all<StateRow>(
      this.db,
      sql`SELECT s.*, NULL AS awaiting_send FROM alert_state s WHERE s.pending_tier IS NOT NULL AND s.cooldown_until <= ${now} ORDER BY s.cooldown_until LIMIT ${limit}`,
    );
    return mergeFollowUps(repeats.map(toState), pending.map(toState));
  }

  async countEventsSince(scope: { issueId: number } | { projectId: number }, since: number, cap: number): Promise<number> {
    // Both shapes walk an index from `since` and stop after `cap` rows.
    const filter = 'issueId' in scope ? sql`issue_id = ${scope.issueId}` : sql`project_id = ${scope.projectId}`;
    const row = await one<{ n: number }>(this.db, sql`SELECT COUNT(*) AS n FROM (SELECT 1 FROM events WHERE ${filter} AND received_at >= ${since} LIMIT ${cap}) capped`);
    return Number(row?.n ?? 0);
  }

  async countIssueEventsSince(issueIds: number[], since: number, cap: number): Promise<Map<number, number>> {
    if (issueIds.length === 0) return new Map();
    // Each issue walks events_issue_received from `since` and stops after `cap` rows, as one count does.
    const rows = await all<{ issue_id: number; n: number }>(
      this.db,
      sql`${prepared}SELECT k.issue_id, (SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE issue_id = k.issue_id AND received_at >= ${since} LIMIT ${cap}) capped) AS n
          FROM unnest(${[...new Set(issueIds)]}::bigint[]) AS k(issue_id)`,
    );
    return new Map(rows.map((r) => [Number(r.issue_id), Number(r.n)]));
  }

  async acknowledge(issueId: number, by: string, at: number): Promise<void> {
    await sql`UPDATE alert_state SET acked_at = ${at}, acked_by = ${by}, repeat_at = NULL, updated_at = ${at} WHERE issue_id = ${issueId}`.execute(this.db);
  }

  // ── outbox ────────────────────────────────────────────────────────────────

  async claimDue(workerId: string, now: number, opts: ClaimOptions): Promise<OutboxRow[][]> {
    await this.ensurePendingTargets(now);
    return this.tx(async (trx) => {
      // Rows that failed in our own code (internal_failures > 0) are out of the ordered queue.
      const heads = await all<{ channel: ChannelKind; target: string; head: number }>(
        trx,
        sql`SELECT channel, target, MIN(id) AS head FROM alert_outbox WHERE status = 'pending' AND internal_failures = 0 GROUP BY channel, target ORDER BY head`,
      );
      const batches: OutboxRow[][] = [];
      const served = new Set<string>();
      for (const { channel, target, head } of heads) {
        const batch = await this.claimTarget(trx, workerId, now, opts, channel, target, head);
        if (batch.length) (batches.push(batch), served.add(`${channel}\u0000${target}`));
      }
      for (const row of await this.dueSetAside(trx, now)) {
        const key = `${row.channel}\u0000${row.target}`;
        if (served.has(key)) continue; // the target's pace is taken this turn
        const t = await this.lockTarget(trx, row.channel, row.target, now, opts);
        const batch = t ? await this.claimRows(trx, workerId, now, opts, t, [row]) : [];
        if (batch.length) (batches.push(batch), served.add(key));
      }
      return batches;
    });
  }

  /**
   * Every target with pending rows gets its alert_targets row before the claim, in its own short
   * statement and in one order: two processes adding the same new targets inside their claim
   * transactions could otherwise each wait for the other's insert.
   */
  private async ensurePendingTargets(now: number): Promise<void> {
    await sql`INSERT INTO alert_targets (channel, target, updated_at)
              SELECT DISTINCT o.channel, o.target, ${now}::bigint FROM alert_outbox o
              WHERE o.status = 'pending' AND NOT EXISTS (SELECT 1 FROM alert_targets t WHERE t.channel = o.channel AND t.target = o.target)
              ORDER BY o.channel, o.target
              ON CONFLICT DO NOTHING`.execute(this.db);
  }

  /** The target's next message: its oldest row and the due rows of the same project after it. */
  private async claimTarget(trx: Db, workerId: string, now: number, opts: ClaimOptions, channel: ChannelKind, target: string, headId: number): Promise<OutboxRow[]> {
    const t = await this.lockTarget(trx, channel, target, now, opts);
    if (!t) return [];
    const headRow = await one<OutboxDbRow>(trx, sql`SELECT * FROM alert_outbox WHERE id = ${headId}`);
    if (!headRow) return [];
    const head = toOutbox(headRow);
    // Head of line: a later row never overtakes the oldest one, so a backlog goes out in order.
    if (headHoldsQueue(head, now)) return [];
    const candidates = await all<OutboxDbRow>(
      trx,
      sql`SELECT * FROM alert_outbox WHERE status = 'pending' AND channel = ${channel} AND target = ${target} AND project_id = ${head.projectId} AND internal_failures = 0
            AND not_before <= ${now} AND next_attempt_at <= ${now} AND (claimed_until IS NULL OR claimed_until < ${now}) ORDER BY id LIMIT 500`,
    );
    return this.claimRows(trx, workerId, now, opts, t, takeFingerprints(candidates.map(toOutbox), opts.maxPerMessage));
  }

  /** Set-aside rows (failed in our code) that are due again, oldest first: each is retried alone. */
  private async dueSetAside(trx: Db, now: number): Promise<OutboxRow[]> {
    const rows = await all<OutboxDbRow>(
      trx,
      sql`SELECT * FROM alert_outbox WHERE status = 'pending' AND internal_failures > 0
            AND not_before <= ${now} AND next_attempt_at <= ${now} AND (claimed_until IS NULL OR claimed_until < ${now}) ORDER BY id LIMIT 100`,
    );
    return rows.map(toOutbox);
  }

  /**
   * The target, locked until the claim commits, if it may take a message now. Null when it may
   * not, or when another process is claiming for it right now (SKIP LOCKED: we do not wait).
   */
  private async lockTarget(trx: Db, channel: ChannelKind, target: string, now: number, opts: ClaimOptions): Promise<TargetRow | null> {
    const t = await one<TargetRow>(trx, sql`SELECT * FROM alert_targets WHERE channel = ${channel} AND target = ${target} FOR UPDATE SKIP LOCKED`);
    return t && targetMayTake(t, now, opts) ? t : null;
  }

  private async claimRows(trx: Db, workerId: string, now: number, opts: ClaimOptions, t: TargetRow, chosen: OutboxRow[]): Promise<OutboxRow[]> {
    if (!chosen.length) return [];
    const until = now + opts.leaseMs;
    const won = await all<{ id: number }>(
      trx,
      sql`UPDATE alert_outbox SET claimed_by = ${workerId}, claimed_until = ${until}
          WHERE id = ANY(${chosen.map((r) => r.id)}::bigint[]) AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < ${now})
          RETURNING id`,
    );
    const ids = new Set(won.map((r) => r.id));
    const claimed = chosen.filter((row) => ids.has(row.id));
    if (claimed.length) {
      const pace = paceAfterClaim(t, now, opts);
      await sql`UPDATE alert_targets SET next_send_at = ${pace.nextSendAt}, window_start = ${pace.windowStart}, window_count = ${pace.windowCount}, updated_at = ${now}
                WHERE channel = ${t.channel} AND target = ${t.target}`.execute(trx);
    }
    return claimed.map((r) => ({ ...r, claimedBy: workerId, claimedUntil: until }));
  }

  async nextDueAt(): Promise<number | null> {
    const row = await one<{ due: number | null }>(
      this.db,
      sql`SELECT MIN(GREATEST(o.next_attempt_at, o.not_before, COALESCE(o.claimed_until, 0), COALESCE(t.next_send_at, 0))) AS due
          FROM alert_outbox o LEFT JOIN alert_targets t ON t.channel = o.channel AND t.target = o.target
          WHERE o.status = 'pending' AND t.disabled_at IS NULL`,
    );
    return row?.due == null ? null : Number(row.due);
  }

  async markSent(workerId: string, batch: OutboxRow[], result: SendSuccess): Promise<void> {
    const { channel, target } = batch[0]!;
    await this.tx(async (trx) => {
      // The target first (as the claim locks it), then its rows, then the states.
      await sql`UPDATE alert_targets SET last_ok_at = ${result.sentAt}, last_error = NULL, next_send_at = GREATEST(next_send_at, ${result.nextSendAt ?? 0}), updated_at = ${result.sentAt} WHERE channel = ${channel} AND target = ${target}`.execute(trx);
      for (const [status, ids] of [['sent', result.sentIds], ['collapsed', result.collapsedIds]] as const) {
        if (!ids.length) continue;
        await sql`UPDATE alert_outbox SET status = ${status}, sent_at = ${result.sentAt}, message_id = ${result.messageId}, claimed_by = NULL, claimed_until = NULL, last_error = NULL
                  WHERE id = ANY(${ids}::bigint[]) AND claimed_by = ${workerId}`.execute(trx);
      }
      // In one order, so two senders updating overlapping states never wait for each other in a cycle.
      for (const s of [...result.states].sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : 1))) {
        await sql`UPDATE alert_state SET last_sent_at = ${result.sentAt}, events_at_last = GREATEST(events_at_last, ${s.eventsAtLast}),
                    users_at_last = GREATEST(users_at_last, ${s.usersAtLast}), repeat_at = CASE WHEN acked_at IS NULL THEN ${s.repeatAt}::bigint ELSE NULL END,
                    cooldown_until = GREATEST(cooldown_until, ${s.cooldownUntil}), updated_at = ${result.sentAt}
                  WHERE fingerprint = ${s.fingerprint}`.execute(trx);
      }
      if (result.message) await this.insertMessage(trx, { ...result.message, createdAt: result.sentAt });
    });
  }

  async markRetry(workerId: string, ids: number[], error: string, nextAttemptAt: number, pauseTargetUntil?: number): Promise<void> {
    if (!ids.length) return;
    await this.tx(async (trx) => {
      const first = await one<{ channel: string; target: string }>(trx, sql`SELECT channel, target FROM alert_outbox WHERE id = ${ids[0]}`);
      if (first) {
        const pause = pauseTargetUntil === undefined ? sql`next_send_at` : sql`GREATEST(next_send_at, ${pauseTargetUntil})`;
        await sql`UPDATE alert_targets SET last_error = ${error}, updated_at = ${Date.now()}, next_send_at = ${pause}
                  WHERE channel = ${first.channel} AND target = ${first.target}`.execute(trx);
      }
      await sql`UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = ${nextAttemptAt}, last_error = ${error}, claimed_by = NULL, claimed_until = NULL
                WHERE id = ANY(${ids}::bigint[]) AND claimed_by = ${workerId}`.execute(trx);
    });
  }

  async markFailed(workerId: string, ids: number[], error: string): Promise<void> {
    await this.finish(workerId, ids, 'failed', error);
  }

  async markParked(workerId: string, ids: number[], reason: string): Promise<void> {
    await this.finish(workerId, ids, 'parked', reason);
  }

  private async finish(workerId: string, ids: number[], status: 'failed' | 'parked', reason: string): Promise<void> {
    await sql`UPDATE alert_outbox SET status = ${status}, attempts = attempts + 1, last_error = ${reason}, claimed_by = NULL, claimed_until = NULL
              WHERE id = ANY(${ids}::bigint[]) AND claimed_by = ${workerId}`.execute(this.db);
  }

  async markInternalFailure(workerId: string, ids: number[], error: string, nextAttemptAt: number): Promise<void> {
    await sql`UPDATE alert_outbox SET attempts = attempts + 1, internal_failures = internal_failures + 1, next_attempt_at = ${nextAttemptAt}, last_error = ${error},
                claimed_by = NULL, claimed_until = NULL
              WHERE id = ANY(${ids}::bigint[]) AND claimed_by = ${workerId}`.execute(this.db);
  }

  async expire(before: number): Promise<ExpiredRows[]> {
    // Counted from the rows this very statement changed: two processes expiring at once report each row once.
    const rows = await all<ExpiredRows>(
      this.db,
      sql`WITH expired AS (
            UPDATE alert_outbox SET status = 'expired', last_error = COALESCE(last_error, 'expired') WHERE status = 'pending' AND created_at < ${before} RETURNING channel, target
          )
          SELECT channel, target, COUNT(*) AS rows FROM expired GROUP BY channel, target ORDER BY channel COLLATE "C", target COLLATE "C"`,
    );
    return rows.map((e) => ({ ...e, rows: Number(e.rows) }));
  }

  async countOutbox(status: OutboxStatus): Promise<number> {
    const row = await one<{ n: number }>(this.db, sql`SELECT COUNT(*) AS n FROM alert_outbox WHERE status = ${status}`);
    return Number(row?.n ?? 0);
  }

  // ── the change feed ───────────────────────────────────────────────────────
  // The statements the engine runs at every turn (feed, consume, log, frequency counts, silences,
  // its lease) are prepared (query.ts `prepared`): parsed and planned once per connection.

  async pendingChanges(limit: number): Promise<FeedChange[]> {
    return (await all<ChangeRow>(this.db, sql`${prepared}SELECT * FROM alert_changes ORDER BY id LIMIT ${limit}`)).map(toChange);
  }

  async changeBacklog(): Promise<number> {
    const row = await one<{ n: number }>(this.db, sql`SELECT COUNT(*) AS n FROM alert_changes`);
    return Number(row?.n ?? 0);
  }

  async consumeChanges(ids: number[], decisions: PlannedDecision[]): Promise<AlertDecision[] | null> {
    try {
      return await this.tx(async (trx) => {
        // Deleting is the cursor: a change someone else consumed is gone, and nothing is applied.
        // A second consumer of the same rows waits here for the first to commit, then deletes none.
        const deleted = await changes(trx, sql`${prepared}DELETE FROM alert_changes WHERE id = ANY(${ids}::bigint[])`);
        if (deleted !== ids.length) throw new Rollback();
        const log: AlertLogEntry[] = [];
        const applied = await this.applyBatch(trx, decisions, log);
        await this.insertLogs(trx, log);
        return applied;
      });
    } catch (err) {
      if (err instanceof Rollback) return null;
      throw err;
    }
  }

  async outbox(filter: OutboxFilter = {}): Promise<OutboxRow[]> {
    const where = [sql`TRUE`];
    if (filter.status) where.push(sql`status = ${filter.status}`);
    if (filter.fingerprint !== undefined) where.push(sql`fingerprint = ${filter.fingerprint}`);
    if (filter.createdAt !== undefined) where.push(sql`created_at = ${filter.createdAt}`);
    if (filter.target) where.push(sql`target = ${filter.target}`);
    // A range on the unique index rather than LIKE: no wildcard characters to escape. COLLATE "C":
    // byte order, as SQLite compares, whatever the database's collation.
    if (filter.dedupeKeyPrefix) where.push(sql`dedupe_key COLLATE "C" >= ${filter.dedupeKeyPrefix} AND dedupe_key COLLATE "C" < ${`${filter.dedupeKeyPrefix}\u{10ffff}`}`);
    const rows = await all<OutboxDbRow>(this.db, sql`SELECT * FROM alert_outbox WHERE ${sql.join(where, sql` AND `)} ORDER BY id LIMIT ${filter.limit ?? 1000}`);
    return rows.map(toOutbox);
  }

  // ── targets ───────────────────────────────────────────────────────────────

  async getTarget(channel: ChannelKind, target: string): Promise<AlertTarget | null> {
    const row = await one<TargetRow>(this.db, sql`SELECT * FROM alert_targets WHERE channel = ${channel} AND target = ${target}`);
    return row ? toTarget(row) : null;
  }

  async listTargets(): Promise<AlertTarget[]> {
    return (await all<TargetRow>(this.db, sql`SELECT * FROM alert_targets ORDER BY channel COLLATE "C", target COLLATE "C"`)).map(toTarget);
  }

  private async ensureTarget(db: Db, channel: ChannelKind, target: string, now: number): Promise<void> {
    await sql`INSERT INTO alert_targets (channel, target, updated_at) VALUES (${channel}, ${target}, ${now}) ON CONFLICT DO NOTHING`.execute(db);
  }

  async disableTarget(channel: ChannelKind, target: string, reason: string, at: number): Promise<number> {
    await this.ensureTarget(this.db, channel, target, at);
    return this.tx(async (trx) => {
      await sql`UPDATE alert_targets SET disabled_at = ${at}, disabled_reason = ${reason}, last_error = ${reason}, updated_at = ${at}
                WHERE channel = ${channel} AND target = ${target}`.execute(trx);
      // Nothing will reach a disabled target: say so on its rows instead of leaving them pending forever.
      return changes(
        trx,
        sql`UPDATE alert_outbox SET status = 'failed', last_error = ${`target disabled: ${reason}`}, claimed_by = NULL, claimed_until = NULL
            WHERE status = 'pending' AND channel = ${channel} AND target = ${target}`,
      );
    });
  }

  async enableTarget(channel: ChannelKind, target: string): Promise<void> {
    await sql`UPDATE alert_targets SET disabled_at = NULL, disabled_reason = NULL, updated_at = ${Date.now()} WHERE channel = ${channel} AND target = ${target}`.execute(this.db);
  }

  async migrateTarget(channel: ChannelKind, from: string, to: string, at: number): Promise<void> {
    for (const target of [from, to].sort()) await this.ensureTarget(this.db, channel, target, at);
    await this.tx(async (trx) => {
      // Both targets locked, in one order, before their rows.
      await sql`SELECT 1 FROM alert_targets WHERE channel = ${channel} AND target IN (${from}, ${to}) ORDER BY target FOR UPDATE`.execute(trx);
      await sql`UPDATE alert_targets SET migrated_to = ${to}, updated_at = ${at} WHERE channel = ${channel} AND target = ${from}`.execute(trx);
      await sql`UPDATE alert_outbox SET target = ${to}, claimed_by = NULL, claimed_until = NULL WHERE status = 'pending' AND channel = ${channel} AND target = ${from}`.execute(trx);
    });
  }

  // ── sent messages (ChatOps) ───────────────────────────────────────────────

  async saveMessage(message: Omit<SentMessage, 'id' | 'actions'>): Promise<SentMessage> {
    const id = await this.insertMessage(this.db, message);
    return { ...message, id, actions: [] };
  }

  private async insertMessage(db: Db, m: Omit<SentMessage, 'id' | 'actions'>): Promise<number> {
    const row = await one<{ id: number }>(
      db,
      sql`INSERT INTO alert_messages (channel, target, message_id, thread_id, project_id, issue_ids, items, created_at)
          VALUES (${m.channel}, ${m.target}, ${m.messageId}, ${m.threadId}, ${m.projectId}, ${JSON.stringify(m.issueIds)}, ${JSON.stringify(m.items)}, ${m.createdAt})
          RETURNING id`,
    );
    return row!.id;
  }

  async findMessage(channel: ChannelKind, target: string, messageId: string): Promise<SentMessage | null> {
    const row = await one<MessageRow>(
      this.db,
      sql`SELECT * FROM alert_messages WHERE channel = ${channel} AND target = ${target} AND message_id = ${messageId} ORDER BY id DESC LIMIT 1`,
    );
    return row ? toMessage(row) : null;
  }

  async addMessageAction(id: number, action: MessageAction): Promise<void> {
    await this.tx(async (trx) => {
      const row = await one<{ actions: string }>(trx, sql`SELECT actions FROM alert_messages WHERE id = ${id} FOR UPDATE`);
      if (!row) return;
      const actions = [...(JSON.parse(row.actions) as MessageAction[]), action];
      await sql`UPDATE alert_messages SET actions = ${JSON.stringify(actions)} WHERE id = ${id}`.execute(trx);
    });
  }

  // ── silences, log ─────────────────────────────────────────────────────────

  async addSilence(s: Omit<Silence, 'id'>): Promise<Silence> {
    const row = await one<{ id: number }>(
      this.db,
      sql`INSERT INTO alert_silences (project_id, issue_id, ends_at, created_by, reason, created_at)
          VALUES (${s.projectId}, ${s.issueId}, ${s.endsAt}, ${s.createdBy}, ${s.reason}, ${s.createdAt}) RETURNING id`,
    );
    return { ...s, id: row!.id };
  }

  async activeSilences(now: number): Promise<Silence[]> {
    return (await all<SilenceRow>(this.db, sql`${prepared}SELECT * FROM alert_silences WHERE ends_at > ${now} ORDER BY id`)).map(toSilence);
  }

  async removeSilence(id: number): Promise<void> {
    await sql`DELETE FROM alert_silences WHERE id = ${id}`.execute(this.db);
  }

  async recentLog(filter: { projectId?: number; limit?: number } = {}): Promise<AlertLogEntry[]> {
    const where = filter.projectId === undefined ? sql`TRUE` : sql`project_id = ${filter.projectId}`;
    return (await all<LogRow>(this.db, sql`SELECT * FROM alert_log WHERE ${where} ORDER BY id DESC LIMIT ${filter.limit ?? 50}`)).map(toLogEntry);
  }

  // ── leases, key/value ─────────────────────────────────────────────────────

  async lease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    // One statement: a racing taker waits for this row, then re-checks the WHERE on what we wrote.
    const taken = await changes(
      this.db,
      sql`${prepared}INSERT INTO alert_leases (name, holder, until) VALUES (${name}, ${holder}, ${now + ttlMs})
          ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
          WHERE alert_leases.holder = excluded.holder OR alert_leases.until < ${now}`,
    );
    return taken === 1;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await sql`DELETE FROM alert_leases WHERE name = ${name} AND holder = ${holder}`.execute(this.db);
  }

  async getValue(key: string): Promise<string | null> {
    return (await one<{ value: string }>(this.db, sql`SELECT value FROM alert_kv WHERE key = ${key}`))?.value ?? null;
  }

  async setValue(key: string, value: string): Promise<void> {
    await sql`INSERT INTO alert_kv (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`.execute(this.db);
  }
}

import type { Logger } from 'pino';
import type { AlertConfig, ProjectRules } from './config.js';
import { DeliveryError, type AlertChannel, type Delivered } from './channels/contract.js';
import { highestTier, type RulesResolver } from './rules.js';
import { issueItem, monitorItem, projectUrl, type AlertItem, type AlertProject, type IssueTracker } from './items.js';
import type { AlertReason, AlertStore, AlertTier, ChannelKind, ClaimOptions, OutboxBody, OutboxRow, SendSuccess } from '../store/alerts.js';
import type { Store } from '../store/store.js';
import { reportFailure } from '../lib/failures.js';
import { TurnLoop } from '../lib/turn-loop.js';

export interface OutboxSenderDeps {
  store: Store;
  alerts: AlertStore;
  channels: Partial<Record<ChannelKind, AlertChannel>>;
  config: AlertConfig;
  publicUrl: string;
  rules: RulesResolver;
  logger: Logger;
  /** Unique per process: claims carry it. */
  workerId: string;
  /** Called on every loop turn (the engine's follow-ups: repeats, ended cooldowns). */
  onTick?: () => Promise<unknown>;
  now?: () => number;
  claim?: Partial<ClaimOptions>;
  /** First retry delay; doubles per attempt up to config.retryMaxMs. */
  retryBaseMs?: number;
  /** The longest the loop sleeps when nothing is due. */
  idleMs?: number;
  /** GitHub issue creation, offered as a button on an issue's alert (docs/github.md). */
  tracker?: IssueTracker;
  /**
   * Lines a forbidden log pattern has matched in a project (null: unknown). At most 60 a minute
   * become events, so in a storm the issue's counts are lower: the message says so (docs/logs.md).
   */
  logMatches?: (projectId: number, pattern: string) => Promise<number | null>;
}

const DEFAULT_CLAIM: ClaimOptions = { leaseMs: 60_000, maxPerMessage: 8, paceMs: 1_000, groupPerMinute: 20 };
/** An alert still unsent after this long is given up (Telegram itself keeps updates 24 h). */
const MAX_AGE_MS = 24 * 3_600_000;
/** Deliveries of a row that may fail in our own code (not the channel's answer) before it is parked. */
export const MAX_INTERNAL_FAILURES = 3;
/** Attempts to record a delivered message before its claim is left to expire (it is then sent again). */
const MARK_SENT_ATTEMPTS = 3;

/** Why rows were given up without being delivered (/metrics `botpulse_alerts_undelivered_total`). */
export type UndeliveredReason = 'parked' | 'expired' | 'rejected' | 'target_disabled' | 'no_channel';

/** A batch's message, ready for the channel: the rows it covers and one item per alert. */
interface Prepared {
  rows: OutboxRow[];
  groups: Collapsed[];
  items: AlertItem[];
  rules: ProjectRules;
}

/** A group of outbox rows that are the same alert (one fingerprint): sent once. */
interface Collapsed {
  fingerprint: string;
  projectId: number;
  issueId: number | null;
  tier: AlertTier;
  reasons: AlertReason[];
  /** A forwarded monitor notification's message (such a row is never collapsed with another). */
  body: OutboxBody | null;
  rows: OutboxRow[];
}

/**
 * Delivers the outbox: claims due rows per target, collapses rows of one fingerprint, formats one
 * message per target and project, and records the result. Rows are issue alerts, the project-wide
 * error rate, or monitor notifications forwarded by monitors/notify.ts (their own text in `body`).
 *
 * A failure the channel reports (a DeliveryError: Telegram's 429, 5xx, network) releases the rows
 * with a backoff (or Telegram's `retry_after`) and holds the whole target: its head row blocks
 * the rows behind it, so a backlog goes out in order once the far side is back. A failure in our
 * own code (any other exception: formatting, reading the store) is not the far side's: waiting
 * would not help, so those rows step out of the target's queue (the rows behind them go on), are
 * retried alone, and after MAX_INTERNAL_FAILURES are parked with the reason: an error line, a
 * /metrics counter, and the dashboard's monitors page say so.
 */
export class OutboxSender {
  /** Messages delivered and delivery attempts that failed, per channel (for /metrics). */
  readonly sentByChannel: Partial<Record<ChannelKind, number>> = {};
  readonly failedByChannel: Partial<Record<ChannelKind, number>> = {};
  /** Rows given up without delivery, per channel and reason (for /metrics). */
  readonly undelivered: Partial<Record<ChannelKind, Partial<Record<UndeliveredReason, number>>>> = {};
  private readonly loop: TurnLoop;
  private lastExpiry = 0;
  private readonly now: () => number;
  private readonly claim: ClaimOptions;

  constructor(private readonly deps: OutboxSenderDeps) {
    this.now = deps.now ?? Date.now;
    this.claim = { ...DEFAULT_CLAIM, ...deps.claim };
    this.loop = new TurnLoop({
      turn: async () => {
        await deps.onTick?.();
        await this.tick();
      },
      failed: (err) => reportFailure(deps.logger, 'alert_outbox_turn', this.scrubbed(err), 'alert outbox turn failed; the next turn tries again'),
      waitMs: () => this.nextWakeIn(),
    });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Something was enqueued: look now instead of at the next timer. */
  kick(): void {
    this.loop.kick();
  }

  private async nextWakeIn(): Promise<number> {
    const idle = this.deps.idleMs ?? 500;
    const due = await this.deps.alerts.nextDueAt().catch((err: unknown) => {
      reportFailure(this.deps.logger, 'alert_outbox_turn', this.scrubbed(err), 'could not read when the next alert is due; looking again after the idle pause');
      return null;
    });
    return due === null ? idle : Math.min(idle, Math.max(5, due - this.now()));
  }

  /** One turn: claim what is due and deliver it (targets in parallel). Returns messages sent. */
  async tick(): Promise<number> {
    const now = this.now();
    if (now - this.lastExpiry > 60_000) {
      this.lastExpiry = now;
      await this.expire(now);
    }
    const batches = await this.deps.alerts.claimDue(this.deps.workerId, now, this.claim);
    const results = await Promise.all(batches.map((batch) => this.deliver(batch)));
    return results.filter(Boolean).length;
  }

  /** Pending rows older than 24 h are given up: counted and logged per target, never silently. */
  private async expire(now: number): Promise<void> {
    for (const e of await this.deps.alerts.expire(now - MAX_AGE_MS)) {
      this.countUndelivered(e.channel, 'expired', e.rows);
      this.deps.logger.error({ channel: e.channel, target: e.target, rows: e.rows }, 'alerts still undelivered after 24 h were given up (expired)');
    }
  }

  private countFailedAttempt(channel: ChannelKind): void {
    this.failedByChannel[channel] = (this.failedByChannel[channel] ?? 0) + 1;
  }

  private countUndelivered(channel: ChannelKind, reason: UndeliveredReason, rows: number): void {
    const byReason = (this.undelivered[channel] ??= {});
    byReason[reason] = (byReason[reason] ?? 0) + rows;
  }

  private async deliver(batch: OutboxRow[]): Promise<boolean> {
    const first = batch[0]!;
    const channel = this.deps.channels[first.channel];
    const ids = batch.map((r) => r.id);
    if (!channel) {
      this.deps.logger.error({ channel: first.channel, target: first.target, rows: ids.length }, 'alert channel is not configured; its rows fail');
      this.countUndelivered(first.channel, 'no_channel', ids.length);
      await this.deps.alerts.markFailed(this.deps.workerId, ids, `channel ${first.channel} is not configured`);
      return false;
    }
    let message: Prepared | null;
    try {
      message = await this.prepare(channel, batch);
    } catch (err) {
      await this.failed(batch, err);
      return false;
    }
    if (!message) return false;
    let delivered: Delivered;
    try {
      delivered = await channel.send({ id: message.rows[0]!.id, target: first.target, items: message.items, threadId: message.rules.threadId, silent: message.rules.silent });
    } catch (err) {
      await this.failed(message.rows, err);
      return false;
    }
    this.sentByChannel[first.channel] = (this.sentByChannel[first.channel] ?? 0) + 1;
    await this.recordSent(message.rows, this.success(message.groups, message.items, first, delivered.messageId, message.rules));
    return true;
  }

  /**
   * The message for a batch: one item per alert. An alert whose item cannot be built or rendered
   * (`channel.check`) is set aside on its own (failedInternally) and the message goes out without
   * it. Null: nothing left to send. Throws a DeliveryError when the message can never go.
   */
  private async prepare(channel: AlertChannel, batch: OutboxRow[]): Promise<Prepared | null> {
    const first = batch[0]!;
    const project = await this.deps.store.getProject(first.projectId);
    if (!project) throw new DeliveryError(`project ${first.projectId} no longer exists`, { rejectsMessage: true });
    const rules = await this.deps.rules.forProject(project);
    const alertProject = { id: project.id, slug: project.slug, name: project.name };
    const groups: Collapsed[] = [];
    const items: AlertItem[] = [];
    let setAside = 0;
    for (const group of collapse(batch)) {
      try {
        const item = await this.item(group, alertProject, rules);
        if (item) channel.check?.([item]);
        groups.push(group);
        if (item) items.push(item);
      } catch (err) {
        setAside += 1;
        await this.failedInternally(group.rows, err);
      }
    }
    if (!items.length) {
      if (setAside) return null;
      throw new DeliveryError('nothing left to say: the issues are gone', { rejectsMessage: true });
    }
    return { rows: groups.flatMap((g) => g.rows), groups, items, rules };
  }

  /**
   * The far side has the message: record it. Never treated as a failed delivery (that would send
   * it again at once); if the store keeps refusing, the claim expires and the message is sent
   * again after the lease: the at-least-once duplicate window of docs/alerts.md.
   */
  private async recordSent(batch: OutboxRow[], result: SendSuccess): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.alerts.markSent(this.deps.workerId, batch, result);
        return;
      } catch (err) {
        if (attempt >= MARK_SENT_ATTEMPTS) {
          reportFailure(this.deps.logger, 'alert_sent_unrecorded', this.scrubbed(err), 'an alert was delivered but could not be recorded; it will be sent again when its claim expires', { rows: batch.map((r) => r.id) });
          return;
        }
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  /** One alert's item: a forwarded monitor notification, the project-wide rate, or an issue (null: the issue is gone). */
  private async item(g: Collapsed, project: AlertProject, rules: ProjectRules): Promise<AlertItem | null> {
    if (g.body) return monitorItem(project, g.tier, g.body, this.deps.publicUrl);
    if (g.issueId === null) {
      const windowMs = rules.projectFrequency.windowMs;
      const events = await this.deps.alerts.countEventsSince({ projectId: project.id }, this.now() - windowMs, 100_000);
      return { kind: 'project', tier: g.tier, reasons: g.reasons, project, events, windowMs, url: projectUrl(this.deps.publicUrl, project) };
    }
    const state = await this.deps.alerts.getState(g.fingerprint);
    const offerGithub = this.deps.tracker ? await this.deps.tracker.offers(project.id).catch(() => false) : false;
    const item = await issueItem(this.deps.store, project, g.issueId, state, g.tier, g.reasons, this.deps.publicUrl, {
      offerGithub,
      onUnreadableEvent: (err) => reportFailure(this.deps.logger, 'alert_unreadable_event', this.scrubbed(err), 'the latest event of an issue could not be read; its alert goes out without event details', { issueId: g.issueId }),
    });
    if (item?.log && this.deps.logMatches) {
      // Best effort: without the count the message shows the issue's own (events).
      const matched = await this.deps.logMatches(project.id, item.log.pattern).catch(() => null);
      if (matched !== null) item.log = { ...item.log, matched };
    }
    return item;
  }

  private success(groups: Collapsed[], items: AlertItem[], first: OutboxRow, messageId: string | null, rules: ProjectRules): SendSuccess {
    const threadId = rules.threadId;
    const sentAt = this.now();
    const issueItems = items.filter((i) => i.kind === 'issue');
    return {
      sentAt,
      nextSendAt: sentAt + this.claim.paceMs,
      messageId,
      sentIds: groups.map((g) => g.rows[0]!.id),
      collapsedIds: groups.flatMap((g) => g.rows.slice(1).map((r) => r.id)),
      // Monitor notifications have no noise-control state: the monitors decided when to send them.
      states: groups.filter((g) => !g.body).map((g) => {
        const item = issueItems.find((i) => i.issueId === g.issueId);
        return {
          fingerprint: g.fingerprint,
          eventsAtLast: item?.totalEvents ?? 0,
          usersAtLast: item?.totalUsers ?? 0,
          repeatAt: g.tier === 'critical' ? sentAt + this.deps.config.criticalRepeatMs : null,
          cooldownUntil: sentAt + rules.cooldownMs,
        };
      }),
      message:
        messageId !== null && first.channel === 'telegram'
          ? { channel: 'telegram', target: first.target, messageId, threadId, projectId: first.projectId, issueIds: issueItems.map((i) => i.issueId), items: { layout: 'alert', items } }
          : null,
    };
  }

  private async failed(batch: OutboxRow[], err: unknown): Promise<void> {
    if (!(err instanceof DeliveryError)) return this.failedInternally(batch, err);
    const first = batch[0]!;
    this.countFailedAttempt(first.channel);
    const ids = batch.map((r) => r.id);
    const error = err;
    const now = this.now();
    const where = { channel: first.channel, target: first.target, rows: ids.length };
    if (error.migrateTo) {
      this.deps.logger.warn({ ...where, to: error.migrateTo }, 'alert chat was migrated to a supergroup; following it');
      await this.deps.alerts.migrateTarget(first.channel, first.target, error.migrateTo, now);
      this.kick();
    } else if (error.permanent) {
      this.deps.logger.error({ ...where, reason: error.message }, 'alert target refused permanently; disabled until fixed (botpulse test-alert re-enables it)');
      this.countUndelivered(first.channel, 'target_disabled', await this.deps.alerts.disableTarget(first.channel, first.target, error.message, now));
    } else if (error.rejectsMessage) {
      this.deps.logger.error({ ...where, reason: error.message }, 'alert message rejected; dropped');
      this.countUndelivered(first.channel, 'rejected', ids.length);
      await this.deps.alerts.markFailed(this.deps.workerId, ids, error.message);
    } else {
      const attempts = Math.max(...batch.map((r) => r.attempts));
      const wait = error.retryAfterMs ?? this.backoff(attempts);
      this.deps.logger.warn({ ...where, attempts: attempts + 1, retryInMs: wait, reason: error.message }, 'alert delivery failed; will retry');
      // The whole target waits: its later rows must not overtake this one.
      await this.deps.alerts.markRetry(this.deps.workerId, ids, error.message, now + wait, now + wait);
    }
  }

  /**
   * Our own code failed on this batch. Its rows leave the target's ordered queue so the rows behind
   * them go on. A batch of several alerts is retried at once, each alert alone (usually only one of
   * them is the cause); a row failing alone waits a backoff, and is parked after MAX_INTERNAL_FAILURES.
   */
  private async failedInternally(batch: OutboxRow[], err: unknown): Promise<void> {
    const first = batch[0]!;
    this.countFailedAttempt(first.channel);
    const reason = describeInternal(this.scrubbed(err), err);
    const where = { channel: first.channel, target: first.target };
    const now = this.now();
    const groups = collapse(batch);
    const failures = Math.max(...batch.map((r) => r.internalFailures)) + 1;
    if (groups.length === 1 && failures >= MAX_INTERNAL_FAILURES) {
      const ids = batch.map((r) => r.id);
      this.deps.logger.error({ ...where, rows: ids, failures, reason }, 'alert could not be built or sent because of an error in Botpulse; parked (not retried)');
      this.countUndelivered(first.channel, 'parked', ids.length);
      await this.deps.alerts.markParked(this.deps.workerId, ids, reason);
      return;
    }
    const retryAt = groups.length > 1 ? now : now + this.backoff(failures - 1);
    this.deps.logger.error({ err: this.scrubbed(err), ...where, rows: batch.map((r) => r.id), failures, retryInMs: retryAt - now }, 'alert delivery failed in Botpulse itself; the rows behind it go on, it is retried alone');
    await this.deps.alerts.markInternalFailure(this.deps.workerId, batch.map((r) => r.id), reason, retryAt);
    this.kick();
  }

  /** Exponential backoff with jitter, capped by BOTPULSE_ALERT_RETRY_MAX_SECONDS. */
  private backoff(attempts: number): number {
    const base = this.deps.retryBaseMs ?? 1_000;
    const exp = Math.min(this.deps.config.retryMaxMs, base * 2 ** Math.min(attempts, 20));
    return Math.round(exp * (0.8 + Math.random() * 0.2));
  }

  private scrubbed(err: unknown): Error {
    const message = err instanceof Error ? err.message : String(err);
    const scrubbed = new Error(message.replace(/\d{3,}:[A-Za-z0-9_-]{20,}/g, '<token>'));
    if (err instanceof Error) scrubbed.name = err.name;
    return scrubbed;
  }
}

/** `TypeError: x is not a function`, shortened for the row's `last_error`. */
function describeInternal(scrubbed: Error, original: unknown): string {
  const name = original instanceof Error ? original.constructor.name || scrubbed.name : typeof original;
  return `internal error: ${name}: ${scrubbed.message}`.slice(0, 500);
}

/**
 * Rows of one fingerprint become one alert: the highest tier, every reason, in first-row order.
 * A row with a body (a monitor notification: "down" and its "recovered" are two alerts) is never
 * collapsed; each notification has its own fingerprint anyway (`monitor-notification:<id>`).
 */
export function collapse(batch: OutboxRow[]): Collapsed[] {
  const groups = new Map<string, Collapsed>();
  for (const row of batch) {
    const key = row.body ? `outbox-row:${row.id}` : row.fingerprint;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { fingerprint: row.fingerprint, projectId: row.projectId, issueId: row.issueId, tier: row.tier, reasons: [...row.reasons], body: row.body, rows: [row] });
      continue;
    }
    g.rows.push(row);
    g.tier = highestTier([g.tier, row.tier]);
    for (const r of row.reasons) if (!g.reasons.includes(r)) g.reasons.push(r);
  }
  return [...groups.values()];
}

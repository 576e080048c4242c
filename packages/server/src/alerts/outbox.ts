import type { Logger } from 'pino';
import type { AlertConfig, ProjectRules } from './config.js';
import { DeliveryError, type AlertChannel } from './channels/contract.js';
import { highestTier, type RulesResolver } from './rules.js';
import { issueItem, monitorItem, projectUrl, type AlertItem, type AlertProject } from './items.js';
import type { AlertReason, AlertStore, AlertTier, ChannelKind, ClaimOptions, OutboxBody, OutboxRow, SendSuccess } from '../store/alerts.js';
import type { Store } from '../store/store.js';

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
}

const DEFAULT_CLAIM: ClaimOptions = { leaseMs: 60_000, maxPerMessage: 8, paceMs: 1_000, groupPerMinute: 20 };
/** An alert still unsent after this long is given up (Telegram itself keeps updates 24 h). */
const MAX_AGE_MS = 24 * 3_600_000;

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
 * error rate, or monitor notifications forwarded by monitors/notify.ts (their own text in `body`). A failure releases the rows with a
 * backoff (or Telegram's `retry_after`); the head row of a target blocks the rows behind it, so
 * a backlog goes out in order once the far side is back.
 */
export class OutboxSender {
  /** Messages delivered and delivery attempts that failed, per channel (for /metrics). */
  readonly sentByChannel: Partial<Record<ChannelKind, number>> = {};
  readonly failedByChannel: Partial<Record<ChannelKind, number>> = {};
  private running: Promise<void> | null = null;
  private stopped = true;
  private wake: (() => void) | null = null;
  /** A kick that came while a turn was running: the next sleep returns at once (no lost wake-up). */
  private kicked = false;
  private lastExpiry = 0;
  private readonly now: () => number;
  private readonly claim: ClaimOptions;

  constructor(private readonly deps: OutboxSenderDeps) {
    this.now = deps.now ?? Date.now;
    this.claim = { ...DEFAULT_CLAIM, ...deps.claim };
  }

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    this.running = null;
  }

  /** Something was enqueued: look now instead of at the next timer. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.kicked = false;
      try {
        await this.deps.onTick?.();
        await this.tick();
      } catch (err) {
        this.deps.logger.error({ err: this.scrubbed(err) }, 'alert outbox turn failed');
      }
      await this.sleep(await this.nextWakeIn());
    }
  }

  private async nextWakeIn(): Promise<number> {
    const idle = this.deps.idleMs ?? 500;
    const due = await this.deps.alerts.nextDueAt().catch(() => null);
    return due === null ? idle : Math.min(idle, Math.max(5, due - this.now()));
  }

  private sleep(ms: number): Promise<void> {
    if (this.kicked || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** One turn: claim what is due and deliver it (targets in parallel). Returns messages sent. */
  async tick(): Promise<number> {
    const now = this.now();
    if (now - this.lastExpiry > 60_000) {
      this.lastExpiry = now;
      await this.deps.alerts.expire(now - MAX_AGE_MS);
    }
    const batches = await this.deps.alerts.claimDue(this.deps.workerId, now, this.claim);
    const results = await Promise.all(batches.map((batch) => this.deliver(batch)));
    return results.filter(Boolean).length;
  }

  private async deliver(batch: OutboxRow[]): Promise<boolean> {
    const first = batch[0]!;
    const channel = this.deps.channels[first.channel];
    const ids = batch.map((r) => r.id);
    if (!channel) {
      await this.deps.alerts.markFailed(this.deps.workerId, ids, `channel ${first.channel} is not configured`);
      return false;
    }
    try {
      const groups = collapse(batch);
      const project = await this.deps.store.getProject(first.projectId);
      if (!project) throw new DeliveryError(`project ${first.projectId} no longer exists`, { rejectsMessage: true });
      const rules = await this.deps.rules.forProject(project);
      const alertProject = { id: project.id, slug: project.slug, name: project.name };
      const items = await this.items(groups, alertProject);
      if (!items.length) throw new DeliveryError('nothing left to say: the issues are gone', { rejectsMessage: true });
      const delivered = await channel.send({ id: first.id, target: first.target, items, threadId: rules.threadId, silent: rules.silent });
      await this.deps.alerts.markSent(this.deps.workerId, batch, this.success(groups, items, first, delivered.messageId, rules));
      this.sentByChannel[first.channel] = (this.sentByChannel[first.channel] ?? 0) + 1;
      return true;
    } catch (err) {
      this.failedByChannel[first.channel] = (this.failedByChannel[first.channel] ?? 0) + 1;
      await this.failed(batch, err);
      return false;
    }
  }

  private async items(groups: Collapsed[], project: AlertProject): Promise<AlertItem[]> {
    const items: AlertItem[] = [];
    for (const g of groups) {
      if (g.body) {
        items.push(monitorItem(project, g.tier, g.body, this.deps.publicUrl));
        continue;
      }
      if (g.issueId === null) {
        const rules = await this.deps.rules.forProject(project);
        const windowMs = rules.projectFrequency.windowMs;
        const events = await this.deps.alerts.countEventsSince({ projectId: project.id }, this.now() - windowMs, 100_000);
        items.push({ kind: 'project', tier: g.tier, reasons: g.reasons, project, events, windowMs, url: projectUrl(this.deps.publicUrl, project) });
        continue;
      }
      const state = await this.deps.alerts.getState(g.fingerprint);
      const item = await issueItem(this.deps.store, project, g.issueId, state, g.tier, g.reasons, this.deps.publicUrl);
      if (item) items.push(item);
    }
    return items;
  }

  private success(groups: Collapsed[], items: AlertItem[], first: OutboxRow, messageId: string | null, rules: ProjectRules): SendSuccess {
    const threadId = rules.threadId;
    const sentAt = this.now();
    const issueItems = items.filter((i) => i.kind === 'issue');
    return {
      sentAt,
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
    const first = batch[0]!;
    const ids = batch.map((r) => r.id);
    const error = err instanceof DeliveryError ? err : new DeliveryError(this.scrubbed(err).message);
    const now = this.now();
    const where = { channel: first.channel, target: first.target, rows: ids.length };
    if (error.migrateTo) {
      this.deps.logger.warn({ ...where, to: error.migrateTo }, 'alert chat was migrated to a supergroup; following it');
      await this.deps.alerts.migrateTarget(first.channel, first.target, error.migrateTo, now);
      this.kick();
    } else if (error.permanent) {
      this.deps.logger.error({ ...where, reason: error.message }, 'alert target refused permanently; disabled until fixed (botpulse test-alert re-enables it)');
      await this.deps.alerts.disableTarget(first.channel, first.target, error.message, now);
    } else if (error.rejectsMessage) {
      this.deps.logger.error({ ...where, reason: error.message }, 'alert message rejected; dropped');
      await this.deps.alerts.markFailed(this.deps.workerId, ids, error.message);
    } else {
      const attempts = Math.max(...batch.map((r) => r.attempts));
      const wait = error.retryAfterMs ?? this.backoff(attempts);
      this.deps.logger.warn({ ...where, attempts: attempts + 1, retryInMs: wait, reason: error.message }, 'alert delivery failed; will retry');
      // The whole target waits: its later rows must not overtake this one.
      await this.deps.alerts.markRetry(this.deps.workerId, ids, error.message, now + wait, now + wait);
    }
  }

  /** Exponential backoff with jitter, capped by BOTPULSE_ALERT_RETRY_MAX_SECONDS. */
  private backoff(attempts: number): number {
    const base = this.deps.retryBaseMs ?? 1_000;
    const exp = Math.min(this.deps.config.retryMaxMs, base * 2 ** Math.min(attempts, 20));
    return Math.round(exp * (0.8 + Math.random() * 0.2));
  }

  private scrubbed(err: unknown): Error {
    const message = err instanceof Error ? err.message : String(err);
    return new Error(message.replace(/\d{3,}:[A-Za-z0-9_-]{20,}/g, '<token>'));
  }
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

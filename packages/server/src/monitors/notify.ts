import type { Logger } from 'pino';
import type { Alerting } from '../alerts/alerting.js';
import { isSilenced } from '../alerts/engine.js';
import type { AlertStore, AlertTier, ChannelKind, NewOutboxRow, OutboxBody } from '../store/alerts.js';
import type { MonitorStore, Notification, NotificationStatus } from '../store/monitors.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';
import { reportFailure } from '../lib/failures.js';

/**
 * Forwards monitor notifications (down, deaf, recovered, conflicts, health checks, thresholds)
 * into the alert outbox (`alert_outbox`), so they reach the team through the same sender and
 * channels as issue alerts: per-chat pacing and the group-per-minute budget, Telegram's 429
 * `retry_after`, chat migrations, disabled targets, in-order delivery per target, retries and the
 * 24 h expiry (docs/alerts.md, "Delivery: the outbox").
 *
 * `monitor_notifications` stays the monitors' own record: a row is written in the same
 * transaction as the monitor's flip (store/sqlite/monitors.ts `transition`) or by a threshold
 * rule. Here each due row is claimed with a conditional update (one forwarder each, across
 * processes) and judged: older than 24 h → `failed`; an uptime or threshold notification while
 * the project's bot is down → `inhibited`; the recovery of a failure that was inhibited →
 * `inhibited`; a silence of the project → `silenced`; nowhere to send → `no_target`. Otherwise it
 * becomes one outbox row per destination (the project's chats from its alert rules, following
 * recorded migrations and skipping disabled targets; the alert webhook), its text and payload in
 * the row's body, and is marked `forwarded`. Thread and silent flag are the project's rules,
 * applied by the sender as for issue alerts.
 *
 * Exactly once: each outbox row carries the unique key
 * `monitor-notification:<id>:<channel>:<chat or URL as configured>`, and the rows of one
 * notification are inserted in one transaction that skips keys already present. A process that
 * dies between that insert and the mark leaves a claim that expires; whoever claims the
 * notification again finds its rows and only marks it (nothing is decided twice), and even a
 * second insert would add nothing.
 */
export interface NotifierDeps {
  store: Store;
  monitors: MonitorStore;
  alerting: Alerting;
  clock: Clock;
  logger: Logger;
  workerId: string;
  /** Inhibition: true while the project has a heartbeat monitor down. */
  projectDown(projectId: number): Promise<boolean>;
}

/** Alerts held while their bot is down (seed 002 inhibition: the bot being down explains them). */
const INHIBITED_WHILE_DOWN = new Set(['uptime_down', 'uptime_up', 'threshold_firing', 'threshold_resolved']);
/** Notifications that say something is well again: tier `alert`; failures are `critical` (never repeated). */
const RECOVERIES = new Set(['recovered', 'uptime_up', 'threshold_resolved', 'webhook_ok', 'update_lag_ok', 'throttled_ok', 'log_rate_ok', 'log_error_rate_ok']);
const LEASE_MS = 60_000;
const MAX_AGE_MS = 24 * 3_600_000;

/** The outbox fingerprint of one notification: its own, so two notifications never collapse into one alert. */
export const notificationFingerprint = (id: number): string => `monitor-notification:${id}`;

/**
 * How a forwarded notification's delivery went, from its outbox rows: `pending` while one waits,
 * `failed` if one failed or expired, `sent` when all went out; null without rows.
 */
export async function forwardedDelivery(alerts: AlertStore, notificationId: number): Promise<'pending' | 'sent' | 'failed' | null> {
  const rows = await alerts.outbox({ dedupeKeyPrefix: `${notificationFingerprint(notificationId)}:`, limit: 100 });
  if (!rows.length) return null;
  if (rows.some((r) => r.status === 'pending')) return 'pending';
  return rows.every((r) => r.status === 'sent' || r.status === 'collapsed') ? 'sent' : 'failed';
}

interface Target {
  /** `telegram:<chat as configured>` or `webhook:<url>`: the notification's `doneTargets` and the end of the dedupe key. */
  key: string;
  channel: ChannelKind;
  /** Where the row goes now (a migrated chat's new id). */
  target: string;
}

export class MonitorNotifier {
  /** Notifications handed to the alert outbox (/metrics `result="forwarded"`). */
  forwarded = 0;
  /** Forwarding attempts that failed (the store refused); each is retried with a backoff (/metrics `result="failed"`). */
  failed = 0;

  constructor(private readonly deps: NotifierDeps) {}

  /** Forwards every due notification to the alert outbox; returns how many were claimed. */
  async deliverDue(): Promise<number> {
    const now = this.deps.clock.now();
    const due = await this.deps.monitors.claimNotifications(this.deps.workerId, now, LEASE_MS, 50);
    let enqueued = 0;
    for (const n of due) enqueued += await this.forward(n, now);
    if (enqueued) this.deps.alerting.sender.kick();
    return due.length;
  }

  /** Judges one claimed notification and enqueues its outbox rows; returns how many rows were added. */
  private async forward(n: Notification, now: number): Promise<number> {
    const { monitors, workerId } = this.deps;
    const finish = (status: NotificationStatus, doneTargets: string[] = [], error?: string) =>
      monitors.finishNotification(n.id, workerId, { status, doneTargets, ...(error ? { error } : {}) });
    let added = 0;
    try {
      // Claimed before (its claim expired): if its rows reached the outbox, only the mark was lost.
      const earlier = n.attempts > 1 ? await this.forwardedTargets(n.id) : [];
      if (earlier.length) {
        await finish('forwarded', earlier);
        this.forwarded += 1;
        return 0;
      }
      const wallNow = Date.now();
      const held = await this.held(n, now, wallNow);
      if (held) {
        await finish(held.status, held.status === 'failed' ? n.doneTargets : [], held.error);
        return 0;
      }
      const targets = await this.targets(n.projectId);
      if (!targets.length) {
        await finish('no_target');
        return 0;
      }
      // `doneTargets`: destinations a notification reached before it was forwarded (rows written by older versions, which sent them directly).
      const todo = targets.filter((t) => !n.doneTargets.includes(t.key));
      added = await this.deps.alerting.alerts.enqueueOnce(todo.map((t) => this.outboxRow(n, t, wallNow)));
      await finish('forwarded', [...new Set([...n.doneTargets, ...targets.map((t) => t.key)])]);
      this.forwarded += 1;
      return added;
    } catch (err) {
      this.failed += 1;
      const retryAt = now + Math.min(300_000, 1000 * 2 ** Math.min(n.attempts, 8));
      const error = err instanceof Error ? err.message : String(err);
      this.deps.logger.warn({ notification: n.id, attempts: n.attempts, err: error }, 'monitor notification not forwarded to the alert outbox; will retry');
      // If even this fails, the claim expires and the notification is forwarded again then.
      await monitors.finishNotification(n.id, workerId, { status: 'pending', doneTargets: n.doneTargets, error, retryAt }).catch((e: unknown) =>
        reportFailure(this.deps.logger, 'monitor_notify', e, 'could not record a monitor notification\'s retry; it is retried when its claim expires', { notification: n.id }),
      );
      return added;
    }
  }

  /**
   * One row per destination, due at once (a down alert does not wait for the issue grouping
   * window) yet behind the target's earlier rows, its pacing and any 429 pause. The outbox runs on
   * wall-clock time, so the row does too, whatever the monitors' clock.
   */
  private outboxRow(n: Notification, t: Target, at: number): NewOutboxRow {
    const fingerprint = notificationFingerprint(n.id);
    const body: OutboxBody = { kind: n.kind, text: n.text, payload: n.payload, monitorId: n.monitorId, notificationId: n.id };
    const tier: AlertTier = RECOVERIES.has(n.kind) ? 'alert' : 'critical';
    return { projectId: n.projectId, issueId: null, fingerprint, channel: t.channel, target: t.target, tier, reasons: ['monitor'], createdAt: at, notBefore: at, body, dedupeKey: `${fingerprint}:${t.key}` };
  }

  /** Why a notification is not forwarded (too old, inhibited, silenced), or null to forward it. */
  private async held(n: Notification, now: number, wallNow: number): Promise<{ status: NotificationStatus; error?: string } | null> {
    if (now - n.createdAt > MAX_AGE_MS) return { status: 'failed', error: 'expired after 24 h' };
    if (INHIBITED_WHILE_DOWN.has(n.kind) && (await this.deps.projectDown(n.projectId))) return { status: 'inhibited' };
    if (await this.recoveryOfUnannouncedFailure(n)) return { status: 'inhibited' };
    // Silences end at wall-clock times (set through the API or /silence), whatever the monitors' clock.
    if (isSilenced(await this.deps.alerting.alerts.activeSilences(wallNow), n.projectId, null)) return { status: 'silenced' };
    return null;
  }

  /** The target keys of rows a previous claim of this notification already enqueued. */
  private async forwardedTargets(id: number): Promise<string[]> {
    const prefix = `${notificationFingerprint(id)}:`;
    const rows = await this.deps.alerting.alerts.outbox({ dedupeKeyPrefix: prefix, limit: 100 });
    return rows.flatMap((r) => (r.dedupeKey?.startsWith(prefix) ? [r.dedupeKey.slice(prefix.length)] : []));
  }

  /**
   * A probe's "OK again" whose "failing" was held (the bot was down then) would announce the end
   * of something nobody was told about: it is held too, even if the bot is back by now.
   */
  private async recoveryOfUnannouncedFailure(n: Notification): Promise<boolean> {
    if (n.kind !== 'uptime_up' || n.monitorId === null) return false;
    const earlier = await this.deps.monitors.notifications({ monitorId: n.monitorId, limit: 50 });
    const failure = earlier.find((e) => e.id < n.id && e.kind === 'uptime_down');
    return failure?.status === 'inhibited';
  }

  /** The destinations of the project's issue alerts (AlertEngine.destinations), keyed by the chat or URL as configured. */
  private async targets(projectId: number): Promise<Target[]> {
    const project = await this.deps.store.getProject(String(projectId));
    if (!project) return [];
    const destinations = await this.deps.alerting.engine.destinations(await this.deps.alerting.rules.forProject(project));
    return destinations.map((d) => ({ key: `${d.channel}:${d.configured}`, channel: d.channel, target: d.target }));
  }
}

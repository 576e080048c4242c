import type { Logger } from 'pino';
import type { Alerting } from '../alerts/alerting.js';
import { BotApi, toDeliveryError } from '../alerts/channels/telegram/api.js';
import { signature } from '../alerts/channels/webhook/format.js';
import type { Config } from '../config/load.js';
import type { MonitorStore, Notification } from '../store/monitors.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';

/**
 * Delivers monitor notifications (down, deaf, recovered, conflicts, health checks, thresholds).
 *
 * Why not the issue outbox: `alert_outbox` rows carry no text; the outbox sender renders them from
 * an issue (or a project-frequency count), and the alerts module has no entry point for other
 * kinds of alert. So this is the small additive piece the brief allowed: notifications are rows of
 * `monitor_notifications` written in the same transaction as the monitor's flip, claimed with a
 * conditional update (one sender each, across processes), and sent to the SAME destinations as
 * issue alerts: the project's chats, thread and silent flag from the alert rules
 * (`alerting.rules.forProject`), the alert webhook, honouring silences and disabled targets of
 * the AlertStore, and disabling a target Telegram refuses for good (`alerts.disableTarget`).
 */
export interface NotifierDeps {
  config: Readonly<Config>;
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
const LEASE_MS = 60_000;
const MAX_AGE_MS = 24 * 3_600_000;

export class MonitorNotifier {
  private readonly api: BotApi | null;
  sent = 0;
  failed = 0;

  constructor(private readonly deps: NotifierDeps) {
    const { token, apiRoot } = deps.config.alerts.telegram;
    this.api = token ? new BotApi(token, apiRoot) : null;
  }

  /** Sends everything due; returns how many notifications were finished. */
  async deliverDue(): Promise<number> {
    const now = this.deps.clock.now();
    const due = await this.deps.monitors.claimNotifications(this.deps.workerId, now, LEASE_MS, 50);
    for (const n of due) await this.deliver(n, now);
    return due.length;
  }

  private async deliver(n: Notification, now: number): Promise<void> {
    const { monitors, workerId } = this.deps;
    const finish = (result: Parameters<MonitorStore['finishNotification']>[2]) => monitors.finishNotification(n.id, workerId, result);
    if (now - n.createdAt > MAX_AGE_MS) return finish({ status: 'failed', doneTargets: n.doneTargets, error: 'expired after 24 h' });
    if (INHIBITED_WHILE_DOWN.has(n.kind) && (await this.deps.projectDown(n.projectId))) return finish({ status: 'inhibited', doneTargets: [] });
    if (await this.recoveryOfUnannouncedFailure(n)) return finish({ status: 'inhibited', doneTargets: [] });
    if (await this.silenced(n.projectId, now)) return finish({ status: 'silenced', doneTargets: [] });
    const targets = await this.targets(n.projectId);
    if (!targets.length) return finish({ status: 'no_target', doneTargets: [] });
    const done = new Set(n.doneTargets);
    const errors: string[] = [];
    for (const target of targets) {
      if (done.has(target.key)) continue;
      try {
        await target.send(n);
        done.add(target.key);
      } catch (err) {
        const e = toDeliveryError(err);
        if (e.permanent || e.rejectsMessage) {
          done.add(target.key); // never retried: the target is disabled or refuses this message
          if (e.permanent && target.channel === 'telegram') await this.deps.alerting.alerts.disableTarget('telegram', target.id, e.message, now);
        }
        errors.push(`${target.channel}: ${e.message}`);
      }
    }
    const allDone = targets.every((t) => done.has(t.key));
    if (allDone) {
      this.sent += 1;
      return finish({ status: errors.length ? 'failed' : 'sent', doneTargets: [...done], sentAt: now, ...(errors.length ? { error: errors.join('; ') } : {}) });
    }
    this.failed += 1;
    const retryAt = now + Math.min(300_000, 1000 * 2 ** Math.min(n.attempts, 8));
    this.deps.logger.warn({ notification: n.id, attempts: n.attempts, errors }, 'monitor notification failed; will retry');
    return finish({ status: 'pending', doneTargets: [...done], error: errors.join('; '), retryAt });
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

  private async silenced(projectId: number, now: number): Promise<boolean> {
    const silences = await this.deps.alerting.alerts.activeSilences(now);
    return silences.some((s) => s.issueId === null && (s.projectId === null || s.projectId === projectId));
  }

  private async targets(projectId: number): Promise<Target[]> {
    const project = await this.deps.store.getProject(String(projectId));
    if (!project) return [];
    const rules = await this.deps.alerting.rules.forProject(project);
    const out: Target[] = [];
    if (this.api) {
      for (const chat of rules.chatIds) {
        const known = await this.deps.alerting.alerts.getTarget('telegram', chat);
        if (known?.disabledAt) continue;
        const chatId = known?.migratedTo ?? chat;
        out.push({ key: `telegram:${chat}`, channel: 'telegram', id: chat, send: (n) => this.sendTelegram(chatId, n, rules.threadId, rules.silent) });
      }
    }
    const { url, secret } = this.deps.config.alerts.webhook;
    if (url) out.push({ key: `webhook:${url}`, channel: 'webhook', id: url, send: (n) => postWebhook(url, secret, n) });
    return out;
  }

  private async sendTelegram(chatId: string, n: Notification, threadId: number | null, silent: boolean): Promise<void> {
    await this.api!.call('sendMessage', {
      chat_id: chatId,
      text: n.text,
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      ...(threadId !== null ? { message_thread_id: threadId } : {}),
      ...(silent ? { disable_notification: true } : {}),
    });
  }
}

interface Target {
  key: string;
  channel: 'telegram' | 'webhook';
  id: string;
  send(n: Notification): Promise<void>;
}

/** Same signing as issue alerts (docs/alerts.md), with `type: "botpulse.monitor"`. */
async function postWebhook(url: string, secret: string | null, n: Notification): Promise<void> {
  const timestamp = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ type: 'botpulse.monitor', id: n.id, timestamp, alert: { ...n.payload, projectId: n.projectId, monitorId: n.monitorId, text: n.text } });
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'botpulse-alerts', 'x-botpulse-timestamp': String(timestamp) };
  if (secret) headers['x-botpulse-signature'] = signature(secret, body);
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`webhook answered HTTP ${response.status}`);
}

// Health of the polling loop, seen from inside it. The API hooks (grammY transformer, Telegraf
// callApi wrapper) report every getUpdates call to a PollingMonitor; the Heartbeat reads it every
// 20 s and sends a Sentry `check_in`: "ok" while getUpdates keeps succeeding, "error" when it
// fails, hangs, or keeps returning nothing while Telegram holds pending updates (a deaf bot).
// A process that dies sends nothing, which the server's monitor notices as silence.
import { hostname } from 'node:os';
import type { BotpulseClient } from './client.js';
import type { TelegramErrorInfo } from './noise.js';
import { resolveClient } from './sdk.js';
import type { BotSignals, WebhookInfoLike } from './signals.js';
import { uuid32 } from './tracing.js';

/**
 * Default heartbeat period (seed 001: every 20 s).
 * @example new Heartbeat({ monitor, monitorSlug: 'bot', intervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS })
 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 20_000;
/**
 * Default silence after the last check-in before the server calls the bot down and alerts
 * (seed 001: no heartbeat for more than 5 minutes).
 * @example instrumentGrammy(bot, { heartbeat: { monitorSlug: 'bot', downAfterMinutes: 2 } })
 */
export const DEFAULT_DOWN_AFTER_MINUTES = 5;
/**
 * 409 Conflicts lasting longer than this become an event (a deploy overlap is shorter).
 * @example instrumentGrammy(bot, { conflictEventAfterMs: 2 * DEFAULT_CONFLICT_EVENT_AFTER_MS })
 */
export const DEFAULT_CONFLICT_EVENT_AFTER_MS = 60_000;
/**
 * How often a heartbeat in webhook mode asks Telegram's getWebhookInfo (pending updates, last
 * delivery error). The answer rides on every check-in until the next ask.
 * @example instrumentGrammy(bot, { heartbeat: { monitorSlug: 'bot', mode: 'webhook', webhookInfoIntervalMs: 60_000 } })
 */
export const DEFAULT_WEBHOOK_INFO_INTERVAL_MS = 120_000;
/** A getWebhookInfo that has not answered after this long is reported as failed (the beat goes out anyway). */
const WEBHOOK_INFO_TIMEOUT_MS = 10_000;
/** How much longer than its own timeout a getUpdates may take before it counts as hanging. */
const HANG_GRACE_MS = 5000;

/** What the monitor knows about the polling loop. Times are ms since the epoch. */
export interface PollingState {
  /** The last getUpdates that answered ok. */
  lastSuccessAt: number | undefined;
  /** The last getUpdates that returned at least one update. */
  lastUpdatesAt: number | undefined;
  /** Start of the getUpdates call in flight, if any. */
  inFlightSince: number | undefined;
  /** Long-poll timeout (s) the bot asked for, as last seen. */
  pollTimeoutSec: number | undefined;
  consecutiveFailures: number;
  lastError: { at: number; code?: number; description: string } | undefined;
  /** getUpdates answers since the last non-empty one. */
  emptyPollsInARow: number;
  conflicts: number;
}

/**
 * Collects getUpdates observations and 409 Conflicts. The bot plugins create one per bot.
 * @example
 * const monitor = new PollingMonitor(client);
 * monitor.started({ timeout: 30 }); monitor.succeeded(0);
 */
export class PollingMonitor {
  readonly state: PollingState = {
    lastSuccessAt: undefined,
    lastUpdatesAt: undefined,
    inFlightSince: undefined,
    pollTimeoutSec: undefined,
    consecutiveFailures: 0,
    lastError: undefined,
    emptyPollsInARow: 0,
    conflicts: 0,
  };
  private conflictStreakSince: number | undefined;
  private conflictReported = false;

  constructor(
    private readonly client: BotpulseClient,
    private readonly options: { conflictEventAfterMs?: number | false } = {},
  ) {}

  /** A getUpdates call began (payload as sent to the Bot API). */
  started(payload: { timeout?: unknown } | undefined): void {
    this.state.inFlightSince = Date.now();
    const timeout = payload?.timeout;
    if (typeof timeout === 'number') this.state.pollTimeoutSec = timeout;
  }

  /** getUpdates answered ok with `count` updates. */
  succeeded(count: number): void {
    const now = Date.now();
    this.state.inFlightSince = undefined;
    this.state.lastSuccessAt = now;
    this.state.consecutiveFailures = 0;
    if (count > 0) {
      this.state.lastUpdatesAt = now;
      this.state.emptyPollsInARow = 0;
    } else {
      this.state.emptyPollsInARow += 1;
    }
    this.conflictStreakSince = undefined;
    this.conflictReported = false;
  }

  /** getUpdates failed (an error answer or no answer at all). */
  failed(info: TelegramErrorInfo): void {
    const now = Date.now();
    this.state.inFlightSince = undefined;
    this.state.consecutiveFailures += 1;
    const lastError: PollingState['lastError'] = { at: now, description: info.description };
    if (info.errorCode !== undefined) lastError.code = info.errorCode;
    this.state.lastError = lastError;
    if (info.errorCode === 409) this.conflict(info.description, now);
  }

  /** Counts a 409 Conflict; reports an event once a streak of them outlasts a deploy overlap. */
  private conflict(description: string, now: number): void {
    this.state.conflicts += 1;
    this.client.stats.pollingConflicts += 1;
    this.client.addBreadcrumb({ category: 'telegram.polling', level: 'warning', message: 'getUpdates 409 Conflict', data: { description } });
    this.conflictStreakSince ??= now;
    const after = this.options.conflictEventAfterMs ?? DEFAULT_CONFLICT_EVENT_AFTER_MS;
    if (after === false || this.conflictReported || now - this.conflictStreakSince < after) return;
    this.conflictReported = true;
    this.client.captureMessage(`Polling conflict: another getUpdates poller for this bot for ${Math.round((now - this.conflictStreakSince) / 1000)} s`, {
      level: 'error',
      fingerprint: ['botpulse', 'polling-conflict'],
      contexts: { polling: { conflicts: this.state.conflicts, description } },
    });
  }
}

/**
 * Status of one check-in: Sentry Crons' `ok`, `in_progress`, `error`, and Botpulse's `paused`
 * (the bot stopped polling on purpose: shown, not alerted, until the next `ok`).
 */
export type CheckInStatus = 'ok' | 'in_progress' | 'error' | 'paused';

/** The `check_in` item the heartbeat sends. */
export interface CheckIn {
  check_in_id: string;
  monitor_slug: string;
  status: CheckInStatus;
  duration?: number;
  environment?: string;
  release?: string;
  monitor_config?: Record<string, unknown>;
  contexts?: Record<string, Record<string, unknown>>;
}

/** The minimal Redis surface the heartbeat uses (ioredis fits). */
export interface HeartbeatRedis {
  set(key: string, value: string, mode: 'PX', ms: number): Promise<unknown>;
}

export interface HeartbeatOptions {
  client?: BotpulseClient;
  /** The bot's PollingMonitor (from the grammY/Telegraf plugin). */
  monitor: PollingMonitor;
  /** Monitor name on the server (Sentry `monitor_slug`). */
  monitorSlug: string;
  /** Default 20 000 ms. */
  intervalMs?: number;
  /**
   * How long without a successful getUpdates counts as deaf. Default: the long-poll timeout
   * plus one interval plus 10 s (a healthy long poll answers at least once per timeout).
   */
  maxSilenceMs?: number;
  /** Default "error": send an error check-in while deaf. "silent": send nothing (the server sees a missed beat). */
  whenDeaf?: 'error' | 'silent';
  /**
   * Asks Telegram how many updates wait (getWebhookInfo.pending_update_count). Used only when
   * every poll since the last beat came back empty: pending updates twice in a row mean that
   * Telegram holds updates the loop never gets.
   */
  pendingUpdates?: () => Promise<number>;
  /** Also SET `<redisKey>` = JSON {host, pid, env, ts} with a TTL of 3 intervals on healthy beats (seed 001). */
  redis?: HeartbeatRedis;
  /** Default "bot_polling_heartbeat". */
  redisKey?: string;
  /**
   * Minutes of silence after the last check-in that make the monitor down (one alert). Default 5
   * (`DEFAULT_DOWN_AFTER_MINUTES`, seed 001), or two check-in slots if the interval is longer than
   * 2.5 minutes; shorten it to hear sooner. A whole number, more than the interval in minutes
   * (rounded up): Sentry's `monitor_config` counts in whole minutes. See `heartbeatMonitorConfig`.
   */
  downAfterMinutes?: number;
  /**
   * Sentry `monitor_config` sent with each check-in; the server creates the monitor from it.
   * Default `heartbeatMonitorConfig(intervalMs, downAfterMinutes)`. `false`: none (the server's defaults).
   */
  monitorConfig?: Record<string, unknown> | false;
  /** Called after each beat (tests, logs). */
  onBeat?: (checkIn: CheckIn) => void;
  /**
   * "polling" (default): the beat judges the getUpdates loop. "webhook": Telegram pushes updates,
   * so there is no loop to judge: every beat is `ok` while the process lives, and carries what
   * getWebhookInfo says (`contexts.bot_signals.webhook`), which the server judges.
   */
  mode?: 'polling' | 'webhook';
  /** Webhook mode: asks Telegram's getWebhookInfo (the plugins pass the bot's API). */
  webhookInfo?: () => Promise<WebhookInfoLike>;
  /** Webhook mode: how often to ask getWebhookInfo. Default 120 000 ms (`DEFAULT_WEBHOOK_INFO_INTERVAL_MS`). */
  webhookInfoIntervalMs?: number;
  /** Per-minute update lag and 429s of the bot (the plugins pass theirs): sent as `contexts.bot_signals`. */
  signals?: BotSignals;
}

/**
 * Sends a check-in every interval while the polling loop is healthy, an error check-in (or
 * nothing) when it is not. The timer is unref'd: it never keeps the process alive.
 * @example
 * const heartbeat = new Heartbeat({ monitor: pulse.polling, monitorSlug: 'support-bot' });
 * heartbeat.start();
 */
export class Heartbeat {
  private readonly client: BotpulseClient;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private pendingSeen = false;
  private beating: Promise<CheckIn | undefined> | undefined;
  /** When getWebhookInfo was last asked (webhook mode). */
  private webhookAskedAt: number | undefined;
  /** Started since the last finish(): a loop that ran, so its end is worth a final check-in. */
  private ranSinceFinish = false;
  /** The last check-in sent (or computed, when silent). */
  last: CheckIn | undefined;

  constructor(private readonly options: HeartbeatOptions) {
    this.client = resolveClient(options.client);
    const slot = slotMinutes(this.intervalMs);
    if (!Number.isInteger(this.downAfterMinutes) || this.downAfterMinutes <= slot) {
      throw new RangeError(`heartbeat: downAfterMinutes must be a whole number of minutes above ${slot} (the check-in interval of ${this.intervalMs} ms in whole minutes), not ${this.downAfterMinutes}`);
    }
  }

  get intervalMs(): number {
    return this.options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  }

  /** Minutes of silence after the last check-in that make the monitor down. */
  get downAfterMinutes(): number {
    return this.options.downAfterMinutes ?? Math.max(DEFAULT_DOWN_AFTER_MINUTES, 2 * slotMinutes(this.intervalMs));
  }

  start(): this {
    if (this.timer) return this;
    this.ranSinceFinish = true;
    // A beat that fails (a throwing onBeat, an assessment error) must neither stop the next beats
    // nor become an unhandled rejection, which would end the bot it watches.
    this.timer = setInterval(() => void this.beat().catch((error: unknown) => this.client.diagnostics.report('heartbeat', 'a heartbeat failed; the next one runs on time', error)), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /**
   * The polling loop ended: stops beating and sends a final check-in at once, `paused` when the
   * bot was stopped on purpose (the server shows it, without an alert) or `error` when the loop
   * ended on an error (alerted now rather than after the silence allowance). Resolves once it is
   * delivered, or after `timeoutMs`: the process may end right after. Nothing is sent for a loop
   * that never started (a bad token fails before the first getUpdates) or was finished already.
   * @example handle.task()?.then(() => pulse.heartbeat?.finish('paused', 'runner stopped'));
   */
  async finish(status: 'paused' | 'error', reason: string, timeoutMs = 2000): Promise<void> {
    this.stop();
    if (!this.ranSinceFinish) return;
    this.ranSinceFinish = false;
    const checkIn = this.checkIn(status, reason);
    if (checkIn.contexts?.['polling']) checkIn.contexts['polling'] = { ...checkIn.contexts['polling'], stopped: true };
    this.last = checkIn;
    if (status === 'error') this.client.stats.heartbeatsError += 1;
    this.client.sendItem('check_in', checkIn);
    this.callOnBeat(checkIn);
    await this.client.flush(timeoutMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** One beat now: decides the status, sends the check-in. Concurrent calls share one beat. */
  beat(): Promise<CheckIn | undefined> {
    this.beating ??= this.doBeat().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  get mode(): 'polling' | 'webhook' {
    return this.options.mode ?? 'polling';
  }

  private async doBeat(): Promise<CheckIn | undefined> {
    const verdict = this.mode === 'webhook' ? { status: 'ok' as const } : await this.assess();
    if (this.mode === 'webhook') await this.refreshWebhookInfo();
    if (verdict === 'starting') return undefined;
    const checkIn = this.checkIn(verdict.status, verdict.reason);
    this.last = checkIn;
    if (verdict.status === 'ok') {
      this.client.stats.heartbeatsOk += 1;
      this.client.stats.lastHeartbeatTimestamp = Math.floor(Date.now() / 1000);
      void this.writeRedis();
    } else {
      this.client.stats.heartbeatsError += 1;
      this.client.addBreadcrumb({ category: 'telegram.polling', level: 'error', message: `heartbeat: ${verdict.reason ?? 'unhealthy'}` });
    }
    if (verdict.status === 'ok' || (this.options.whenDeaf ?? 'error') === 'error') this.client.sendItem('check_in', checkIn);
    this.callOnBeat(checkIn);
    return checkIn;
  }

  /** The application's onBeat: its failure is the application's, counted and logged, never the heartbeat's. */
  private callOnBeat(checkIn: CheckIn): void {
    try {
      this.options.onBeat?.(checkIn);
    } catch (error) {
      this.client.diagnostics.report('on_beat', 'the heartbeat onBeat callback threw; the check-in was sent', error);
    }
  }

  /** "starting" until the first getUpdates answers (unless that takes longer than maxSilence). */
  private async assess(): Promise<{ status: CheckInStatus; reason?: string } | 'starting'> {
    const { state } = this.options.monitor;
    const now = Date.now();
    const maxSilence = this.maxSilenceMs();
    const inFlightMs = state.inFlightSince === undefined ? undefined : now - state.inFlightSince;
    // A long poll may legitimately wait its whole timeout; past that (plus a grace) it hangs.
    const hangAfterMs = (state.pollTimeoutSec ?? 30) * 1000 + HANG_GRACE_MS;
    if (inFlightMs !== undefined && inFlightMs > hangAfterMs) {
      return { status: 'error', reason: `getUpdates has been hanging for ${Math.round(inFlightMs / 1000)} s` };
    }
    const since = state.lastSuccessAt ?? this.startedAt;
    const pollWaiting = inFlightMs !== undefined;
    if (!pollWaiting && now - since > maxSilence) {
      const error = state.lastError ? `; last error: ${state.lastError.code ?? ''} ${state.lastError.description}`.trimEnd() : '';
      return { status: 'error', reason: `no successful getUpdates for ${Math.round((now - since) / 1000)} s${error}` };
    }
    if (state.lastSuccessAt === undefined) return 'starting';
    if (await this.updatesStuck()) return { status: 'error', reason: 'Telegram holds pending updates but getUpdates returns none' };
    return { status: 'ok' };
  }

  private maxSilenceMs(): number {
    if (this.options.maxSilenceMs !== undefined) return this.options.maxSilenceMs;
    const timeoutSec = this.options.monitor.state.pollTimeoutSec ?? 30;
    return timeoutSec * 1000 + this.intervalMs + 10_000;
  }

  /** Two beats in a row with only empty polls while Telegram reports pending updates. */
  private async updatesStuck(): Promise<boolean> {
    const { state } = this.options.monitor;
    const probe = this.options.pendingUpdates;
    if (!probe || state.emptyPollsInARow === 0 || (state.lastUpdatesAt !== undefined && Date.now() - state.lastUpdatesAt < this.intervalMs)) {
      this.pendingSeen = false;
      return false;
    }
    let pending = 0;
    try {
      pending = await probe();
    } catch (error) {
      // The probe failing says nothing about the loop, but a probe that always fails hides a stuck one.
      this.client.diagnostics.report('pending_updates_probe', 'getWebhookInfo for pending updates failed; stuck updates cannot be told this beat', error);
      return false;
    }
    const stuck = pending > 0 && this.pendingSeen;
    this.pendingSeen = pending > 0;
    return stuck;
  }

  /** Asks getWebhookInfo when the last answer is older than the interval; a failure is reported, never thrown. */
  private async refreshWebhookInfo(): Promise<void> {
    const { signals, webhookInfo } = this.options;
    if (!signals || !webhookInfo) return;
    const asked = this.webhookAskedAt;
    if (asked !== undefined && Date.now() - asked < (this.options.webhookInfoIntervalMs ?? DEFAULT_WEBHOOK_INFO_INTERVAL_MS)) return;
    this.webhookAskedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`getWebhookInfo did not answer within ${WEBHOOK_INFO_TIMEOUT_MS} ms`)), WEBHOOK_INFO_TIMEOUT_MS);
      timer.unref();
    });
    try {
      signals.webhookInfo(await Promise.race([webhookInfo(), timeout]));
    } catch (error) {
      signals.webhookInfoFailed(error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  private checkIn(status: CheckInStatus, reason: string | undefined): CheckIn {
    const contexts: Record<string, Record<string, unknown>> = this.mode === 'webhook' ? {} : { polling: this.pollingContext(reason) };
    if (this.options.signals) contexts['bot_signals'] = this.options.signals.report() as unknown as Record<string, unknown>;
    const checkIn: CheckIn = {
      check_in_id: uuid32(),
      monitor_slug: this.options.monitorSlug,
      status,
      environment: this.client.config.environment,
      contexts,
    };
    if (this.client.config.release) checkIn.release = this.client.config.release;
    if (this.options.monitorConfig !== false) {
      checkIn.monitor_config = this.options.monitorConfig ?? heartbeatMonitorConfig(this.intervalMs, this.downAfterMinutes);
    }
    return checkIn;
  }

  private pollingContext(reason: string | undefined): Record<string, unknown> {
    const { state } = this.options.monitor;
    const polling: Record<string, unknown> = {
      last_get_updates_ok_at: iso(state.lastSuccessAt),
      last_updates_at: iso(state.lastUpdatesAt),
      consecutive_failures: state.consecutiveFailures,
      conflicts: state.conflicts,
      interval_seconds: this.intervalMs / 1000,
      host: hostname(),
      pid: process.pid,
    };
    if (reason) polling['reason'] = reason;
    if (state.lastError) polling['last_error'] = { ...state.lastError, at: iso(state.lastError.at) };
    return polling;
  }

  private async writeRedis(): Promise<void> {
    const { redis } = this.options;
    if (!redis) return;
    const value = JSON.stringify({ host: hostname(), pid: process.pid, env: this.client.config.environment, ts: new Date().toISOString() });
    try {
      await redis.set(this.options.redisKey ?? 'bot_polling_heartbeat', value, 'PX', this.intervalMs * 3);
    } catch (error) {
      // Redis trouble must not break the heartbeat to Botpulse; whoever reads that key must learn why it is stale.
      this.client.diagnostics.report('redis_heartbeat', 'writing the Redis heartbeat key failed', error);
    }
  }
}

/**
 * The `monitor_config` of a heartbeat: a check-in expected every slot (the beat interval rounded
 * up to whole minutes: 1 for the default 20 s), and a margin of the rest of `downAfterMinutes`. The server calls a
 * monitor down when a check-in is later than its interval plus its margin, so the monitor goes
 * down exactly `downAfterMinutes` after the last beat. Whole minutes because that is Sentry's
 * schema (Relay drops a check-in whose config has a `second` unit or a fractional margin), and the
 * SDK reports to any Sentry server; the beat interval itself travels in `contexts.polling`.
 * @example heartbeatMonitorConfig(20_000, 5) // interval 1 minute + margin 4: down 5 min after the last beat
 */
export function heartbeatMonitorConfig(intervalMs: number, downAfterMinutes: number): Record<string, unknown> {
  const slot = slotMinutes(intervalMs);
  return { schedule: { type: 'interval', value: slot, unit: 'minute' }, checkin_margin: downAfterMinutes - slot };
}

/** The check-in slot of a beat interval in Sentry's smallest unit: whole minutes, at least one. */
function slotMinutes(intervalMs: number): number {
  return Math.max(1, Math.ceil(intervalMs / 60_000));
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { AlertStore, ChannelKind } from '../store/alerts.js';
import type { Store } from '../store/store.js';
import type { AlertChannel } from './channels/contract.js';
import { BotApi } from './channels/telegram/api.js';
import { AlertBot } from './channels/telegram/bot.js';
import { TelegramChannel } from './channels/telegram/sender.js';
import { WebhookChannel } from './channels/webhook/sender.js';
import { AlertEngine } from './engine.js';
import { OutboxSender, type OutboxSenderDeps } from './outbox.js';
import type { AlertConfig } from './config.js';
import { RulesResolver } from './rules.js';
import type { IssueTracker } from './items.js';

/** Everything alerting, as main.ts wires it: the rules engine, the outbox sender, the alert bot. */
export interface Alerting {
  alerts: AlertStore;
  engine: AlertEngine;
  sender: OutboxSender;
  bot: AlertBot | null;
  rules: RulesResolver;
  /** The digest committed issue changes: wakes the engine, which reads them from the durable feed. */
  changesDigested(): void;
  start(): void;
  stop(): Promise<void>;
}

export interface AlertingOptions {
  /** Test and benchmark knobs (delays that are minutes in production). */
  sender?: Partial<Pick<OutboxSenderDeps, 'claim' | 'retryBaseMs' | 'idleMs'>>;
  pollTimeoutSeconds?: number;
  /** More lines for the bot's /status (Telegram HTML), e.g. the monitors summary main.ts provides. */
  statusExtras?: () => Promise<string[]>;
  /** GitHub issue creation from the alert bot's button (docs/github.md); main.ts hands it in. */
  tracker?: IssueTracker;
  /** Lines a forbidden log pattern has matched in a project (the log rule's state), for its issue's alert; main.ts hands it in. */
  logMatches?: OutboxSenderDeps['logMatches'];
  /** The engine's and the outbox's clock (cooldowns, pacing, follow-ups); tests inject one. Default Date.now. */
  now?: () => number;
}

/** The settings alerting reads (a slice of config/load.ts Config). */
export interface AlertingSettings {
  readonly alerts: AlertConfig;
  /** The base of links in alerts, without a trailing slash. */
  readonly publicUrl: string;
}

export function createChannels(config: Pick<AlertingSettings, 'alerts'>): Partial<Record<ChannelKind, AlertChannel>> & { telegramApi: BotApi | null } {
  const { telegram, webhook } = config.alerts;
  const telegramApi = telegram.token ? new BotApi(telegram.token, telegram.apiRoot) : null;
  return {
    telegramApi,
    ...(telegramApi ? { telegram: new TelegramChannel(telegramApi) } : {}),
    ...(webhook.url ? { webhook: new WebhookChannel(webhook.secret) } : {}),
  };
}

/** `store` and `alerts` are whatever main.ts picked (alerting never chooses a database itself). */
export function createAlerting(config: AlertingSettings, store: Store, alerts: AlertStore, logger: Logger, options: AlertingOptions = {}): Alerting {
  const log = logger.child({ part: 'alerts' });
  const rules = new RulesResolver(config.alerts, store, undefined, log);
  const workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const { telegramApi, ...channels } = createChannels(config);
  // The engine and the sender need each other (enqueue → wake; tick → follow-ups): wire through closures.
  let sender: OutboxSender | null = null;
  const engine = new AlertEngine({ store, alerts, config: config.alerts, rules, logger: log, workerId, onEnqueued: () => sender?.kick(), ...(options.now ? { now: options.now } : {}) });
  sender = new OutboxSender({ store, alerts, channels, config: config.alerts, publicUrl: config.publicUrl, rules, logger: log, workerId, onTick: () => engine.followUps(), ...(options.tracker ? { tracker: options.tracker } : {}), ...(options.logMatches ? { logMatches: options.logMatches } : {}), ...(options.now ? { now: options.now } : {}), ...options.sender });
  const bot =
    telegramApi && config.alerts.telegram.updates === 'polling'
      ? new AlertBot({ api: telegramApi, store, alerts, config: config.alerts, publicUrl: config.publicUrl, logger: log, workerId, ...(options.pollTimeoutSeconds ? { pollTimeoutSeconds: options.pollTimeoutSeconds } : {}), ...(options.statusExtras ? { statusExtras: options.statusExtras } : {}), ...(options.tracker ? { tracker: options.tracker } : {}) })
      : null;
  return {
    alerts,
    engine,
    sender,
    bot,
    rules,
    changesDigested: () => engine.kick(),
    start() {
      engine.start();
      sender!.start();
      bot?.start();
    },
    async stop() {
      await bot?.stop();
      // Changes not evaluated yet stay in the feed for the next start (or another process).
      await engine.stop();
      await sender!.stop();
    },
  };
}

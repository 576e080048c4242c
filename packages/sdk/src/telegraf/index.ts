// Telegraf integration: a middleware (scope, context, capture), `bot.catch` wrapped so errors
// Telegraf handles itself (its 90 s handler timeout) are captured too, and a wrapper around
// `telegram.callApi` on the bot's and each update's Telegram instance (Telegraf has no
// transformer API and builds a new Telegram object per update). No runtime import of Telegraf.
import { ApiCallRecorder } from '../api-calls.js';
import type { BotpulseClient } from '../client.js';
import { Heartbeat, PollingMonitor, type HeartbeatOptions } from '../heartbeat.js';
import { BotSignals, type BotSignalsOptions } from '../signals.js';
import { runInExecution, Scope } from '../scope.js';
import { registerSecret } from '../scrub.js';
import { resolveClient } from '../sdk.js';
import { UpdateScope } from '../update-scope.js';
import { telegramContext, type UpdateLike } from '../update.js';

/** The parts of a Telegraf `Telegram` instance the SDK wraps. */
export interface TelegrafTelegramLike {
  token: string;
  callApi(method: any, payload: any, options?: any): Promise<any>;
}

/** The parts of a Telegraf bot the SDK touches. */
export interface TelegrafBotLike {
  telegram: TelegrafTelegramLike;
  use(...middleware: any[]): unknown;
  catch(handler: (error: unknown, ctx: any) => unknown): unknown;
  botInfo?: { username?: string } | undefined;
  stop?(reason?: string): void;
  launch?(...args: any[]): Promise<void>;
}

/** A Telegraf middleware function. */
export type TelegrafMiddleware = (ctx: any, next: () => Promise<void>) => Promise<void>;

export interface TelegrafPluginOptions {
  client?: BotpulseClient;
  role?: (ctx: any) => string | undefined;
  /** Swallow expected Telegram errors that escape handlers instead of passing them to bot.catch. Default false. */
  swallowNoise?: boolean;
  /** Heartbeat from the polling loop (started at the first getUpdates; at once with `mode: 'webhook'`). `true`: monitor slug = bot username. */
  heartbeat?: boolean | Omit<HeartbeatOptions, 'monitor' | 'client' | 'signals' | 'webhookInfo'>;
  /** Update lag and 429 accounting (sent with the heartbeat): the clock (tests), minutes per check-in. */
  signals?: BotSignalsOptions;
  conflictEventAfterMs?: number | false;
}

export interface TelegrafInstrumentation {
  client: BotpulseClient;
  middleware: TelegrafMiddleware;
  polling: PollingMonitor;
  heartbeat: Heartbeat | undefined;
  /** Per-minute update lag, 429s and getWebhookInfo of this bot (sent with the heartbeat). */
  signals: BotSignals;
  dispose(): void;
}

const WRAPPED = Symbol('botpulse.wrapped');

/**
 * Instruments a Telegraf bot. Call it right after `new Telegraf()`, before other `bot.use`.
 * Your own `bot.catch` handler still runs (set it before or after).
 * @example
 * const bot = new Telegraf(resolveBotToken());
 * instrumentTelegraf(bot);
 * bot.catch((err, ctx) => ctx.reply('Something went wrong'));
 */
export function instrumentTelegraf(bot: TelegrafBotLike, options: TelegrafPluginOptions = {}): TelegrafInstrumentation {
  const client = resolveClient(options.client);
  registerSecret(bot.telegram.token);
  const polling = new PollingMonitor(client, options.conflictEventAfterMs === undefined ? {} : { conflictEventAfterMs: options.conflictEventAfterMs });
  const signals = new BotSignals(options.signals);
  const heartbeat = options.heartbeat ? createHeartbeat(bot, client, polling, signals, options.heartbeat) : undefined;
  const onCall = heartbeat && heartbeat.mode === 'polling' ? (method: string) => method === 'getUpdates' && !heartbeat.running && heartbeat.start() : undefined;
  wrapCallApi(bot.telegram, client, polling, onCall, signals);
  const updates = new UpdateScope(client, { mechanism: 'telegraf.middleware', role: options.role, swallowNoise: options.swallowNoise, signals });
  const middleware: TelegrafMiddleware = (ctx, next) => {
    if (ctx.telegram && ctx.telegram !== bot.telegram) wrapCallApi(ctx.telegram, client, undefined, undefined, signals);
    return updates.run(ctx, ctx.update as UpdateLike, next);
  };
  bot.use(middleware);
  wrapErrorHandler(bot, client, options.role);
  // A webhook bot has no polling loop to start the heartbeat: it beats from now on.
  if (heartbeat?.mode === 'webhook') heartbeat.start();
  else if (heartbeat) stopHeartbeatWithBot(bot, heartbeat);
  return { client, middleware, polling, heartbeat, signals, dispose: () => heartbeat?.stop() };
}

/** Replaces `telegram.callApi` on this instance with a recording wrapper (once). */
function wrapCallApi(telegram: TelegrafTelegramLike & { [WRAPPED]?: true }, client: BotpulseClient, polling: PollingMonitor | undefined, onCall: ((method: string) => unknown) | undefined, signals: BotSignals): void {
  if (telegram[WRAPPED]) return;
  const original = telegram.callApi.bind(telegram);
  telegram.callApi = async (method: string, payload: Record<string, unknown> | undefined, callOptions?: unknown) => {
    onCall?.(method);
    const recorder = new ApiCallRecorder(client, polling, method, payload, signals);
    try {
      const result = await original(method, payload, callOptions);
      recorder.answered({ ok: true, result });
      return result;
    } catch (error) {
      const response = (error as { response?: { error_code?: number; description?: string; parameters?: { retry_after?: number } } }).response;
      if (response && typeof response.error_code === 'number') recorder.answered({ ok: false, ...response });
      else recorder.threw(error);
      throw error;
    }
  };
  telegram[WRAPPED] = true;
}

/**
 * Errors reach Telegraf's handleError from our middleware (already captured: the client
 * de-duplicates) and from outside it, e.g. the 90 s handlerTimeout: capture those with the
 * update's context, then run whatever handler the bot has (its own or Telegraf's default).
 */
function wrapErrorHandler(bot: TelegrafBotLike & { handleError?: (error: unknown, ctx: any) => unknown }, client: BotpulseClient, role: ((ctx: any) => string | undefined) | undefined): void {
  const inUpdate = <T>(ctx: any, fn: () => T): T => {
    const scope = new Scope(client.globalScope.maxBreadcrumbs);
    const update = ctx?.update as UpdateLike | undefined;
    if (update) scope.telegram = telegramContext(update, { role: role?.(ctx) });
    return runInExecution({ scope, update: update ? { id: update.update_id, startedAt: Date.now() } : undefined }, fn);
  };
  const wrap = (handler: ((error: unknown, ctx: any) => unknown) | undefined, isDefault: boolean) => (error: unknown, ctx: any) => {
    inUpdate(ctx, () => {
      client.captureException(error, { mechanism: { type: 'telegraf.catch', handled: false } });
      // Telegraf's own handler sets process.exitCode = 1 and rethrows: the polling loop ends and
      // bot.launch() rejects. The report becomes fatal now, while it still waits in the queue.
      if (isDefault) client.captureFatal(error, 'telegraf.catch', { fatal: true, reason: "Telegraf's default error handler rethrew (no bot.catch)" });
    });
    if (handler) return handler(error, ctx);
    throw error;
  };
  const current = bot.handleError;
  bot.handleError = wrap(current, current === undefined || String(current).includes('Unhandled error while processing'));
  const originalCatch = bot.catch.bind(bot);
  bot.catch = (handler) => originalCatch(wrap(handler, false));
}

function createHeartbeat(bot: TelegrafBotLike, client: BotpulseClient, polling: PollingMonitor, signals: BotSignals, option: true | Omit<HeartbeatOptions, 'monitor' | 'client' | 'signals' | 'webhookInfo'>): Heartbeat {
  const settings = option === true ? { monitorSlug: bot.botInfo?.username ?? 'telegram-bot' } : option;
  return new Heartbeat({
    pendingUpdates: () => bot.telegram.callApi('getWebhookInfo', {}).then((info: { pending_update_count: number }) => info.pending_update_count),
    webhookInfo: () => bot.telegram.callApi('getWebhookInfo', {}),
    ...settings,
    signals,
    client,
    monitor: polling,
  });
}

/**
 * A stopped bot is not a deaf bot: stop beating when the bot stops. When the polling loop ends
 * (bot.launch() settles), one final check-in goes out at once: `paused` after bot.stop(),
 * `error` when the loop ended on an error; launch() settles after it was delivered (≤ 2 s).
 */
function stopHeartbeatWithBot(bot: TelegrafBotLike, heartbeat: Heartbeat): void {
  const stop = bot.stop?.bind(bot);
  if (stop) {
    bot.stop = (reason?: string) => {
      heartbeat.stop();
      stop(reason);
    };
  }
  const launch = bot.launch?.bind(bot);
  if (!launch) return;
  bot.launch = (...args: unknown[]) =>
    launch(...args).then(
      async (value) => {
        await heartbeat.finish('paused', 'the bot stopped polling (bot.stop())');
        return value;
      },
      async (error: unknown) => {
        await heartbeat.finish('error', `polling ended on an error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
        throw error;
      },
    );
}

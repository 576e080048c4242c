// grammY integration: an outermost middleware (scope, context, capture in every mode: polling,
// @grammyjs/runner and webhooks) and an API transformer (every Bot API call as a breadcrumb and
// span; getUpdates health for the heartbeat). No runtime import of grammY: the bot is passed in.
import { ApiCallRecorder, type ApiResponseLike } from '../api-calls.js';
import type { BotpulseClient } from '../client.js';
import { Heartbeat, PollingMonitor, type HeartbeatOptions } from '../heartbeat.js';
import { BotSignals, type BotSignalsOptions, type WebhookInfoLike } from '../signals.js';
import { registerSecret } from '../scrub.js';
import { resolveClient } from '../sdk.js';
import { UpdateScope } from '../update-scope.js';
import type { UpdateLike } from '../update.js';

/** The parts of a grammY Context the SDK reads. */
export interface GrammyContextLike {
  update: { update_id: number };
}

/** grammY's `ApiCallFn`, loosely typed so grammY stays an optional peer. */
export type ApiCallLike = (method: any, payload: any, signal?: any) => Promise<any>;
/** A grammY transformer (`bot.api.config.use(transformer)`). */
export type GrammyTransformer = (prev: any, method: any, payload: any, signal?: any) => Promise<any>;
/** A grammY middleware function. */
export type GrammyMiddleware = (ctx: any, next: () => Promise<void>) => Promise<void>;

/** The parts of a grammY Bot the SDK touches. */
export interface GrammyBotLike {
  token: string;
  api: { config: { use(...transformers: any[]): unknown }; getWebhookInfo(): Promise<WebhookInfoLike & { pending_update_count: number }> };
  use(...middleware: any[]): unknown;
  stop(): Promise<void>;
  start?(options?: any): Promise<void>;
  botInfo?: { username?: string };
  /** grammY's error handler (what `bot.catch` sets). */
  errorHandler?: (error: any) => unknown;
  isRunning?(): boolean;
}

export interface GrammyPluginOptions {
  /** Default: the client of `init()`. */
  client?: BotpulseClient;
  /** `contexts.telegram.role` for an update, e.g. from your database. */
  role?: (ctx: any) => string | undefined;
  /** Swallow expected Telegram errors that escape handlers instead of passing them to bot.catch. Default false. */
  swallowNoise?: boolean;
  /**
   * Send a heartbeat check-in from the polling loop. `true` uses the bot's username as the
   * monitor slug. Started at the first getUpdates, stopped by `bot.stop()`. Default off.
   * With `mode: 'webhook'` it starts at once and reports getWebhookInfo instead of judging getUpdates.
   */
  heartbeat?: boolean | Omit<HeartbeatOptions, 'monitor' | 'client' | 'signals' | 'webhookInfo'>;
  /** Update lag and 429 accounting (sent with the heartbeat): the clock (tests) and how many minutes each check-in repeats. */
  signals?: BotSignalsOptions;
  /** 409 Conflicts lasting longer than this become an event (default 60 000 ms; false = never). */
  conflictEventAfterMs?: number | false;
}

/** What `instrumentGrammy` installed. */
export interface GrammyInstrumentation {
  client: BotpulseClient;
  middleware: GrammyMiddleware;
  transformer: GrammyTransformer;
  /** getUpdates health of this bot (fed by the transformer). */
  polling: PollingMonitor;
  heartbeat: Heartbeat | undefined;
  /** Per-minute update lag, 429s and getWebhookInfo of this bot (sent with the heartbeat). */
  signals: BotSignals;
  /** Stops the heartbeat. */
  dispose(): void;
  /**
   * For `@grammyjs/runner`, whose handle the SDK cannot see by itself: the runner's end sends the
   * final check-in, as `bot.stop()` does for `bot.start()`: `paused` after `handle.stop()` (which
   * then resolves once it was delivered, at most 2 s) or when its task ends, `error` when the task
   * ends on an error. Returns the handle.
   * @example const handle = pulse.trackRunner(run(bot));
   */
  trackRunner<H extends RunnerHandleLike>(handle: H): H;
}

/** What the SDK uses of `@grammyjs/runner`'s `RunnerHandle`. */
export interface RunnerHandleLike {
  stop(): Promise<void>;
  task(): Promise<void> | undefined;
}

/**
 * The grammY middleware alone. Install it FIRST (`bot.use` order is outermost first) so it
 * sees errors of every later middleware. Errors are captured, then rethrown, so grammY's own
 * handling (bot.catch, errorBoundary, webhookCallback) still runs.
 * @example
 * const bot = new Bot(token);
 * bot.use(botpulseMiddleware());
 */
export function botpulseMiddleware(options: Pick<GrammyPluginOptions, 'client' | 'role' | 'swallowNoise'> & { signals?: BotSignals } = {}): GrammyMiddleware {
  const updates = new UpdateScope(resolveClient(options.client), { mechanism: 'grammy.middleware', role: options.role, swallowNoise: options.swallowNoise, signals: options.signals });
  return (ctx: GrammyContextLike, next) => updates.run(ctx, ctx.update as UpdateLike, next);
}

/**
 * The grammY API transformer alone: every Bot API call becomes a breadcrumb (method, latency,
 * error code, retry_after) and, in a sampled update, a span. Install it after `autoRetry` to
 * time whole calls (retries included), before it to see each attempt.
 * @example bot.api.config.use(botpulseTransformer());
 */
export function botpulseTransformer(options: { client?: BotpulseClient; polling?: PollingMonitor; signals?: BotSignals } = {}): GrammyTransformer {
  const client = resolveClient(options.client);
  return (prev: ApiCallLike, method: string, payload: Record<string, unknown> | undefined, signal?: AbortSignal) => {
    const recorder = new ApiCallRecorder(client, options.polling, method, payload, options.signals);
    return prev(method, payload, signal).then(
      (response: ApiResponseLike) => {
        recorder.answered(response);
        return response;
      },
      (error: unknown) => {
        recorder.threw(error);
        throw error;
      },
    );
  };
}

/**
 * Installs the middleware and the transformer on a grammY bot. Call it right after `new Bot()`,
 * before any other `bot.use`.
 * @example
 * const bot = new Bot(resolveBotToken());
 * instrumentGrammy(bot, { heartbeat: { monitorSlug: 'support-bot' } });
 */
export function instrumentGrammy(bot: GrammyBotLike, options: GrammyPluginOptions = {}): GrammyInstrumentation {
  const client = resolveClient(options.client);
  registerSecret(bot.token);
  const polling = new PollingMonitor(client, options.conflictEventAfterMs === undefined ? {} : { conflictEventAfterMs: options.conflictEventAfterMs });
  const signals = new BotSignals(options.signals);
  const heartbeat = options.heartbeat ? createHeartbeat(bot, client, polling, signals, options.heartbeat) : undefined;
  const baseTransformer = botpulseTransformer({ client, polling, signals });
  const lifecycle = { polling: true };
  const transformer: GrammyTransformer = heartbeat
    ? (prev, method, payload, signal) => {
        if (method === 'getUpdates' && lifecycle.polling && !heartbeat.running) heartbeat.start();
        return baseTransformer(prev, method, payload, signal);
      }
    : baseTransformer;
  const middleware = botpulseMiddleware({ client, role: options.role, swallowNoise: options.swallowNoise ?? false, signals });
  bot.api.config.use(transformer);
  bot.use(middleware);
  watchErrorHandler(bot, client);
  // A webhook bot has no polling loop to start the heartbeat: it beats from now on.
  if (heartbeat?.mode === 'webhook') heartbeat.start();
  else if (heartbeat) tieHeartbeatToBot(bot, heartbeat, lifecycle);
  return {
    client,
    middleware,
    transformer,
    polling,
    heartbeat,
    signals,
    dispose: () => heartbeat?.stop(),
    trackRunner: (handle) => (heartbeat && heartbeat.mode !== 'webhook' ? tieHeartbeatToRunner(handle, heartbeat, lifecycle, client) : handle),
  };
}

/** See GrammyInstrumentation.trackRunner. */
function tieHeartbeatToRunner<H extends RunnerHandleLike>(handle: H, heartbeat: Heartbeat, lifecycle: { polling: boolean }, client: BotpulseClient): H {
  lifecycle.polling = true;
  const stop = handle.stop.bind(handle);
  handle.stop = async () => {
    // A getUpdates still in flight must not start the beat again once the runner was told to stop.
    lifecycle.polling = false;
    heartbeat.stop();
    await stop();
    await heartbeat.finish('paused', 'the runner was stopped (handle.stop())');
  };
  // finish() sends once: whichever of stop() and the task's end comes first says it.
  handle
    .task()
    ?.then(
      () => heartbeat.finish('paused', 'the runner stopped'),
      (error: unknown) => heartbeat.finish('error', `the runner ended on an error: ${describeError(error)}`),
    )
    .catch((error: unknown) => client.diagnostics.report('heartbeat', 'the final check-in of the runner could not be sent', error));
  return handle;
}

function createHeartbeat(bot: GrammyBotLike, client: BotpulseClient, polling: PollingMonitor, signals: BotSignals, option: true | Omit<HeartbeatOptions, 'monitor' | 'client' | 'signals' | 'webhookInfo'>): Heartbeat {
  const settings = option === true ? { monitorSlug: bot.botInfo?.username ?? 'telegram-bot' } : option;
  return new Heartbeat({
    pendingUpdates: () => bot.api.getWebhookInfo().then((info) => info.pending_update_count),
    webhookInfo: () => bot.api.getWebhookInfo(),
    ...settings,
    signals,
    client,
    monitor: polling,
  });
}

/**
 * Without `bot.catch`, grammY's default error handler stops polling and rethrows, so `bot.start()`
 * rejects and (in the quick start, where nobody awaits it) the process dies of the unhandled
 * rejection. The middleware reported the error a moment earlier with the update's context; that
 * report becomes `level: fatal` here, before the handler runs, so the crash is one fatal event
 * with the update context rather than an error plus a context-less fatal one. `bot.catch` (or any
 * assignment of `bot.errorHandler`) after instrumenting is the application's handler: untouched.
 */
function watchErrorHandler(bot: GrammyBotLike, client: BotpulseClient): void {
  let handler = bot.errorHandler;
  if (typeof handler !== 'function') return;
  let replaced = false;
  const isDefault = (): boolean => !replaced && String(handler).includes('No error handler was set');
  const watched = (error: unknown): unknown => {
    if (isDefault() && bot.isRunning?.()) {
      client.captureFatal(error, 'grammy.error_handler', { fatal: true, reason: "grammY's default error handler stopped polling (no bot.catch)" });
    }
    return handler!.call(bot, error);
  };
  Object.defineProperty(bot, 'errorHandler', {
    configurable: true,
    enumerable: true,
    get: () => watched,
    set: (next: (error: unknown) => unknown) => {
      handler = next;
      replaced = true;
    },
  });
}

/**
 * A stopped bot is not a deaf bot: stop beating when the bot stops polling. grammY's stop()
 * itself calls getUpdates once (to confirm the offset), which must not restart the heartbeat;
 * the next start() re-arms it. When the loop ends, one final check-in goes out at once:
 * `paused` after `bot.stop()`, `error` when polling ended on an error; start() settles after it
 * was delivered (at most 2 s), so a process that ends right after still sends it.
 */
function tieHeartbeatToBot(bot: GrammyBotLike, heartbeat: Heartbeat, lifecycle: { polling: boolean }): void {
  const stop = bot.stop.bind(bot);
  bot.stop = async () => {
    lifecycle.polling = false;
    heartbeat.stop();
    return stop();
  };
  const start = bot.start?.bind(bot);
  if (start) {
    bot.start = (options?: Record<string, unknown>) => {
      lifecycle.polling = true;
      return start(options).then(
        async (value) => {
          await heartbeat.finish('paused', 'the bot stopped polling (bot.stop())');
          return value;
        },
        async (error: unknown) => {
          await heartbeat.finish('error', `polling ended on an error: ${describeError(error)}`);
          throw error;
        },
      );
    };
  }
}

function describeError(error: unknown): string {
  const inner = error instanceof Error && error.name === 'BotError' && 'error' in error ? (error as { error: unknown }).error : error;
  return inner instanceof Error ? `${inner.name}: ${inner.message}` : String(inner);
}

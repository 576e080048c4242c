// @botpulse/sdk: error tracking, Telegram context, noise filtering, polling lock and heartbeat
// for Telegram bots, over the Sentry protocol (Botpulse or any Sentry server).
export {
  init, getClient, captureException, captureMessage, captureEvent, addBreadcrumb, setContext, setTag, setTags,
  setUser, setExtra, withScope, trace, flush, close, getCurrentScope,
} from './sdk.js';
export { BotpulseClient, telegramTags } from './client.js';
// The event types beforeSend and captureEvent use, so a bot can name them.
export type { SentryEvent, SentryException, SentryStackFrame, SentryBreadcrumb, SentryLevel, SentryUser } from '@botpulse/protocol';
export type { BotpulseOptions, EventHint, TraceOptions, ResolvedConfig } from './client.js';
export { Scope, DEFAULT_MAX_BREADCRUMBS } from './scope.js';
export type { Breadcrumb } from './scope.js';
export { Span, uuid32 } from './tracing.js';
export type { SpanJson, SpanStatus } from './tracing.js';
export { HttpTransport, NoopTransport, parseRateLimits, parseRetryAfter } from './transport.js';
export type { Transport, TransportItem, TransportStats, HttpTransportOptions, DropReason } from './transport.js';
export { exceptionsFromError, parseStack, isInApp, errorType } from './stack.js';
export type { Mechanism, StackOptions } from './stack.js';
export { scrubString, scrubValue, registerSecret, isSecretKey, BOT_TOKEN_PATTERN } from './scrub.js';
export { NoiseFilter, classifyError, classifyApiFailure, telegramErrorInfo, DEFAULT_NOISE_KINDS } from './noise.js';
export type { NoiseKind, NoiseOptions, TelegramErrorInfo } from './noise.js';
export { UpdateDeduper, DEFAULT_DEDUPE_CAPACITY } from './dedupe.js';
export { telegramContext, updateType } from './update.js';
export type { UpdateLike } from './update.js';
export { UpdateScope } from './update-scope.js';
export type { UpdateScopeOptions } from './update-scope.js';
export type { CountersSnapshot } from './counters.js';
export { defaultTracesSampleRate, gitCommit, resolveDsn, resolveEnvironment, resolveRelease } from './config.js';
export type { Env } from './config.js';
export { resolveBotToken, selectBotToken, BotTokenError } from './token.js';
export type { BotTokenSource } from './token.js';
export { Heartbeat, PollingMonitor, heartbeatMonitorConfig, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_DOWN_AFTER_MINUTES, DEFAULT_CONFLICT_EVENT_AFTER_MS, DEFAULT_WEBHOOK_INFO_INTERVAL_MS } from './heartbeat.js';
export { BotSignals, percentile, updateDate, DEFAULT_SIGNAL_MINUTES, DEFAULT_LAG_SAMPLES } from './signals.js';
export type { BotSignalsOptions, MinuteSignals, WebhookSignals, WebhookInfoLike } from './signals.js';
export type { HeartbeatOptions, CheckIn, CheckInStatus, PollingState, HeartbeatRedis } from './heartbeat.js';
export { instrumentGrammy, botpulseMiddleware, botpulseTransformer } from './grammy/index.js';
export type { GrammyPluginOptions, GrammyInstrumentation, GrammyBotLike, GrammyContextLike, GrammyMiddleware, GrammyTransformer, RunnerHandleLike } from './grammy/index.js';
export { SDK_NAME, SDK_VERSION } from './version.js';
export { installProcessHandlers, uninstallProcessHandlers, unhandledRejectionMode } from './uncaught.js';
export type { UnhandledRejectionMode, ProcessHandlerOptions } from './uncaught.js';
export { DiskQueue, diskQueueDir, DEFAULT_DISK_QUEUE_BYTES, DEFAULT_DISK_QUEUE_FILES } from './disk-queue.js';
export type { DiskQueueOptions, StoredItem, LossReason } from './disk-queue.js';
export { ClientReports, dataCategory } from './client-reports.js';
export { Diagnostics, stderrLogger, DIAGNOSTIC_LOG_INTERVAL_MS } from './diagnostics.js';
export type { DiagnosticLogger } from './diagnostics.js';
export type { ClientReport, DiscardReason } from './client-reports.js';
export { guardWebhook, expressErrorHandler } from './webhook.js';
export type { WebhookGuardOptions, WebhookHandler } from './webhook.js';
export { instrumentTelegraf } from './telegraf/index.js';
export type { TelegrafPluginOptions, TelegrafInstrumentation, TelegrafBotLike, TelegrafTelegramLike, TelegrafMiddleware } from './telegraf/index.js';
export { pollingLock, PollingLock, LockHeldError, describeHolder } from './lock.js';
export type { LockRedis, LockHolder, PollingLockOptions } from './lock.js';
export { startPollingWithLock } from './grammy/polling-lock.js';
export type { PollingWithLockOptions, GrammyPollingBotLike } from './grammy/polling-lock.js';
export { createLogger, LOG_LEVELS } from './logger.js';
export type { Logger, LoggerOptions, LogLevel, ShipOptions, SentryLogEntry } from './logger.js';
export { registerMetrics } from './metrics.js';
export type { MetricsOptions, MetricsRegistry } from './metrics.js';

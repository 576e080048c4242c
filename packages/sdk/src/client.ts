// The client: turns errors and messages into Sentry events enriched with the current scope
// (update context, breadcrumbs, tags), filters Telegram noise, applies beforeSend, scrubs
// tokens and hands the result to the transport. Also owns tracing (`trace`) and the counters.
import { hostname, release as osRelease, type as osType } from 'node:os';
import type { SentryEvent, SentryException, SentryLevel, SentryUser } from '@botpulse/protocol';
import { defaultTracesSampleRate, resolveDsn, resolveEnvironment, resolveRate, resolveRelease, type Env } from './config.js';
import { ClientReports, dataCategory, type DiscardReason } from './client-reports.js';
import { Counters, type CountersSnapshot } from './counters.js';
import { Diagnostics, stderrLogger, type DiagnosticLogger } from './diagnostics.js';
import { DiskQueue, diskQueueDir, type DiskQueueOptions } from './disk-queue.js';
import { NoiseFilter, telegramErrorInfo, unwrapBotError, type NoiseKind, type NoiseOptions } from './noise.js';
import { currentExecution, runInExecution, Scope, DEFAULT_MAX_BREADCRUMBS, type Breadcrumb, type ExecutionContext } from './scope.js';
import { scrubJson, scrubString, scrubValue } from './scrub.js';
import { exceptionsFromError, errorType, type Mechanism } from './stack.js';
import { StormGuard, stormSignature, type StormOptions } from './storm.js';
import { Span, uuid32, type SpanStatus } from './tracing.js';
import { HttpTransport, NoopTransport, type HttpTransportOptions, type Transport, type TransportItem } from './transport.js';
import { installProcessHandlers, uninstallProcessHandlers, type UnhandledRejectionMode } from './uncaught.js';
import { telegramContext, type UpdateLike } from './update.js';
import { SDK_NAME, SDK_VERSION } from './version.js';

/** Options of `init()` / `new BotpulseClient()`. Every one is optional. */
export interface BotpulseOptions {
  /** Where to report. Default `BOTPULSE_DSN`, else `SENTRY_DSN`. `null` or empty: nothing is sent (counters and logs still work). */
  dsn?: string | null;
  /** Default `SENTRY_ENVIRONMENT`, else `ENVIRONMENT`, else `NODE_ENV`, else "production". */
  environment?: string;
  /** Default `SENTRY_RELEASE`, else the git commit of the working directory. */
  release?: string;
  /** Default the host name. */
  serverName?: string;
  /** Share of error events sent, 0..1 (default 1). */
  sampleRate?: number;
  /** Share of traces sent, 0..1. Default `SENTRY_TRACES_SAMPLE_RATE`, else 0.1 / 0.5 / 1.0 for production / staging / development. */
  tracesSampleRate?: number;
  /** Breadcrumbs kept per scope (default 100). */
  maxBreadcrumbs?: number;
  /** Last look at an event before it is sent: return it (edited or not), or null to drop it. May be async. */
  beforeSend?: (event: SentryEvent, hint: EventHint) => SentryEvent | null | PromiseLike<SentryEvent | null>;
  /** Return null to drop a breadcrumb. */
  beforeBreadcrumb?: (breadcrumb: Breadcrumb) => Breadcrumb | null;
  /** Which Telegram errors are noise (breadcrumb + counter instead of an event). `false` reports everything. */
  noise?: NoiseOptions | false;
  /** Include the text users send (message text, captions, callback data) in breadcrumbs. Default false. */
  captureMessageText?: boolean;
  /** Do not run handlers for an update_id seen recently (Telegram's retry). Default false: handled but flagged. */
  skipDuplicateUpdates?: boolean;
  /** How many recent update_ids are remembered per bot (default 10 000). */
  dedupeCapacity?: number;
  /** A custom transport (tests, other protocols). Default: HTTP envelopes to the DSN. */
  transport?: Transport;
  /** Tuning of the default HTTP transport (queue bounds, retries, gzip threshold). */
  transportOptions?: Omit<HttpTransportOptions, 'dsn'>;
  /** Flush on `beforeExit` and on SIGTERM/SIGINT (then exit if nobody else handles the signal). Default false. */
  flushOnExit?: boolean;
  /**
   * Report uncaught exceptions and unhandled rejections (level fatal, `mechanism.handled: false`),
   * deliver them, then end the process as Node would have (docs/sdk.md, "Crashes"). Default
   * true for `init()`, false for a client made with `new BotpulseClient()` (the process has one
   * set of handlers, owned by one client).
   */
  captureUncaught?: boolean;
  /** How long a crashing process waits for delivery before it exits (default 2000 ms). */
  shutdownTimeoutMs?: number;
  /** Node's `--unhandled-rejections` mode to follow. Default: the process's own (execArgv, NODE_OPTIONS; `throw` when unset). */
  unhandledRejections?: UnhandledRejectionMode;
  /**
   * Keeps on disk what cannot be sent before the process ends, does not fit the memory queue, or
   * ran out of retries; sent at the next start. Default on (with the HTTP transport):
   * `BOTPULSE_DISK_QUEUE`, else `<tmpdir>/botpulse-sdk/<hash of the DSN>`, 8 MiB and 1000 files.
   * `false` (or `BOTPULSE_DISK_QUEUE=off`) turns it off.
   */
  diskQueue?: DiskQueueOptions | false;
  /** Send Sentry client reports: how many items the SDK dropped, by reason and category. Default true. */
  sendClientReports?: boolean;
  /**
   * Error-storm protection: per error signature and overall token buckets; events beyond them are
   * counted (eventsDropped.storm) and the next sent event of that signature says how many were
   * suppressed (`extra.botpulse_suppressed_similar`). `false` turns it off. Defaults: 50 at once
   * then 10/s per signature, 500 then 100/s overall.
   */
  errorStorm?: StormOptions | false;
  /** Source lines around each frame (default 5; 0 = none). */
  contextLines?: number;
  /** Tags, contexts and user set on the global scope from the start. */
  initialScope?: { tags?: Record<string, string>; contexts?: Record<string, Record<string, unknown>>; user?: SentryUser };
  /** Environment variables to read instead of `process.env` (tests). */
  env?: Env;
  /**
   * Where the SDK reports its own trouble (a broken beforeSend, items it had to drop, an
   * unwritable disk queue, a failed lock refresh): anything with pino's `warn(obj, msg)`, e.g. a
   * pino logger or `createLogger()`. Default: one `[botpulse] …` line on stderr, at most once a
   * minute per kind. `false`: counted only (`counters().failures`).
   */
  logger?: DiagnosticLogger | false;
}

/** Extra information for one capture call. */
export interface EventHint {
  /** The thrown value, as given to captureException. */
  originalException?: unknown;
  /** How the error was caught; `handled: false` marks an error that escaped a handler. */
  mechanism?: Partial<Mechanism>;
  level?: SentryLevel;
  tags?: Record<string, string | number | boolean>;
  contexts?: Record<string, Record<string, unknown>>;
  extra?: Record<string, unknown>;
  fingerprint?: string[];
  user?: SentryUser;
  /** Report even if the error is classified as Telegram noise. */
  force?: boolean;
}

/** Options of `trace()`. */
export interface TraceOptions {
  /** Span description / transaction name (default: the op). */
  name?: string;
  data?: Record<string, unknown>;
}

/** The settled configuration, after options and environment were combined. */
export interface ResolvedConfig {
  dsn: string | undefined;
  environment: string;
  release: string | undefined;
  serverName: string;
  sampleRate: number;
  tracesSampleRate: number;
  captureMessageText: boolean;
  skipDuplicateUpdates: boolean;
  dedupeCapacity: number;
}

const MAX_STRING_LENGTH = 8192;

/**
 * A Botpulse client. Most programs call `init()` once and use the module functions; create a
 * client directly to report to two projects from one process.
 * @example
 * const client = new BotpulseClient({ dsn: process.env.BOTPULSE_DSN });
 * client.captureException(new Error('payment failed'));
 * await client.close(2000);
 */
export class BotpulseClient {
  readonly config: ResolvedConfig;
  readonly transport: Transport;
  readonly globalScope: Scope;
  readonly stats = new Counters();
  /** The SDK's own failures: counted by kind and logged (see `BotpulseOptions.logger`). */
  readonly diagnostics: Diagnostics;
  private readonly noise: NoiseFilter | undefined;
  private readonly storm: StormGuard | undefined;
  /** Errors already reported (or filtered), per update they reached: see `findCapture`. */
  private readonly captured = new WeakMap<object, CaptureRecord[]>();
  /** Items dropped for good, sent to the server as Sentry client reports. */
  readonly clientReports = new ClientReports();
  private reportTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly flushHooks = new Set<() => void>();
  private readonly baseContexts: Record<string, Record<string, unknown>>;
  private closed = false;
  private detachExitHooks: (() => void) | undefined;

  constructor(readonly options: BotpulseOptions = {}) {
    const env = options.env ?? process.env;
    this.diagnostics = new Diagnostics(options.logger === false ? undefined : options.logger ?? stderrLogger);
    const environment = resolveEnvironment(options.environment, env);
    this.config = {
      dsn: resolveDsn(options.dsn, env),
      environment,
      release: resolveRelease(options.release, env),
      serverName: options.serverName ?? hostname(),
      sampleRate: resolveRate(options.sampleRate, env['SENTRY_SAMPLE_RATE'], 1),
      tracesSampleRate: resolveRate(options.tracesSampleRate, env['SENTRY_TRACES_SAMPLE_RATE'], defaultTracesSampleRate(environment)),
      captureMessageText: options.captureMessageText ?? false,
      skipDuplicateUpdates: options.skipDuplicateUpdates ?? false,
      dedupeCapacity: options.dedupeCapacity ?? 10_000,
    };
    this.transport = options.transport ?? (this.config.dsn ? this.httpTransport(this.config.dsn, env) : new NoopTransport());
    this.globalScope = new Scope(options.maxBreadcrumbs ?? DEFAULT_MAX_BREADCRUMBS);
    if (options.initialScope?.tags) this.globalScope.setTags(options.initialScope.tags);
    for (const [name, context] of Object.entries(options.initialScope?.contexts ?? {})) this.globalScope.setContext(name, context);
    if (options.initialScope?.user) this.globalScope.setUser(options.initialScope.user);
    this.noise = options.noise === false ? undefined : new NoiseFilter(options.noise ?? {});
    this.storm = options.errorStorm === false ? undefined : new StormGuard(options.errorStorm ?? {});
    this.baseContexts = {
      runtime: { name: 'node', version: process.version },
      os: { name: osType(), version: osRelease() },
    };
    if (options.flushOnExit) this.detachExitHooks = installExitHooks(this);
    if (options.captureUncaught) installProcessHandlers(this, { shutdownTimeoutMs: options.shutdownTimeoutMs, unhandledRejections: options.unhandledRejections });
    if (this.isEnabled) {
      keepOnExit(this);
      if (options.sendClientReports !== false) {
        this.reportTimer = setInterval(() => this.sendClientReport(), CLIENT_REPORT_INTERVAL_MS);
        this.reportTimer.unref();
      }
    }
  }

  private httpTransport(dsn: string, env: Env): HttpTransport {
    const record = (reason: DiscardReason, category: string, quantity: number): void => this.recordDiscard(reason, category, quantity);
    const queueOptions = this.options.diskQueue === false ? undefined : this.options.diskQueue ?? {};
    const dir = queueOptions ? diskQueueDir(queueOptions.dir, dsn, env) : undefined;
    const diskQueue = queueOptions && dir
      ? new DiskQueue(dir, {
          maxBytes: queueOptions.maxBytes,
          maxFiles: queueOptions.maxFiles,
          onLost: (type, n, reason) => record(reason, dataCategory(type), n),
          onError: (message, error) => this.diagnostics.report('disk_queue', message, error),
        })
      : undefined;
    const onFailure = (kind: string, message: string, error?: unknown): void => this.diagnostics.report(kind, message, error);
    return new HttpTransport({ dsn, ...this.options.transportOptions, diskQueue, onDiscard: record, onFailure });
  }

  /** True when events are sent somewhere (a DSN or a custom transport). */
  get isEnabled(): boolean {
    return !this.closed && (this.config.dsn !== undefined || this.options.transport !== undefined);
  }

  /** The scope events captured right now would use: the current update's, else the global one. */
  currentScope(): Scope {
    return currentExecution()?.scope ?? this.globalScope;
  }

  // ── capture ─────────────────────────────────────────────────────────────────────────────

  /**
   * Reports an error. Expected Telegram errors (blocked, 429, ...) become a breadcrumb and a
   * counter instead, unless `hint.force`. Returns the event id, or undefined when not sent.
   * @example client.captureException(err, { tags: { operation: 'payment' } })
   */
  captureException(error: unknown, hint: EventHint = {}): string | undefined {
    const attempt = { dispatched: false };
    try {
      return this.captureReadable(error, hint, attempt);
    } catch (failure) {
      if (attempt.dispatched) throw failure; // the transport's own failure: the caller sees it
      // A value the SDK cannot read (a null-prototype object, a getter or Proxy that throws) is
      // still the bot's error: reported as a placeholder rather than thrown at the bot instead.
      this.diagnostics.report('unreadable_error', 'a thrown value could not be read; it was reported as a placeholder event', failure);
      return this.dispatchEvent(placeholderEvent(error, failure, hint), { ...hint, originalException: error }, undefined);
    }
  }

  private captureReadable(error: unknown, hint: EventHint, attempt: { dispatched: boolean }): string | undefined {
    const inner = unwrapBotError(error);
    const key = typeof inner === 'object' && inner !== null ? inner : undefined;
    const updateId = currentExecution()?.update?.id;
    const seen = key ? this.findCapture(key, updateId) : undefined;
    if (seen) return seen.eventId;
    const record: CaptureRecord = { updateId, eventId: undefined };
    if (key) this.remember(key, record);
    if (!hint.force) {
      const kind = this.noise?.classify(inner);
      if (kind) {
        this.recordNoise(kind, inner);
        return undefined;
      }
    }
    if (this.config.sampleRate < 1 && Math.random() >= this.config.sampleRate) {
      Counters.increment(this.stats.eventsDropped, 'sample_rate');
      this.recordDiscard('sample_rate', 'error', 1);
      return undefined;
    }
    let suppressedBefore = 0;
    if (this.storm) {
      const verdict = this.storm.admit(stormSignature(inner));
      if (!verdict.allowed) {
        Counters.increment(this.stats.eventsDropped, 'storm');
        this.recordDiscard('event_processor', 'error', 1);
        return undefined;
      }
      suppressedBefore = verdict.suppressedBefore;
    }
    const mechanism: Mechanism = { type: 'generic', handled: true, ...hint.mechanism };
    const event: SentryEvent = {
      level: hint.level ?? 'error',
      exception: { values: exceptionsFromError(inner, mechanism, { contextLines: this.options.contextLines ?? 5 }) },
    };
    const apiError = telegramErrorInfo(inner);
    if (apiError) event.contexts = { telegram_api: this.describeApiError(inner, apiError) };
    if (suppressedBefore > 0) event.extra = { botpulse_suppressed_similar: suppressedBefore };
    attempt.dispatched = true;
    record.eventId = this.dispatchEvent(event, { ...hint, originalException: inner }, record);
    return record.eventId;
  }

  /**
   * @internal For the process handlers and the bot plugins: an error that ends the process (or
   * the bot's polling loop, `fatal: true`), or that reached the process without ending it. An
   * error already reported is not reported again: with `fatal`, that report becomes level
   * `fatal` (with `mechanism.data.fatal` saying why) if it has not left the queue yet. A new fatal
   * one is reported even if it looks like Telegram noise: it stopped the bot.
   */
  captureFatal(error: unknown, mechanism: string, options: { fatal: boolean; reason?: string }): string | undefined {
    try {
      return this.captureFatalReadable(error, mechanism, options);
    } catch (failure) {
      // Reading the value failed (see captureException): still reported, as a placeholder.
      this.diagnostics.report('unreadable_error', 'a value that ended the process or reached it unhandled could not be read; reported as a placeholder event', failure);
      return this.captureException(error, { level: options.fatal ? 'fatal' : 'error', mechanism: { type: mechanism, handled: false }, force: options.fatal });
    }
  }

  private captureFatalReadable(error: unknown, mechanism: string, options: { fatal: boolean; reason?: string }): string | undefined {
    const inner = unwrapBotError(error);
    const update = updateOf(error);
    const key = typeof inner === 'object' && inner !== null ? inner : undefined;
    const seen = key ? this.findCapture(key, update?.update_id) : undefined;
    if (seen?.eventId !== undefined || (seen && !options.fatal)) {
      if (seen.eventId !== undefined && options.fatal) this.escalate(seen, options.reason ?? mechanism);
      return seen.eventId;
    }
    // Filtered before (as noise, say) but it stopped the bot after all: reported now.
    if (seen && key) this.forget(key, seen);
    // Noise or not, an error that ended the bot is reported; one the process survives is judged as any other.
    const hint: EventHint = { level: options.fatal ? 'fatal' : 'error', mechanism: { type: mechanism, handled: false }, force: options.fatal };
    if (!update) return this.captureException(error, hint);
    // A grammY BotError carries the update it failed on: report it with that update's context.
    const scope = this.globalScope.fork();
    scope.telegram = telegramContext(update);
    return runInExecution({ scope, update: { id: update.update_id, startedAt: Date.now() } }, () => this.captureException(error, hint));
  }

  /**
   * The capture of this error in this update, if any. An error object reused by several updates
   * (a memoised rejected promise) is another occurrence in each of them; outside any update, any
   * earlier capture counts (a `bot.catch` handler reporting what the middleware already sent).
   */
  private findCapture(error: object, updateId: number | undefined): CaptureRecord | undefined {
    const records = this.captured.get(error);
    if (!records) return undefined;
    if (updateId === undefined) return records.at(-1);
    return records.find((r) => r.updateId === updateId);
  }

  private remember(error: object, record: CaptureRecord): void {
    const records = this.captured.get(error);
    if (!records) {
      this.captured.set(error, [record]);
      return;
    }
    records.push(record);
    // One error shared by many updates: only recent ones can be seen again.
    if (records.length > MAX_CAPTURES_PER_ERROR) records.splice(0, records.length - MAX_CAPTURES_PER_ERROR);
  }

  private forget(error: object, record: CaptureRecord): void {
    const records = this.captured.get(error);
    if (records) records.splice(records.indexOf(record), 1);
  }

  /** Makes an already reported, still queued event fatal. Too late once it was sent: it stays as it was. */
  private escalate(record: CaptureRecord, reason: string): void {
    const event = record.event;
    if (!event || event.level === 'fatal' || !record.eventId) return;
    const values = (Array.isArray(event.exception) ? event.exception : event.exception?.values ?? []).map((value, index, all) => {
      if (index !== all.length - 1) return value;
      const mechanism = value.mechanism ?? {};
      const data = typeof mechanism['data'] === 'object' && mechanism['data'] !== null ? mechanism['data'] : {};
      return { ...value, mechanism: { ...mechanism, handled: false, data: { ...data, fatal: reason } } };
    });
    const fatal: SentryEvent = { ...event, level: 'fatal', exception: { values } };
    if (this.transport.replace?.(record.eventId, Buffer.from(serializeEvent(fatal)))) record.event = fatal;
  }

  /**
   * Reports a message (level "info" by default).
   * @example client.captureMessage('Payment provider slow', 'warning')
   */
  captureMessage(message: string, levelOrHint: SentryLevel | EventHint = 'info'): string | undefined {
    const hint: EventHint = typeof levelOrHint === 'string' ? { level: levelOrHint } : levelOrHint;
    return this.captureEvent({ level: hint.level ?? 'info', message, logentry: { message, formatted: message } } as SentryEvent, hint);
  }

  /**
   * Sends a prepared event (scope, defaults, beforeSend and scrubbing applied). Returns its id.
   * @example client.captureEvent({ message: 'custom', level: 'warning' })
   */
  captureEvent(event: SentryEvent, hint: EventHint = {}): string | undefined {
    return this.dispatchEvent(event, hint, undefined);
  }

  /** captureEvent, remembering the sent event in `record` (for captureException). */
  private dispatchEvent(event: SentryEvent, hint: EventHint, record: CaptureRecord | undefined): string | undefined {
    if (this.closed) return undefined;
    const prepared = this.prepareEvent(event, hint);
    const id = prepared.event_id as string;
    const beforeSend = this.options.beforeSend;
    if (!beforeSend) {
      this.sendEvent(prepared, record);
      return id;
    }
    let result: SentryEvent | null | PromiseLike<SentryEvent | null>;
    try {
      result = beforeSend(prepared, hint);
    } catch (error) {
      // A broken hook must not lose the error it was looking at: sent as it was, and the bot's author told.
      this.diagnostics.report('before_send', 'beforeSend threw; the event was sent without it', error);
      result = prepared;
    }
    if (isThenable(result)) {
      const rejected = (error: unknown): void => {
        this.diagnostics.report('before_send', 'beforeSend rejected; the event was sent without it', error);
        this.sendEvent(prepared, record);
      };
      this.track(Promise.resolve(result).then((r) => this.sendEvent(r, record), rejected));
    } else {
      this.sendEvent(result, record);
    }
    return id;
  }

  // ── scope helpers ───────────────────────────────────────────────────────────────────────

  /** Adds a breadcrumb to the current scope (the update's when inside one). */
  addBreadcrumb(breadcrumb: Breadcrumb): void {
    const hook = this.options.beforeBreadcrumb;
    const final = hook ? hook(breadcrumb) : breadcrumb;
    if (final) this.currentScope().addBreadcrumb(final);
  }

  setContext(name: string, context: Record<string, unknown> | null): void {
    this.currentScope().setContext(name, context);
  }

  setTag(key: string, value: string | number | boolean): void {
    this.currentScope().setTag(key, value);
  }

  setTags(tags: Record<string, string | number | boolean>): void {
    this.currentScope().setTags(tags);
  }

  setUser(user: SentryUser | null): void {
    this.currentScope().setUser(user);
  }

  setExtra(key: string, value: unknown): void {
    this.currentScope().setExtra(key, value);
  }

  /**
   * Runs `fn` with a copy of the current scope; changes made inside stay inside.
   * @example client.withScope((scope) => { scope.setTag('job', 'digest'); client.captureMessage('done'); })
   */
  withScope<T>(fn: (scope: Scope) => T): T {
    const current = currentExecution();
    const scope = (current?.scope ?? this.globalScope).fork({ breadcrumbs: true });
    return runInExecution({ ...current, scope }, () => fn(scope));
  }

  // ── tracing ─────────────────────────────────────────────────────────────────────────────

  /**
   * Times `fn` as a span (a child of the current span, else a new sampled-or-not transaction).
   * Works with sync and async functions; a throw marks the span `internal_error`.
   * @example const user = await client.trace('db.query', () => db.users.find(id), { name: 'load user' });
   */
  trace<T>(op: string, fn: (span: Span) => T, options: TraceOptions = {}): T {
    const current = currentExecution();
    const span = current?.span ? current.span.child(op, options.name) : this.startTransaction(op, options.name);
    if (options.data) for (const [key, value] of Object.entries(options.data)) span.setData(key, value);
    const context: ExecutionContext = { ...current, scope: current?.scope ?? this.globalScope, span };
    return runInExecution(context, () => runAndEnd(span, () => fn(span)));
  }

  /** A root span; when it ends (and was sampled) it is sent as a `transaction` item. */
  startTransaction(op: string, name?: string): Span {
    const sampled = this.isEnabled && Math.random() < this.config.tracesSampleRate;
    return Span.root(op, name, sampled, (root) => this.sendTransaction(root));
  }

  // ── counters, lifecycle ─────────────────────────────────────────────────────────────────

  /** The noise kind of an error under this client's configuration, or undefined when it is reportable. */
  noiseKind(error: unknown): NoiseKind | 'custom' | undefined {
    return this.noise?.classify(unwrapBotError(error));
  }

  /** Counts an expected Telegram error and leaves a breadcrumb. */
  recordNoise(kind: NoiseKind | 'custom', error: unknown): void {
    Counters.increment(this.stats.noise, kind);
    const info = telegramErrorInfo(error);
    const message = error instanceof Error ? error.message : String(error);
    const data: Record<string, unknown> = { kind };
    if (info?.method) data['method'] = info.method;
    if (info?.errorCode !== undefined) data['error_code'] = info.errorCode;
    if (info?.retryAfter !== undefined) data['retry_after'] = info.retryAfter;
    this.addBreadcrumb({ type: 'error', category: 'telegram.noise', level: 'warning', message: scrubString(message), data });
  }

  /**
   * A snapshot of the counters (noise by kind, duplicates, conflicts, API errors, drops).
   * @example client.counters().noise.bot_blocked
   */
  counters(): CountersSnapshot {
    const s = this.stats;
    const transport = this.transport.stats();
    return {
      noise: { ...s.noise },
      apiErrors: { ...s.apiErrors },
      eventsDropped: { ...s.eventsDropped },
      throttled: { ...s.throttled },
      retryAfterSeconds: s.retryAfterSeconds,
      apiCalls: s.apiCalls,
      duplicateUpdates: s.duplicateUpdates,
      pollingConflicts: s.pollingConflicts,
      eventsCaptured: s.eventsCaptured,
      heartbeatsOk: s.heartbeatsOk,
      heartbeatsError: s.heartbeatsError,
      lastHeartbeatTimestamp: s.lastHeartbeatTimestamp,
      transportDropped: { ...transport.dropped },
      transportSentItems: transport.sentItems,
      discarded: { ...this.clientReports.totals },
      spilledToDisk: transport.spilledToDisk ?? 0,
      loadedFromDisk: transport.loadedFromDisk ?? 0,
      failures: { ...this.diagnostics.failures },
    };
  }

  /** Queues a raw envelope item (check-ins, logs), scrubbed. Used by the heartbeat and logger. */
  sendItem(type: string, payload: unknown, headers?: Record<string, unknown>): void {
    if (this.closed) return;
    const item: TransportItem = { type, payload: Buffer.from(scrubJson(JSON.stringify(payload))) };
    if (headers) item.headers = headers;
    this.transport.send(item);
  }

  /** Registers a function that pushes buffered data (log records) into the transport before a flush. */
  onFlush(hook: () => void): () => void {
    this.flushHooks.add(hook);
    return () => this.flushHooks.delete(hook);
  }

  /**
   * Waits until everything captured so far is delivered; false when `timeoutMs` passed first.
   * @example await client.flush(2000);
   */
  async flush(timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (const hook of this.flushHooks) hook();
    this.sendClientReport();
    if (this.pending.size > 0) await withTimeout(Promise.allSettled([...this.pending]), timeoutMs);
    return this.transport.flush(Math.max(0, deadline - Date.now()));
  }

  /**
   * Flushes, then stops sending and frees sockets. Further captures are ignored.
   * @example process.once('SIGTERM', () => client.close(2000).then(() => process.exit(0)));
   */
  async close(timeoutMs = 2000): Promise<boolean> {
    if (this.closed) return true;
    const deadline = Date.now() + timeoutMs;
    for (const hook of this.flushHooks) hook();
    if (this.pending.size > 0) await withTimeout(Promise.allSettled([...this.pending]), timeoutMs);
    this.sendClientReport();
    this.closed = true;
    this.detachExitHooks?.();
    uninstallProcessHandlers(this);
    liveClients.delete(this);
    if (this.reportTimer) clearInterval(this.reportTimer);
    return this.transport.close(Math.max(0, deadline - Date.now()));
  }

  /** Counts an item dropped for good; the next client report tells the server. Losses the bot did not choose are logged too. */
  recordDiscard(reason: DiscardReason, category: string, quantity: number): void {
    this.clientReports.record(reason, category, quantity);
    if (CHOSEN_DISCARDS.has(reason)) return;
    this.diagnostics.log(`discarded:${reason}:${category}`, `${quantity} ${category} item(s) dropped for good (${reason}): ${DISCARD_EXPLANATION[reason]}`, { reason, category, quantity });
  }

  /** Queues a `client_report` item with everything dropped since the last one (nothing when nothing was). */
  sendClientReport(): void {
    if (this.options.sendClientReports === false || this.closed) return;
    const report = this.clientReports.take();
    if (report) this.transport.send({ type: 'client_report', payload: Buffer.from(JSON.stringify(report)) });
  }

  /**
   * @internal From `process.on('exit')`: nothing asynchronous runs any more, so what is still
   * unsent goes to the disk queue (synchronously), with a client report of what was dropped.
   */
  persistOnExit(): void {
    if (this.closed) return;
    for (const hook of this.flushHooks) hook();
    this.sendClientReport();
    this.transport.persistSync?.();
    // Items the disk could not keep were counted while persisting: one last report for them.
    const late = this.clientReports.take();
    if (late) {
      this.transport.send({ type: 'client_report', payload: Buffer.from(JSON.stringify(late)) });
      this.transport.persistSync?.();
    }
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
  }

  private sendEvent(event: SentryEvent | null, record?: CaptureRecord): void {
    if (!event) {
      Counters.increment(this.stats.eventsDropped, 'before_send');
      this.recordDiscard('before_send', 'error', 1);
      return;
    }
    if (this.closed) return;
    const payload = this.serialize(event);
    if (!payload) return;
    this.stats.eventsCaptured += 1;
    // An error that escaped a handler may still turn out to end the process: keep its event, so
    // that it can become fatal while it waits in the queue (see captureFatal).
    if (record && thrownException(event)?.mechanism?.handled === false) record.event = event;
    this.transport.send({ type: 'event', payload, eventId: String(event.event_id) });
  }

  /**
   * The event as JSON. An event that JSON cannot hold as it is (a BigInt or a cycle that
   * beforeSend or captureEvent put where the SDK does not walk) is walked whole and sent; one
   * that cannot be serialised at all (a throwing toJSON) is dropped, counted and logged.
   */
  private serialize(event: SentryEvent): Buffer | undefined {
    try {
      return Buffer.from(serializeEvent(event));
    } catch (error) {
      try {
        const walked = scrubJson(JSON.stringify(scrubValue(event, { maxStringLength: MAX_STRING_LENGTH, maxDepth: 16 })));
        this.diagnostics.report('event_serialization', 'an event held a value JSON cannot hold (BigInt or cycle); it was converted and sent', error);
        return Buffer.from(walked);
      } catch (again) {
        this.diagnostics.report('event_serialization', 'an event could not be serialised and was dropped', again);
        Counters.increment(this.stats.eventsDropped, 'internal_sdk_error');
        this.recordDiscard('internal_sdk_error', 'error', 1);
        return undefined;
      }
    }
  }

  private sendTransaction(root: Span): void {
    if (this.closed) return;
    const { spans, dropped } = root.childSpans();
    const scopes = this.scopesInEffect();
    const contexts: Record<string, unknown> = { ...this.baseContexts, trace: { ...root.traceContext(), status: root.status, data: root.data } };
    const telegram = scopes.at(-1)?.telegram;
    if (telegram) contexts['telegram'] = telegram;
    const transaction = {
      type: 'transaction',
      event_id: uuid32(),
      transaction: root.description ?? root.op,
      transaction_info: { source: 'custom' },
      start_timestamp: root.startTimestamp,
      timestamp: root.endTimestamp,
      platform: 'node',
      environment: this.config.environment,
      release: this.config.release,
      server_name: this.config.serverName,
      sdk: { name: SDK_NAME, version: SDK_VERSION },
      tags: Object.assign({}, ...scopes.map((s) => s.tags), telegramTags(telegram)),
      contexts,
      spans,
      ...(dropped > 0 ? { extra: { dropped_spans: dropped } } : {}),
    };
    this.transport.send({ type: 'transaction', payload: Buffer.from(scrubJson(JSON.stringify(transaction))), eventId: transaction.event_id });
  }

  /** The global scope, then the current update's (or withScope's) if different: later wins. */
  private scopesInEffect(): Scope[] {
    const current = currentExecution()?.scope;
    return current && current !== this.globalScope ? [this.globalScope, current] : [this.globalScope];
  }

  private prepareEvent(event: SentryEvent, hint: EventHint): SentryEvent {
    const scopes = this.scopesInEffect();
    const innermost = scopes[scopes.length - 1] as Scope;
    const prepared: SentryEvent = {
      event_id: uuid32(),
      timestamp: Date.now() / 1000,
      platform: 'node',
      level: 'error',
      server_name: this.config.serverName,
      environment: this.config.environment,
      sdk: { name: SDK_NAME, version: SDK_VERSION },
      ...event,
    };
    if (this.config.release) prepared.release ??= this.config.release;
    const tags: Record<string, unknown> = {};
    const contexts: Record<string, Record<string, unknown> | undefined> = { ...this.baseContexts };
    const extra: Record<string, unknown> = {};
    let user: SentryUser | undefined;
    let fingerprint: string[] | undefined;
    for (const scope of scopes) {
      Object.assign(tags, scope.tags);
      Object.assign(contexts, scope.contexts);
      Object.assign(extra, scope.extra);
      if (scope.user) user = { ...user, ...scope.user };
      fingerprint = scope.fingerprint ?? fingerprint;
    }
    const telegram = innermost.telegram;
    if (telegram) {
      contexts['telegram'] = { ...telegram };
      Object.assign(tags, telegramTags(telegram));
      const fromUpdate: SentryUser = {};
      if (telegram.user_id !== undefined) fromUpdate.id = String(telegram.user_id);
      if (telegram.username) fromUpdate.username = telegram.username;
      user = { ...fromUpdate, ...user };
    }
    const span = currentExecution()?.span;
    if (span) contexts['trace'] = span.traceContext();
    Object.assign(tags, hint.tags, event.tags);
    Object.assign(contexts, event.contexts, hint.contexts);
    Object.assign(extra, event.extra, hint.extra);
    if (hint.user) user = { ...user, ...hint.user };
    prepared.tags = tags;
    prepared.contexts = contexts;
    if (Object.keys(extra).length > 0) prepared.extra = extra;
    if (user && Object.keys(user).length > 0) prepared.user = user;
    const print = hint.fingerprint ?? event.fingerprint ?? fingerprint;
    if (print) prepared.fingerprint = print;
    if (hint.level) prepared.level = hint.level;
    if (innermost.breadcrumbs.length > 0) prepared.breadcrumbs = { values: [...innermost.breadcrumbs] };
    return prepared;
  }

  /** `contexts.telegram_api`: the failed call, its payload without user text (unless opted in). */
  private describeApiError(error: unknown, info: NonNullable<ReturnType<typeof telegramErrorInfo>>): Record<string, unknown> {
    const context: Record<string, unknown> = { description: info.description, network: info.network };
    if (info.method) context['method'] = info.method;
    if (info.errorCode !== undefined) context['error_code'] = info.errorCode;
    if (info.retryAfter !== undefined) context['retry_after'] = info.retryAfter;
    if (info.migrateToChatId !== undefined) context['migrate_to_chat_id'] = info.migrateToChatId;
    const payload = (error as { payload?: unknown; on?: { payload?: unknown } }).payload ?? (error as { on?: { payload?: unknown } }).on?.payload;
    if (payload && typeof payload === 'object') context['payload'] = this.redactUserText(payload as Record<string, unknown>);
    context['error_type'] = error instanceof Error ? errorType(error) : 'Error';
    return context;
  }

  /** Drops text fields from a Bot API payload unless `captureMessageText` is on. */
  redactUserText(payload: Record<string, unknown>): Record<string, unknown> {
    if (this.config.captureMessageText) return payload;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(payload)) {
      out[key] = TEXT_FIELDS.has(key) && value !== undefined ? '[text omitted]' : value;
    }
    return out;
  }
}

/**
 * Serialises an event for sending. The parts users fill (tags, contexts, extra, user, request,
 * breadcrumbs, message) get the full walk (secret-named keys filtered, long strings cut); the
 * stack traces, which are most of the bytes, only the token pass over the final JSON.
 */
function serializeEvent(event: SentryEvent): string {
  const { exception, ...rest } = event;
  const clean: Record<string, unknown> = scrubValue(rest, { maxStringLength: MAX_STRING_LENGTH, maxDepth: 16 });
  if (exception) clean['exception'] = exception;
  return scrubJson(JSON.stringify(clean));
}

/** What the client remembers of one capture of an error object. */
interface CaptureRecord {
  /** The update it was captured in, if any. */
  updateId: number | undefined;
  /** Undefined when it was filtered (noise, sampling, storm) or dropped by beforeSend. */
  eventId: string | undefined;
  /** The event as sent, kept for errors that escaped a handler (they may turn out to be fatal). */
  event?: SentryEvent;
}

const MAX_CAPTURES_PER_ERROR = 50;
/** Discards the bot's own settings asked for (sampling, beforeSend, the storm guard): counted, not logged. */
const CHOSEN_DISCARDS: ReadonlySet<DiscardReason> = new Set(['sample_rate', 'before_send', 'event_processor']);
const DISCARD_EXPLANATION: Record<DiscardReason, string> = {
  sample_rate: 'sampleRate',
  before_send: 'beforeSend returned null',
  event_processor: 'the error-storm guard',
  queue_overflow: 'the memory queue was full and it could not go to disk (no disk queue, an unwritable one, or a type never kept there: transactions, check-ins)',
  cache_overflow: 'the disk queue was full; its oldest file was deleted',
  network_error: 'the server did not answer after every retry and there is no disk queue',
  send_error: 'the server refused it, or it was unsent when the process ended and could not be kept on disk',
  ratelimit_backoff: "the server's rate limit outlasted every retry",
  internal_sdk_error: 'the SDK could not build or read it',
};
/** Client reports go out with the next flush, or after this long (Sentry's Node SDK: 60 s). */
const CLIENT_REPORT_INTERVAL_MS = 60_000;

/** The event for a thrown value the SDK could not read: its kind, and why it could not be read. */
function placeholderEvent(value: unknown, failure: unknown, hint: EventHint): SentryEvent {
  let kind: string = typeof value;
  try {
    kind = Object.prototype.toString.call(value).slice(8, -1);
  } catch {
    // a revoked Proxy: typeof is all there is
  }
  let reason = 'unknown';
  try {
    reason = failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
  } catch {
    // the failure itself cannot be read either
  }
  const mechanism: Mechanism = { type: 'generic', handled: true, ...hint.mechanism };
  const exception: SentryException = { type: kind, value: `Unreadable thrown value (${kind}): the SDK could not read it (${reason})`, mechanism: { ...mechanism } };
  return { level: hint.level ?? 'error', exception: { values: [exception] } };
}

/** The exception that was thrown (the last of a `cause` chain). */
function thrownException(event: SentryEvent): SentryException | undefined {
  const values = Array.isArray(event.exception) ? event.exception : event.exception?.values;
  return values?.at(-1);
}

/** The update a grammY BotError failed on (`error.ctx.update`), if any. */
function updateOf(error: unknown): UpdateLike | undefined {
  if (!(error instanceof Error) || error.name !== 'BotError') return undefined;
  const update = (error as { ctx?: { update?: unknown } }).ctx?.update;
  return typeof update === 'object' && update !== null && typeof (update as UpdateLike).update_id === 'number' ? (update as UpdateLike) : undefined;
}

/** Clients whose unsent items are kept on disk when the process exits. */
const liveClients = new Set<BotpulseClient>();
let exitHookInstalled = false;

function keepOnExit(client: BotpulseClient): void {
  liveClients.add(client);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // One listener for every client: 'exit' runs synchronous code only, which persistOnExit is.
  process.on('exit', () => {
    for (const live of liveClients) live.persistOnExit();
  });
}

const TEXT_FIELDS = new Set(['text', 'caption', 'query', 'results', 'question', 'options', 'description', 'title', 'message_text']);

/**
 * Tags derived from `contexts.telegram`.
 * @example telegramTags({ update_type: 'message', chat_type: 'group' }) // { update_type: 'message', chat_type: 'group' }
 */
export function telegramTags(telegram: { update_type?: string; chat_type?: string; duplicate?: boolean } | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  if (!telegram) return tags;
  if (telegram.update_type) tags['update_type'] = telegram.update_type;
  if (telegram.chat_type) tags['chat_type'] = telegram.chat_type;
  if (telegram.duplicate) tags['duplicate_update'] = 'true';
  return tags;
}

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function runAndEnd<T>(span: Span, fn: () => T): T {
  let result: T;
  try {
    result = fn();
  } catch (error) {
    span.end('internal_error');
    throw error;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (value) => {
        span.end('ok');
        return value;
      },
      (error: unknown) => {
        span.end('internal_error' satisfies SpanStatus);
        throw error;
      },
    ) as T;
  }
  span.end('ok');
  return result;
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.finally(() => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/**
 * Flushes on `beforeExit`; on SIGTERM/SIGINT flushes and, when no other listener handles the
 * signal, exits with the conventional code (128 + signal number) as Node would have.
 */
function installExitHooks(client: BotpulseClient): () => void {
  let exiting = false;
  const onBeforeExit = (): void => {
    if (exiting) return;
    exiting = true;
    void client.flush(2000);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    const othersListen = process.listenerCount(signal) > 1;
    void client.close(2000).finally(() => {
      if (!othersListen) process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.on('beforeExit', onBeforeExit);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('beforeExit', onBeforeExit);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

// The client: turns errors and messages into Sentry events enriched with the current scope
// (update context, breadcrumbs, tags), filters Telegram noise, applies beforeSend, scrubs
// tokens and hands the result to the transport. Also owns tracing (`trace`) and the counters.
import { hostname, release as osRelease, type as osType } from 'node:os';
import type { SentryEvent, SentryLevel, SentryUser } from '@botpulse/protocol';
import { defaultTracesSampleRate, resolveDsn, resolveEnvironment, resolveRate, resolveRelease, type Env } from './config.js';
import { Counters, type CountersSnapshot } from './counters.js';
import { NoiseFilter, telegramErrorInfo, unwrapBotError, type NoiseKind, type NoiseOptions } from './noise.js';
import { currentExecution, runInExecution, Scope, DEFAULT_MAX_BREADCRUMBS, type Breadcrumb, type ExecutionContext } from './scope.js';
import { scrubJson, scrubString, scrubValue } from './scrub.js';
import { exceptionsFromError, errorType, type Mechanism } from './stack.js';
import { StormGuard, stormSignature, type StormOptions } from './storm.js';
import { Span, uuid32, type SpanStatus } from './tracing.js';
import { HttpTransport, NoopTransport, type HttpTransportOptions, type Transport, type TransportItem } from './transport.js';
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
  private readonly noise: NoiseFilter | undefined;
  private readonly storm: StormGuard | undefined;
  private readonly captured = new WeakMap<object, string | null>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly flushHooks = new Set<() => void>();
  private readonly baseContexts: Record<string, Record<string, unknown>>;
  private closed = false;
  private detachExitHooks: (() => void) | undefined;

  constructor(readonly options: BotpulseOptions = {}) {
    const env = options.env ?? process.env;
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
    this.transport = options.transport ?? (this.config.dsn ? new HttpTransport({ dsn: this.config.dsn, ...options.transportOptions }) : new NoopTransport());
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
    const inner = unwrapBotError(error);
    const key = typeof inner === 'object' && inner !== null ? inner : undefined;
    if (key && this.captured.has(key)) return this.captured.get(key) ?? undefined;
    if (!hint.force) {
      const kind = this.noise?.classify(inner);
      if (kind) {
        if (key) this.captured.set(key, null);
        this.recordNoise(kind, inner);
        return undefined;
      }
    }
    if (this.config.sampleRate < 1 && Math.random() >= this.config.sampleRate) {
      Counters.increment(this.stats.eventsDropped, 'sample_rate');
      return undefined;
    }
    let suppressedBefore = 0;
    if (this.storm) {
      const verdict = this.storm.admit(stormSignature(inner));
      if (!verdict.allowed) {
        Counters.increment(this.stats.eventsDropped, 'storm');
        if (key) this.captured.set(key, null);
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
    const id = this.captureEvent(event, { ...hint, originalException: inner });
    if (key) this.captured.set(key, id ?? null);
    return id;
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
    if (this.closed) return undefined;
    const prepared = this.prepareEvent(event, hint);
    const id = prepared.event_id as string;
    const beforeSend = this.options.beforeSend;
    if (!beforeSend) {
      this.sendEvent(prepared);
      return id;
    }
    let result: SentryEvent | null | PromiseLike<SentryEvent | null>;
    try {
      result = beforeSend(prepared, hint);
    } catch {
      result = prepared; // a broken hook must not lose the error it was looking at
    }
    if (isThenable(result)) {
      this.track(Promise.resolve(result).then((r) => this.sendEvent(r), () => this.sendEvent(prepared)));
    } else {
      this.sendEvent(result);
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
      apiCalls: s.apiCalls,
      duplicateUpdates: s.duplicateUpdates,
      pollingConflicts: s.pollingConflicts,
      eventsCaptured: s.eventsCaptured,
      heartbeatsOk: s.heartbeatsOk,
      heartbeatsError: s.heartbeatsError,
      lastHeartbeatTimestamp: s.lastHeartbeatTimestamp,
      transportDropped: { ...transport.dropped },
      transportSentItems: transport.sentItems,
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
    this.closed = true;
    this.detachExitHooks?.();
    return this.transport.close(Math.max(0, deadline - Date.now()));
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
  }

  private sendEvent(event: SentryEvent | null): void {
    if (!event) {
      Counters.increment(this.stats.eventsDropped, 'before_send');
      return;
    }
    if (this.closed) return;
    this.stats.eventsCaptured += 1;
    this.transport.send({ type: 'event', payload: Buffer.from(serializeEvent(event)), eventId: String(event.event_id) });
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

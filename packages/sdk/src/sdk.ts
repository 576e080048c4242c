// The module-level API: `init()` creates the process-wide client; the functions below forward
// to it and do nothing (quietly) before init, so library code can call them unconditionally.
import type { SentryEvent, SentryLevel, SentryUser } from '@botpulse/protocol';
import { BotpulseClient, type BotpulseOptions, type EventHint, type TraceOptions } from './client.js';
import type { Breadcrumb, Scope } from './scope.js';
import type { Span } from './tracing.js';

let globalClient: BotpulseClient | undefined;

/**
 * Creates the process-wide client from options and the environment (BOTPULSE_DSN / SENTRY_DSN,
 * SENTRY_ENVIRONMENT, SENTRY_RELEASE, SENTRY_TRACES_SAMPLE_RATE). Calling it again replaces the client.
 * It also reports uncaught exceptions and unhandled rejections (`captureUncaught: false` to opt out).
 * @example
 * import { init } from '@botpulse/sdk';
 * init({ environment: 'production', flushOnExit: true });
 */
export function init(options: BotpulseOptions = {}): BotpulseClient {
  // The process-wide client owns the process handlers (uncaught exceptions, unhandled rejections).
  globalClient = new BotpulseClient({ ...options, captureUncaught: options.captureUncaught ?? true });
  return globalClient;
}

/**
 * The client created by `init()`, if any.
 * @example getClient()?.counters().noise
 */
export function getClient(): BotpulseClient | undefined {
  return globalClient;
}

/** @internal Used by plugins: the given client, else the global one, else a disabled one. */
export function resolveClient(client: BotpulseClient | undefined): BotpulseClient {
  if (client) return client;
  globalClient ??= new BotpulseClient({ dsn: null });
  return globalClient;
}

/**
 * Reports an error with the current scope (update context, breadcrumbs).
 * @example try { await pay() } catch (e) { captureException(e) }
 */
export function captureException(error: unknown, hint?: EventHint): string | undefined {
  return globalClient?.captureException(error, hint);
}

/**
 * Reports a message.
 * @example captureMessage('Webhook answered late', 'warning')
 */
export function captureMessage(message: string, levelOrHint?: SentryLevel | EventHint): string | undefined {
  return globalClient?.captureMessage(message, levelOrHint);
}

/**
 * Sends a hand-made event.
 * @example captureEvent({ message: 'manual', level: 'info' })
 */
export function captureEvent(event: SentryEvent, hint?: EventHint): string | undefined {
  return globalClient?.captureEvent(event, hint);
}

/**
 * Adds a breadcrumb to the current update's scope (or the global one).
 * @example addBreadcrumb({ category: 'payment', message: 'invoice sent', data: { amount: 10 } })
 */
export function addBreadcrumb(breadcrumb: Breadcrumb): void {
  globalClient?.addBreadcrumb(breadcrumb);
}

/**
 * Sets a named context on the current scope.
 * @example setContext('incident', { id: '0042', status: 'open' })
 */
export function setContext(name: string, context: Record<string, unknown> | null): void {
  globalClient?.setContext(name, context);
}

/**
 * Sets a tag on the current scope.
 * @example setTag('incident_id', '0042')
 */
export function setTag(key: string, value: string | number | boolean): void {
  globalClient?.setTag(key, value);
}

/**
 * Sets several tags on the current scope.
 * @example setTags({ plan: 'pro', region: 'eu' })
 */
export function setTags(tags: Record<string, string | number | boolean>): void {
  globalClient?.setTags(tags);
}

/**
 * Sets the user of the current scope (the plugins set the Telegram user automatically).
 * @example setUser({ id: '42', username: 'alice', role: 'dispatcher' })
 */
export function setUser(user: SentryUser | null): void {
  globalClient?.setUser(user);
}

/**
 * Sets an extra value on the current scope.
 * @example setExtra('queue_size', 12)
 */
export function setExtra(key: string, value: unknown): void {
  globalClient?.setExtra(key, value);
}

/**
 * Runs `fn` with a forked scope.
 * @example withScope((scope) => { scope.setTag('job', 'cleanup'); captureMessage('cleanup done'); })
 */
export function withScope<T>(fn: (scope: Scope) => T): T {
  return resolveClient(globalClient).withScope(fn);
}

/**
 * Times `fn` as a span (child of the current span, or a new transaction).
 * @example await trace('db.query', () => db.incidents.create(data), { name: 'create_incident' });
 */
export function trace<T>(op: string, fn: (span: Span) => T, options?: TraceOptions): T {
  return resolveClient(globalClient).trace(op, fn, options);
}

/**
 * Waits until queued events are delivered.
 * @example await flush(2000);
 */
export function flush(timeoutMs?: number): Promise<boolean> {
  return globalClient?.flush(timeoutMs) ?? Promise.resolve(true);
}

/**
 * Flushes and shuts the global client down.
 * @example await close();
 */
export function close(timeoutMs?: number): Promise<boolean> {
  return globalClient?.close(timeoutMs) ?? Promise.resolve(true);
}

/**
 * The scope captures would use right now.
 * @example getCurrentScope().setTag('step', 'checkout')
 */
export function getCurrentScope(): Scope {
  return resolveClient(globalClient).currentScope();
}

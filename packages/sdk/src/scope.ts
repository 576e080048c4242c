// Scopes hold what gets attached to events: tags, contexts, user, extra, breadcrumbs. The client
// has one global scope; every update runs in its own scope (AsyncLocalStorage), so breadcrumbs
// of updates handled concurrently (grammY runner, webhooks) never mix.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { SentryBreadcrumb, SentryUser, TelegramContext } from '@botpulse/protocol';
import type { Span } from './tracing.js';

/** A breadcrumb as the SDK stores it; `timestamp` is seconds since the epoch. */
export interface Breadcrumb extends SentryBreadcrumb {
  timestamp?: number;
}

/**
 * Default number of breadcrumbs a scope keeps (oldest dropped first).
 * @example init({ maxBreadcrumbs: DEFAULT_MAX_BREADCRUMBS * 2 })
 */
export const DEFAULT_MAX_BREADCRUMBS = 100;

/**
 * Tags, contexts, user, extra data and breadcrumbs that are attached to every event captured
 * while the scope is current.
 * @example
 * const scope = getCurrentScope();
 * scope.setTag('plan', 'pro').setContext('order', { id: 42 });
 */
export class Scope {
  tags: Record<string, string> = {};
  contexts: Record<string, Record<string, unknown>> = {};
  extra: Record<string, unknown> = {};
  user: SentryUser | undefined;
  breadcrumbs: Breadcrumb[] = [];
  /** Set by the bot plugins for the update being handled. */
  telegram: TelegramContext | undefined;
  fingerprint: string[] | undefined;

  constructor(public maxBreadcrumbs = DEFAULT_MAX_BREADCRUMBS) {}

  setTag(key: string, value: string | number | boolean): this {
    this.tags[key] = String(value);
    return this;
  }

  setTags(tags: Record<string, string | number | boolean>): this {
    for (const [key, value] of Object.entries(tags)) this.setTag(key, value);
    return this;
  }

  /** Sets (or with `null` removes) a named context, e.g. `setContext('payment', {amount: 10})`. */
  setContext(name: string, context: Record<string, unknown> | null): this {
    if (context === null) delete this.contexts[name];
    else this.contexts[name] = context;
    return this;
  }

  setExtra(key: string, value: unknown): this {
    this.extra[key] = value;
    return this;
  }

  setUser(user: SentryUser | null): this {
    this.user = user ?? undefined;
    return this;
  }

  setFingerprint(fingerprint: string[] | null): this {
    this.fingerprint = fingerprint ?? undefined;
    return this;
  }

  addBreadcrumb(breadcrumb: Breadcrumb): this {
    if (this.maxBreadcrumbs <= 0) return this;
    this.breadcrumbs.push({ timestamp: Date.now() / 1000, ...breadcrumb });
    if (this.breadcrumbs.length > this.maxBreadcrumbs) this.breadcrumbs.splice(0, this.breadcrumbs.length - this.maxBreadcrumbs);
    return this;
  }

  clearBreadcrumbs(): this {
    this.breadcrumbs = [];
    return this;
  }

  /** A copy for a nested unit of work. Breadcrumbs are copied only when asked: an update starts clean. */
  fork(options: { breadcrumbs?: boolean } = {}): Scope {
    const copy = new Scope(this.maxBreadcrumbs);
    copy.tags = { ...this.tags };
    copy.contexts = { ...this.contexts };
    copy.extra = { ...this.extra };
    copy.user = this.user ? { ...this.user } : undefined;
    copy.telegram = this.telegram ? { ...this.telegram } : undefined;
    copy.fingerprint = this.fingerprint;
    if (options.breadcrumbs) copy.breadcrumbs = [...this.breadcrumbs];
    return copy;
  }
}

/** What AsyncLocalStorage carries through one update or `withScope` call. */
export interface ExecutionContext {
  scope: Scope;
  span?: Span | undefined;
  /** Set inside an update: its id and when handling began (ms), for log records. */
  update?: { id: number; startedAt: number } | undefined;
  /** Set inside a request `guardWebhook` answers for: the update scope tells it which update it carries. */
  webhook?: GuardedRequest | undefined;
}

/** One request under `guardWebhook`, shared with the update scope handling its update. */
export interface GuardedRequest {
  /** The scope of the update the request carried, once the bot middleware opened it. */
  updateScope?: Scope;
}

/**
 * Errors that escaped a handler inside a guarded webhook request. The guard answered for them,
 * so if one later rejects a promise nobody handles (grammY's webhook timeout leaves the handler's
 * promise dangling), the process handlers report it without ending the process.
 */
const guardedErrors = new WeakSet<object>();

export function markGuarded(error: unknown): void {
  if (typeof error === 'object' && error !== null) guardedErrors.add(error);
}

export function isGuarded(error: unknown): boolean {
  return typeof error === 'object' && error !== null && guardedErrors.has(error);
}

const storage = new AsyncLocalStorage<ExecutionContext>();

/** The execution context of the running code, if any (inside an update or `withScope`). */
export function currentExecution(): ExecutionContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with `context` as the current execution context. */
export function runInExecution<T>(context: ExecutionContext, fn: () => T): T {
  return storage.run(context, fn);
}

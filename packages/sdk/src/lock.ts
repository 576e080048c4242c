// The single-poller lock (seed 001). Telegram allows one getUpdates consumer per token; a second
// one makes both fail with 409 Conflict. The Redis key `bot_polling_lock` holds JSON
// {host, pid, env, ts}; it is taken with SET NX PX before polling, refreshed by its holder only
// (a Lua compare-and-set), released on shutdown (compare-and-delete), and taken over by another
// process only after the TTL lapsed (the holder died without releasing it).
import { hostname } from 'node:os';

/** The Redis commands the lock uses; an ioredis client fits. */
export interface LockRedis {
  set(key: string, value: string, px: 'PX', ttlMs: number, nx: 'NX'): Promise<unknown>;
  get(key: string): Promise<string | null>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** Who holds the lock, as stored in Redis. */
export interface LockHolder {
  host: string;
  pid: number;
  env: string;
  /** ISO time the holder took the lock. */
  ts: string;
}

export interface PollingLockOptions {
  redis: LockRedis;
  /** Default "bot_polling_lock". */
  key?: string;
  /** Lifetime of the key in ms without a refresh. Must exceed the long-poll timeout. Default 60 000. */
  ttl?: number;
  /** The bot's getUpdates timeout in seconds (default 30, grammY's default). */
  pollTimeoutSec?: number;
  /** Refresh period (default the smaller of 20 s and ttl / 3). */
  refreshIntervalMs?: number;
  /** Stored as `env` (default ENVIRONMENT, else NODE_ENV, else "development"). */
  env?: string;
}

/**
 * Raised when the lock is held by another process and waiting was not asked for. The message names the holder.
 * @example catch (e) { if (e instanceof LockHeldError) console.error(e.message) }
 */
export class LockHeldError extends Error {
  override name = 'LockHeldError';
  constructor(readonly holder: LockHolder | undefined, key: string) {
    super(`polling lock "${key}" is ${describeHolder(holder)}`);
  }
}

/**
 * `held by host X pid Y (env, since ts)`.
 * @example describeHolder({ host: 'web-1', pid: 7, env: 'production', ts: '2025-01-01T00:00:00Z' })
 */
export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'held by an unknown process';
  return `held by host ${holder.host} pid ${holder.pid} (${holder.env}, since ${holder.ts})`;
}

const REFRESH_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * The lock object. Most bots use `startPollingWithLock` (grammY) instead of calling it directly.
 * @example
 * const lock = pollingLock({ redis: new Redis(), ttl: 60_000, pollTimeoutSec: 30 });
 * await lock.acquire({ wait: true });
 * lock.startRefreshing();
 * // ... poll ...
 * await lock.release();
 */
export class PollingLock {
  readonly key: string;
  readonly ttl: number;
  readonly refreshIntervalMs: number;
  private readonly value: string;
  private readonly me: LockHolder;
  private timer: NodeJS.Timeout | undefined;
  private held = false;

  constructor(private readonly options: PollingLockOptions) {
    this.key = options.key ?? 'bot_polling_lock';
    this.ttl = options.ttl ?? 60_000;
    const pollTimeoutSec = options.pollTimeoutSec ?? 30;
    if (!(this.ttl > pollTimeoutSec * 1000)) {
      throw new RangeError(
        `polling lock ttl (${this.ttl} ms) must exceed the getUpdates timeout (${pollTimeoutSec} s): otherwise a holder in the middle of a long poll could lose the lock to a second poller`,
      );
    }
    this.refreshIntervalMs = options.refreshIntervalMs ?? Math.min(20_000, Math.floor(this.ttl / 3));
    this.me = { host: hostname(), pid: process.pid, env: options.env ?? process.env['ENVIRONMENT'] ?? process.env['NODE_ENV'] ?? 'development', ts: new Date().toISOString() };
    this.value = JSON.stringify(this.me);
  }

  /** This process as a holder. */
  get identity(): LockHolder {
    return { ...this.me };
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Tries once; returns whether this process holds the lock now. */
  async tryAcquire(): Promise<boolean> {
    const result = await this.options.redis.set(this.key, this.value, 'PX', this.ttl, 'NX');
    this.held = result === 'OK';
    return this.held;
  }

  /** The current holder (undefined when free or unreadable). */
  async holder(): Promise<LockHolder | undefined> {
    return parseHolder(await this.options.redis.get(this.key));
  }

  /**
   * Takes the lock. Without `wait`, throws LockHeldError naming the holder; with it, polls every
   * `pollIntervalMs` (default 1000) until the lock is free or `signal` aborts, calling
   * `onWaiting(holder)` whenever the holder changes.
   */
  async acquire(options: { wait?: boolean; pollIntervalMs?: number; signal?: AbortSignal; onWaiting?: (holder: LockHolder | undefined, message: string) => void } = {}): Promise<void> {
    let lastSeen: string | undefined = '';
    for (;;) {
      if (await this.tryAcquire()) return;
      const raw = await this.options.redis.get(this.key);
      // Expired (or released) between the SET and this GET: the lock is free, try again at once
      // rather than report "held by an unknown process".
      if (raw === null) continue;
      const holder = parseHolder(raw);
      if (!options.wait) throw new LockHeldError(holder, this.key);
      const seen = holder ? JSON.stringify(holder) : undefined;
      if (seen !== lastSeen) {
        lastSeen = seen;
        options.onWaiting?.(holder, `waiting for polling lock "${this.key}": ${describeHolder(holder)}`);
      }
      if (options.signal?.aborted) throw new Error('stopped waiting for the polling lock');
      await delay(options.pollIntervalMs ?? 1000, options.signal);
    }
  }

  /** Extends the TTL if this process still holds the lock; false means it was lost. */
  async refresh(): Promise<boolean> {
    const result = await this.options.redis.eval(REFRESH_SCRIPT, 1, this.key, this.value, this.ttl);
    this.held = Number(result) === 1;
    return this.held;
  }

  /**
   * Refreshes every `refreshIntervalMs`; `onLost` runs once if the lock turns out to be gone
   * (expired during a long pause, or released by hand) — stop polling then. `onError` hears of
   * each refresh Redis did not answer (the lock is kept: the next refresh may succeed in time).
   */
  startRefreshing(onLost?: (error?: unknown) => void, onError?: (error: unknown) => void): void {
    this.stopRefreshing();
    this.timer = setInterval(() => {
      this.refresh().then(
        (ok) => {
          if (!ok) {
            this.stopRefreshing();
            onLost?.();
          }
        },
        // A Redis hiccup is not a lost lock: the next refresh may succeed before the TTL.
        (error: unknown) => onError?.(error),
      );
    }, this.refreshIntervalMs);
    this.timer.unref();
  }

  stopRefreshing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Deletes the key if this process holds it; returns whether it did. */
  async release(): Promise<boolean> {
    this.stopRefreshing();
    const result = await this.options.redis.eval(RELEASE_SCRIPT, 1, this.key, this.value);
    this.held = false;
    return Number(result) === 1;
  }
}

/**
 * Creates a polling lock (validates that the TTL exceeds the poll timeout).
 * @example const lock = pollingLock({ redis, ttl: 60_000, pollTimeoutSec: 30 });
 */
export function pollingLock(options: PollingLockOptions): PollingLock {
  return new PollingLock(options);
}

/** The stored holder; undefined when the key is missing or not ours to read. */
function parseHolder(raw: string | null): LockHolder | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as LockHolder;
  } catch {
    return undefined;
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

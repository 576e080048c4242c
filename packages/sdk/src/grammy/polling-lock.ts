// Wires the polling lock to a grammY bot: take the lock before the first getUpdates, refresh it
// while polling, stop polling if it is lost, release it when the bot stops.
import type { BotpulseClient } from '../client.js';
import { LockHeldError, pollingLock, type LockHolder, type LockRedis, type PollingLock } from '../lock.js';
import { resolveClient } from '../sdk.js';

/** The parts of a grammY Bot the lock helper uses. */
export interface GrammyPollingBotLike {
  start(options?: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export interface PollingWithLockOptions {
  client?: BotpulseClient;
  /** A ready lock, or the settings to make one. */
  lock?: PollingLock;
  redis?: LockRedis;
  key?: string;
  /** Lock TTL in ms (default 60 000); must exceed `pollTimeoutSec`. */
  ttl?: number;
  /** getUpdates timeout in seconds, passed to `bot.start` (default 30). */
  pollTimeoutSec?: number;
  /** When another process holds the lock: "wait" (default) polls until it is free; "exit" prints who holds it and exits; "throw" rejects with LockHeldError. */
  onHeld?: 'wait' | 'exit' | 'throw';
  /** How often a waiting process checks the lock (default 1000 ms). */
  retryIntervalMs?: number;
  /** Stops waiting for the lock (e.g. on SIGTERM). */
  signal?: AbortSignal;
  /** Other options for `bot.start` (allowed_updates, drop_pending_updates, onStart...). */
  startOptions?: Record<string, unknown>;
  /** Where status lines go (default console.warn). Lines name the holder, never a token. */
  log?: (message: string) => void;
  /** Exit code for `onHeld: 'exit'` (default 1). */
  exitCode?: number;
}

/**
 * Starts long polling only while holding the Redis polling lock. Resolves when the bot stops
 * (the lock is then released).
 * @example
 * await startPollingWithLock(bot, { redis: new Redis(process.env.REDIS_URL!), ttl: 60_000, onHeld: 'wait' });
 */
export async function startPollingWithLock(bot: GrammyPollingBotLike, options: PollingWithLockOptions): Promise<void> {
  const client = resolveClient(options.client);
  const pollTimeoutSec = options.pollTimeoutSec ?? 30;
  const log = options.log ?? ((message: string) => console.warn(`[botpulse] ${message}`));
  const lock = options.lock ?? createLock(options, pollTimeoutSec);
  await acquireOrLeave(lock, options, log);
  log(`polling lock "${lock.key}" taken by host ${lock.identity.host} pid ${lock.identity.pid}`);
  client.addBreadcrumb({ category: 'telegram.polling', message: 'polling lock acquired', data: { key: lock.key } });
  lock.startRefreshing(
    () => {
      log(`polling lock "${lock.key}" was lost; stopping polling`);
      client.captureMessage(`Polling lock "${lock.key}" lost while polling`, { level: 'fatal', fingerprint: ['botpulse', 'polling-lock-lost'] });
      void bot.stop();
    },
    (error) => client.diagnostics.report('polling_lock', `could not refresh polling lock "${lock.key}"; still polling, it expires ${lock.ttl} ms after the last refresh`, error),
  );
  try {
    await bot.start({ ...options.startOptions, timeout: pollTimeoutSec });
  } finally {
    // Not released: the next poller waits until the TTL runs out; the bot's own outcome stands.
    await lock.release().catch((error: unknown) => client.diagnostics.report('polling_lock', `could not release polling lock "${lock.key}"; it expires within ${lock.ttl} ms`, error));
  }
}

function createLock(options: PollingWithLockOptions, pollTimeoutSec: number): PollingLock {
  if (!options.redis) throw new TypeError('startPollingWithLock needs `lock` or `redis`');
  const settings: Parameters<typeof pollingLock>[0] = { redis: options.redis, pollTimeoutSec };
  if (options.key !== undefined) settings.key = options.key;
  if (options.ttl !== undefined) settings.ttl = options.ttl;
  return pollingLock(settings);
}

async function acquireOrLeave(lock: PollingLock, options: PollingWithLockOptions, log: (message: string) => void): Promise<void> {
  const onHeld = options.onHeld ?? 'wait';
  try {
    const acquire: Parameters<PollingLock['acquire']>[0] = {
      wait: onHeld === 'wait',
      pollIntervalMs: options.retryIntervalMs ?? 1000,
      onWaiting: (_holder: LockHolder | undefined, message: string) => log(message),
    };
    if (options.signal) acquire.signal = options.signal;
    await lock.acquire(acquire);
  } catch (error) {
    if (error instanceof LockHeldError && onHeld === 'exit') {
      log(`not polling: ${error.message}`);
      process.exit(options.exitCode ?? 1);
    }
    throw error;
  }
}

import type { Command } from 'commander';
import { connectRedis, DEFAULT_LOCK_KEY, describeLock, isLive, readLock, redactRedisUrl } from '../monitors/lock-view.js';
import { unreachable } from './network.js';
import { wholeNumber } from './options.js';

/**
 * `botpulse lock status|release` (seed 001's release_bot_lock.py): shows the SDK's polling lock
 * `{host, pid, env, ts}` and removes a stale one. Release refuses a live holder (the key still has
 * a TTL, or its ts is fresher than --ttl) unless --force, and prints what it removed.
 */
interface LockOptions {
  redis?: string;
  key: string;
  ttl: number;
  force?: boolean;
  json?: boolean;
}

function redisUrl(opts: LockOptions): string {
  const url = opts.redis ?? process.env['BOTPULSE_REDIS_URL'] ?? process.env['REDIS_URL'];
  if (!url) throw new Error('give --redis <url> (or set BOTPULSE_REDIS_URL), e.g. --redis redis://127.0.0.1:6379');
  if (!/^rediss?:\/\//.test(url)) throw new Error('the Redis URL must start with redis:// or rediss://, e.g. redis://127.0.0.1:6379');
  return url;
}

async function withRedis<T>(opts: LockOptions, fn: (redis: ReturnType<typeof connectRedis>) => Promise<T>): Promise<T> {
  const url = redisUrl(opts);
  const shown = redactRedisUrl(url);
  const redis = connectRedis(url);
  // ioredis prints "Unhandled error event" with a stack for every failed reconnect unless someone
  // listens; the failure is reported once, below, in words.
  let socketError: unknown = null;
  redis.on('error', (err) => (socketError = err));
  try {
    try {
      await redis.connect();
    } catch (err) {
      // connect() rejects with "Connection is closed." once retries end; the socket's error says why.
      throw unreachable(`Redis at ${shown}`, socketError ?? err, 'check that Redis is running there and that --redis (or BOTPULSE_REDIS_URL) names the right host, port and password');
    }
    return await fn(redis);
  } catch (err) {
    throw new Error((err as Error).message.replaceAll(url, shown));
  } finally {
    redis.disconnect();
  }
}

export async function lockStatus(opts: LockOptions): Promise<void> {
  await withRedis(opts, async (redis) => {
    const info = await readLock(redis, opts.key);
    const live = isLive(info, opts.ttl * 1000);
    if (opts.json) return void process.stdout.write(`${JSON.stringify({ ...info, live })}\n`);
    const ttl = info.ttlMs === null ? '' : info.ttlMs === -1 ? ', no expiry' : `, expires in ${(info.ttlMs / 1000).toFixed(1)} s`;
    process.stdout.write(`${opts.key}: ${describeLock(info)}${info.holder || info.raw ? `${ttl}; ${live ? 'live' : 'stale'}` : ''}\n`);
  });
}

export async function lockRelease(opts: LockOptions): Promise<void> {
  await withRedis(opts, async (redis) => {
    const looked = await redis.get(opts.key);
    const info = await readLock(redis, opts.key);
    if (looked === null) return void process.stdout.write(`${opts.key}: nothing to release (free)\n`);
    if (isLive(info, opts.ttl * 1000) && !opts.force) {
      process.stderr.write(`botpulse: refusing to release ${opts.key}: ${describeLock(info)} is live; stop that process, wait for the TTL, or use --force\n`);
      process.exitCode = 2;
      return;
    }
    // Delete only the value we looked at: a holder that took the lock meanwhile keeps it.
    const removed = await redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`, 1, opts.key, looked);
    if (removed === 1) process.stdout.write(`released ${opts.key}: removed ${describeLock(info).replace(/^held by /, '')}\n`);
    else process.stdout.write(`${opts.key} changed meanwhile; nothing removed\n`);
  });
}

export function registerLockCommands(program: Command): void {
  const lock = program.command('lock').description('the bots\' Redis polling lock (seed 001: bot_polling_lock)');
  const common = (c: Command) =>
    c
      .option('--redis <url>', 'Redis URL (default BOTPULSE_REDIS_URL)')
      .option('--key <key>', 'lock key', DEFAULT_LOCK_KEY)
      .option('--ttl <seconds>', 'a holder whose ts is fresher than this is live (keys without expiry)', wholeNumber(1, 86_400 * 365), 60);
  common(lock.command('status').description('who holds the lock, since when, and whether it is live')).option('--json', 'print JSON').action(lockStatus);
  common(lock.command('release').description('remove a stale lock; refuses a live holder unless --force')).option('--force', 'remove even a live holder').action(lockRelease);
}

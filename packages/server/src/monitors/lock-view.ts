import { Redis } from 'ioredis';
import { readableTime } from '../lib/readable-time.js';

/** The SDK's polling lock value (seed 001): who polls, since when. */
export interface LockHolder {
  host: string;
  pid: number;
  env: string;
  ts: string;
}

export interface LockInfo {
  key: string;
  holder: LockHolder | null;
  /** The raw value when it is not the JSON we expect (a foreign tool's lock). */
  raw: string | null;
  /** Milliseconds until Redis expires the key; -1: no expiry; null: no key. */
  ttlMs: number | null;
  /** Age of `ts` in ms (the SDK's ts is when the holder took the lock). */
  ageMs: number | null;
}

export const DEFAULT_LOCK_KEY = 'bot_polling_lock';

/** Shows a Redis URL without its password (for logs, pages and CLI output). */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.username && u.password) return u.toString();
    return u.toString();
  } catch {
    return 'redis://<unparseable URL>';
  }
}

export function connectRedis(url: string): Redis {
  return new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, enableOfflineQueue: true, retryStrategy: (n) => (n > 3 ? null : 200 * n) });
}

/** Reads a lock key: its holder (parsed), TTL, age. */
export async function readLock(redis: Pick<Redis, 'get' | 'pttl'>, key: string, now = Date.now()): Promise<LockInfo> {
  const [raw, pttl] = await Promise.all([redis.get(key), redis.pttl(key)]);
  if (raw === null) return { key, holder: null, raw: null, ttlMs: null, ageMs: null };
  const holder = parseHolder(raw);
  const ts = holder ? lockTime(holder.ts) : NaN;
  return { key, holder, raw: holder ? null : raw, ttlMs: pttl < 0 && pttl !== -1 ? null : pttl, ageMs: Number.isFinite(ts) ? now - ts : null };
}

export function parseHolder(raw: string): LockHolder | null {
  try {
    const v = JSON.parse(raw) as Partial<LockHolder>;
    if (v && typeof v.host === 'string' && typeof v.pid === 'number') return { host: v.host, pid: v.pid, env: String(v.env ?? ''), ts: String(v.ts ?? '') };
  } catch {
    // not ours
  }
  return null;
}

/**
 * The holder's `ts` in ms: the SDK writes ISO 8601; other tools write epoch seconds (Python's
 * time.time()) or milliseconds. NaN when it is none of these.
 */
export function lockTime(ts: string): number {
  if (/^\d+(\.\d+)?$/.test(ts.trim())) {
    const n = Number(ts);
    return n < 1e11 ? n * 1000 : n; // 1e11 s is the year 5138; 1e11 ms is 1973
  }
  return Date.parse(ts);
}

/**
 * Is the holder alive? The SDK refreshes the key's expiry (PEXPIRE) and never rewrites `ts`, so a
 * key with a TTL left is live by construction; a key without expiry (a tool that does not set
 * one, like the seed's Python bot) is live while its `ts` is fresher than `ttlMs`.
 */
export function isLive(info: LockInfo, ttlMs: number): boolean {
  if (info.ttlMs === null && info.holder === null && info.raw === null) return false;
  if (info.ttlMs !== null && info.ttlMs > 0) return true;
  return info.ageMs !== null && info.ageMs < ttlMs;
}

/** "held by host X pid Y (env, since 2026-12-05 14:03 UTC (5 min ago))" */
export function describeLock(info: LockInfo, now: number = Date.now()): string {
  if (!info.holder) return info.raw === null ? 'free' : `held by an unknown value (${info.raw.slice(0, 80)})`;
  const h = info.holder;
  const at = lockTime(h.ts);
  const since = Number.isFinite(at) ? readableTime(at, now) : h.ts ? `"${h.ts.slice(0, 40)}" (not a time)` : 'an unknown time';
  return `held by host ${h.host} pid ${h.pid} (${h.env || 'no env'}, since ${since})`;
}

/** The server's view (BOTPULSE_REDIS_URL): one lazily connected client, failures reported, never thrown. */
export class LockView {
  private redis: Redis | null = null;

  constructor(private readonly url: string | null) {}

  get enabled(): boolean {
    return this.url !== null;
  }

  async read(key: string | null): Promise<LockInfo | { key: string; error: string } | null> {
    if (!this.url) return null;
    const k = key ?? DEFAULT_LOCK_KEY;
    try {
      this.redis ??= connectRedis(this.url);
      return await readLock(this.redis, k);
    } catch (err) {
      return { key: k, error: `Redis unreachable at ${redactRedisUrl(this.url)}: ${(err as Error).message.replaceAll(this.url, redactRedisUrl(this.url))}` };
    }
  }

  close(): void {
    this.redis?.disconnect();
    this.redis = null;
  }
}

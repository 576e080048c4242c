// Error-storm protection. A bot in a crash loop can throw thousands of identical errors a
// second; building, serialising and queueing each costs ~80 µs of CPU and would end in the
// transport's overflow anyway. Token buckets (one per error signature, one overall) let the
// first errors and then a steady trickle through; the rest are only counted, and the next event
// of that signature carries how many similar ones were suppressed.
import { LruMap } from './lru.js';

/** Limits of the storm guard (`init({ errorStorm })`). */
export interface StormOptions {
  /** Events of one signature (error type + message) sent at once before limiting (default 50). */
  burst?: number;
  /** Then this many per second per signature (default 10). */
  ratePerSecond?: number;
  /** All events together: burst (default 500) and rate per second (default 100). */
  totalBurst?: number;
  totalRatePerSecond?: number;
}

class Bucket {
  tokens: number;
  updatedAt = Date.now();
  suppressed = 0;

  constructor(private readonly capacity: number, private readonly ratePerMs: number) {
    this.tokens = capacity;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * this.ratePerMs);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Decides whether an event may be built. Memory is bounded: at most 1000 signatures are tracked.
 * @example
 * const guard = new StormGuard();
 * const verdict = guard.admit('Error: db down'); // { allowed: true, suppressedBefore: 0 }
 */
export class StormGuard {
  private readonly signatures = new LruMap<string, Bucket>(1000);
  private readonly total: Bucket;

  constructor(private readonly options: StormOptions = {}) {
    this.total = new Bucket(options.totalBurst ?? 500, (options.totalRatePerSecond ?? 100) / 1000);
  }

  /** Whether to send; when allowed, how many similar events were suppressed since the last one. */
  admit(signature: string): { allowed: boolean; suppressedBefore: number } {
    const now = Date.now();
    let bucket = this.signatures.get(signature);
    if (!bucket) {
      bucket = new Bucket(this.options.burst ?? 50, (this.options.ratePerSecond ?? 10) / 1000);
      this.signatures.set(signature, bucket);
    }
    if (!bucket.take(now) || !this.total.take(now)) {
      bucket.suppressed += 1;
      return { allowed: false, suppressedBefore: 0 };
    }
    const suppressedBefore = bucket.suppressed;
    bucket.suppressed = 0;
    return { allowed: true, suppressedBefore };
  }
}

/** A cheap signature of a thrown value: no stack formatting, just type and message. */
export function stormSignature(error: unknown): string {
  if (error instanceof Error) return `${error.name}:${error.message.slice(0, 200)}`;
  return `value:${String(error).slice(0, 200)}`;
}

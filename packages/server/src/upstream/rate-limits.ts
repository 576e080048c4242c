import type { UpstreamKind } from '../store/upstream.js';

/** The Sentry data categories (X-Sentry-Rate-Limits) each kind we forward counts under. */
export const CATEGORIES_OF: Record<UpstreamKind, readonly string[]> = {
  event: ['error', 'default'],
  transaction: ['transaction'],
  check_in: ['monitor'],
  log: ['log_item', 'log_byte'],
};

/** What Sentry SDKs assume when a 429 says nothing of how long (develop docs, rate-limiting). */
const DEFAULT_LIMIT_SECONDS = 60;

/**
 * The upstream's rate limits, per category, as Sentry SDKs keep them: `X-Sentry-Rate-Limits`
 * (`<seconds>:<cat;cat>:<scope>[:<reason>], …`, no categories meaning all) on any answer; failing
 * that, on a 429, `Retry-After` (seconds or an HTTP date) for every category; failing both, 60 s.
 */
export class RateLimits {
  private readonly until = new Map<string, number>();
  /** Every category: an entry without categories. */
  private static readonly ALL = '*';

  /** Reads an answer's headers; true if it set a limit. */
  update(status: number, header: (name: string) => string | null, now: number): boolean {
    const limits = header('x-sentry-rate-limits');
    if (limits) return this.applyLimitsHeader(limits, now) > 0;
    if (status !== 429) return false;
    this.set(RateLimits.ALL, now + retryAfterMs(header('retry-after'), now));
    return true;
  }

  /** Until when a kind must not be sent (0: it may be sent now). */
  limitedUntil(kind: UpstreamKind, now: number): number {
    const times = [RateLimits.ALL, ...CATEGORIES_OF[kind]].map((c) => this.until.get(c) ?? 0);
    const latest = Math.max(...times);
    return latest > now ? latest : 0;
  }

  /** Active limits by category, for /metrics and the status page. */
  active(now: number): Record<string, number> {
    return Object.fromEntries([...this.until].filter(([, t]) => t > now));
  }

  private applyLimitsHeader(value: string, now: number): number {
    let applied = 0;
    for (const entry of value.split(',')) {
      const [secondsText, categories = ''] = entry.trim().split(':');
      const seconds = Number(secondsText);
      if (!secondsText || !Number.isFinite(seconds) || seconds < 0) continue;
      const until = now + seconds * 1000;
      const names = categories.split(';').map((c) => c.trim()).filter(Boolean);
      for (const name of names.length ? names : [RateLimits.ALL]) this.set(name, until);
      applied++;
    }
    return applied;
  }

  private set(category: string, until: number): void {
    if (until > (this.until.get(category) ?? 0)) this.until.set(category, until);
  }
}

function retryAfterMs(value: string | null, now: number): number {
  if (value === null || value.trim() === '') return DEFAULT_LIMIT_SECONDS * 1000;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : DEFAULT_LIMIT_SECONDS * 1000;
}

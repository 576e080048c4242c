/**
 * Slows password guessing: after `maxFailures` wrong passwords for one login from one address
 * within `windowMs`, that pair is refused (429) until `lockMs` after the last failure.
 *
 * Kept in memory on purpose: it is per process and a restart clears it, which an attacker cannot
 * trigger, and it costs no database write per guess. The map is bounded so a spray of made-up
 * logins cannot grow it without limit.
 */
export interface LockoutOptions {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
  maxKeys: number;
}

export const DEFAULT_LOCKOUT: LockoutOptions = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000, maxKeys: 10_000 };

export class LoginLockout {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly options: LockoutOptions = DEFAULT_LOCKOUT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until this login+address may try again; 0 when it may now. */
  retryAfter(login: string, address: string): number {
    const times = this.recent(keyOf(login, address));
    if (times.length < this.options.maxFailures) return 0;
    return Math.max(0, times[times.length - 1]! + this.options.lockMs - this.now());
  }

  recordFailure(login: string, address: string): void {
    const key = keyOf(login, address);
    const times = [...this.recent(key), this.now()];
    this.failures.delete(key); // re-inserted last: the map's order is oldest activity first
    this.failures.set(key, times.slice(-this.options.maxFailures));
    this.evictOldest();
  }

  reset(login: string, address: string): void {
    this.failures.delete(keyOf(login, address));
  }

  private recent(key: string): number[] {
    const since = this.now() - Math.max(this.options.windowMs, this.options.lockMs);
    return (this.failures.get(key) ?? []).filter((t) => t > since);
  }

  private evictOldest(): void {
    while (this.failures.size > this.options.maxKeys) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) return;
      this.failures.delete(oldest);
    }
  }
}

function keyOf(login: string, address: string): string {
  return `${login.toLowerCase()}\u0000${address}`;
}

import { createHash } from 'node:crypto';
import type { Store } from '../../store/store.js';

/**
 * Slows password guessing: at most `maxFailures` password checks per login and address within
 * `windowMs`; past that the pair is refused (429) until `windowMs` after the last check let through.
 *
 * The attempt is counted BEFORE the slow password check, in one atomic database statement
 * (Store.countLoginAttempt): checking first and counting after the ~100 ms scrypt let 60
 * concurrent guesses all through. In the database, not in memory, so every server process sharing
 * it counts the same attempts, and a restart does not reset them. Only a hash of login and address
 * is stored (a password typed into the login field must not be).
 */
export interface LockoutOptions {
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_LOCKOUT: LockoutOptions = { maxFailures: 5, windowMs: 15 * 60_000 };

export interface LoginAttempt {
  /** The password may be checked. */
  allowed: boolean;
  /** This was the last check allowed in the window: a failure now locks the pair. */
  last: boolean;
  /** Milliseconds until the pair may try again once locked. */
  retryAfterMs: number;
}

type AttemptStore = Pick<Store, 'countLoginAttempt' | 'clearLoginAttempts' | 'pruneLoginAttempts'>;

export class LoginLockout {
  constructor(
    private readonly store: AttemptStore,
    private readonly options: LockoutOptions = DEFAULT_LOCKOUT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts an attempt of this login from this address; call before checking the password. */
  async attempt(login: string, address: string): Promise<LoginAttempt> {
    const now = this.now();
    const { maxFailures, windowMs } = this.options;
    const { attempts, windowStart } = await this.store.countLoginAttempt(keyOf(login, address), now, windowMs, maxFailures);
    return { allowed: attempts <= maxFailures, last: attempts === maxFailures, retryAfterMs: Math.max(0, windowStart + windowMs - now) };
  }

  /** A right password: the count starts over. */
  async succeeded(login: string, address: string): Promise<void> {
    await this.store.clearLoginAttempts(keyOf(login, address));
  }

  /** Forgets windows that ended: a spray of made-up logins leaves no lasting rows. */
  async pruneExpired(): Promise<number> {
    return this.store.pruneLoginAttempts(this.now() - this.options.windowMs);
  }
}

function keyOf(login: string, address: string): string {
  return createHash('sha256').update(`${login.toLowerCase()}\u0000${address}`).digest('hex');
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store, WebSession } from '../../store/store.js';

export const SESSION_COOKIE = 'bp_session';
/** A session ends after this long without use. */
export const SESSION_IDLE_MS = 14 * 24 * 3600_000;
/** The expiry is pushed forward at most this often, so browsing is not a stream of writes. */
const EXTEND_EVERY_MS = 3600_000;

export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The database keeps only this hash: a copy of the database does not hand out live sessions. */
export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/** Constant-time comparison for tokens of any length. */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export class Sessions {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** Returns the cookie value; only its hash is stored. */
  async create(login: string): Promise<{ id: string; session: WebSession }> {
    const id = randomToken();
    const now = this.now();
    const session: WebSession = { idHash: hashSessionId(id), login, csrfToken: randomToken(), createdAt: now, expiresAt: now + SESSION_IDLE_MS };
    await this.store.createSession(session);
    return { id, session };
  }

  /** The live session for a cookie value, its expiry pushed forward; null when unknown or expired. */
  async resume(id: string | undefined): Promise<WebSession | null> {
    if (!id || id.length > 200) return null;
    const session = await this.store.getSession(hashSessionId(id));
    const now = this.now();
    if (!session) return null;
    if (session.expiresAt <= now) {
      await this.store.deleteSession(session.idHash);
      return null;
    }
    if (session.expiresAt - now < SESSION_IDLE_MS - EXTEND_EVERY_MS) {
      session.expiresAt = now + SESSION_IDLE_MS;
      await this.store.extendSession(session.idHash, session.expiresAt);
    }
    return session;
  }

  async destroy(session: WebSession): Promise<void> {
    await this.store.deleteSession(session.idHash);
  }

  async pruneExpired(): Promise<number> {
    return this.store.deleteExpiredSessions(this.now());
  }
}

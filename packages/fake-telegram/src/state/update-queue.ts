// One bot's pending updates and its long poll. Updates stay queued until confirmed by a
// getUpdates offset (or a successful webhook delivery), exactly like Telegram, so a bot that
// crashes before confirming gets the same batch again.
import { ApiError, CONFLICT_OTHER_POLLER } from '../errors.js';
import type { Update } from '../types.js';

/** Update types Telegram leaves out unless allowed_updates names them. */
const OPT_IN_TYPES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

export function updateType(update: Update): string {
  return Object.keys(update).find((key) => key !== 'update_id') ?? 'unknown';
}

export interface PollRequest {
  offset?: number;
  limit: number;
  timeoutSec: number;
  allowedUpdates?: string[];
  /** Fires when the HTTP client goes away; the poll then ends without an answer. */
  signal: AbortSignal;
}

interface Waiter {
  limit: number;
  settle(result: Update[] | ApiError): void;
}

export class UpdateQueue {
  private pending: Update[] = [];
  private nextId = 100_000_001;
  private allowed: Set<string> | undefined;
  private waiter: Waiter | undefined;
  private stalled = false;
  /** Called after an update is queued (the webhook deliverer listens here). */
  onQueued: () => void = () => {};
  /** Called when a poll starts waiting (tests wait for this instead of sleeping). */
  onWaiting: () => void = () => {};

  get size(): number {
    return this.pending.length;
  }

  list(): Update[] {
    return [...this.pending];
  }

  /** True while a getUpdates call is being held open. */
  get isPolling(): boolean {
    return this.waiter !== undefined;
  }

  get isStalled(): boolean {
    return this.stalled;
  }

  /**
   * Assigns the next update_id and queues the update, unless allowed_updates excludes its type
   * (then it is dropped, as Telegram drops it).
   */
  push(body: Omit<Update, 'update_id'>): Update {
    const update = { update_id: this.nextId++, ...body } as Update;
    if (!this.isAllowed(update)) return update;
    this.pending.push(update);
    this.wakeWaiter();
    this.onQueued();
    return update;
  }

  /** getUpdates offset semantics: forget updates below `offset`; a negative offset keeps the last -offset updates. */
  confirm(offset: number): void {
    if (offset > 0) this.pending = this.pending.filter((u) => u.update_id >= offset);
    else if (offset < 0) this.pending = this.pending.slice(offset);
  }

  dropAll(): void {
    this.pending = [];
  }

  /** allowed_updates persists between calls; an empty list restores the default set. */
  setAllowed(types: string[] | undefined): void {
    this.allowed = types && types.length > 0 ? new Set(types) : undefined;
  }

  get allowedUpdates(): string[] | undefined {
    return this.allowed ? [...this.allowed] : undefined;
  }

  /** The next deliverable updates (up to `limit`); updates of types no longer allowed are forgotten. */
  take(limit: number): Update[] {
    this.pending = this.pending.filter((u) => this.isAllowed(u));
    return this.pending.slice(0, limit);
  }

  setStalled(stalled: boolean): void {
    this.stalled = stalled;
    if (!stalled) {
      this.wakeWaiter();
      this.onQueued();
    }
  }

  /**
   * Answers a getUpdates call: at once if updates are ready (or timeout is 0), otherwise when
   * one arrives or the timeout passes. A new poll terminates the one in progress with 409,
   * which is how Telegram tells two bot instances apart.
   */
  poll(request: PollRequest): Promise<Update[]> {
    this.terminatePoll(new ApiError(409, CONFLICT_OTHER_POLLER));
    if (request.offset !== undefined) this.confirm(request.offset);
    if (request.allowedUpdates !== undefined) this.setAllowed(request.allowedUpdates);
    const ready = this.stalled ? [] : this.take(request.limit);
    if (ready.length > 0 || request.timeoutSec <= 0 || request.signal.aborted) return Promise.resolve(ready);
    return this.wait(request);
  }

  /** Ends the poll in progress (if any) with an error; returns whether there was one. */
  terminatePoll(error: ApiError): boolean {
    const waiter = this.waiter;
    if (!waiter) return false;
    waiter.settle(error);
    return true;
  }

  private wait(request: PollRequest): Promise<Update[]> {
    return new Promise<Update[]>((resolve, reject) => {
      let done = false;
      const settle = (result: Update[] | ApiError): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        request.signal.removeEventListener('abort', onAbort);
        if (this.waiter === waiter) this.waiter = undefined;
        if (result instanceof ApiError) reject(result);
        else resolve(result);
      };
      const waiter: Waiter = { limit: request.limit, settle };
      const onAbort = (): void => settle([]);
      const timer = setTimeout(() => settle(this.stalled ? [] : this.take(request.limit)), request.timeoutSec * 1000);
      request.signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = waiter;
      this.onWaiting();
    });
  }

  private wakeWaiter(): void {
    if (!this.waiter || this.stalled) return;
    const ready = this.take(this.waiter.limit);
    if (ready.length > 0) this.waiter.settle(ready);
  }

  private isAllowed(update: Update): boolean {
    const type = updateType(update);
    return this.allowed ? this.allowed.has(type) : !OPT_IN_TYPES.has(type);
  }
}

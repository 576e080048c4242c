// Telegram re-sends an update when a webhook answered slowly or with a non-2xx status, and a
// poller that crashed before confirming its offset gets the last batch again. Remembering the
// most recent update_ids (bounded) lets the SDK flag and optionally skip such repeats.

/**
 * Default number of update ids remembered per bot.
 * @example new UpdateDeduper(DEFAULT_DEDUPE_CAPACITY)
 */
export const DEFAULT_DEDUPE_CAPACITY = 10_000;

/**
 * A bounded memory of recent update ids.
 * @example
 * const seen = new UpdateDeduper();
 * seen.check(42); // false: first time
 * seen.check(42); // true: a repeat
 */
export class UpdateDeduper {
  private readonly ids = new Set<number>();
  private readonly order: number[] = [];
  private head = 0;

  constructor(readonly capacity = DEFAULT_DEDUPE_CAPACITY) {}

  /** Records `updateId` and returns true when it was already seen. */
  check(updateId: number): boolean {
    if (this.ids.has(updateId)) return true;
    this.ids.add(updateId);
    if (this.order.length < this.capacity) {
      this.order.push(updateId);
    } else {
      // Ring buffer: overwrite the oldest id.
      const oldest = this.order[this.head];
      if (oldest !== undefined) this.ids.delete(oldest);
      this.order[this.head] = updateId;
      this.head = (this.head + 1) % this.capacity;
    }
    return false;
  }

  get size(): number {
    return this.ids.size;
  }
}

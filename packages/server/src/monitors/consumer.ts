import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { MonitorStore } from '../store/monitors.js';
import type { SpoolRow, Store } from '../store/store.js';

/**
 * Reads parked raw items (`raw_items`, written by intake's group commit) by id with a persisted
 * cursor. Chosen over a hook at intake: a check-in answered 200 is already durable, the ping path
 * stays the ingest path (no monitor work inside the request), a restart resumes exactly where it
 * stopped, and the sweeper drains the cursor before judging silence, so an item waiting here is
 * never mistaken for a missed beat. Only the server holding the evaluator lease drains it
 * (service.ts), so two servers on one database never count a transaction twice.
 */
export class RawItemCursor {

  constructor(
    private readonly store: Store,
    private readonly monitors: MonitorStore,
    private readonly kind: 'check_in' | 'transaction' | 'span',
    private readonly batch = 1000,
  ) {}

  /**
   * Hands every new item to `handle` in id order, persisting the cursor after each batch, with a
   * turn of the event loop between batches: a backlog (a restart, a burst of check-ins) is drained
   * while pings and ingestion are still answered. Check-ins are applied one by one (several writes
   * each), so their cursor reads smaller batches (service.ts).
   */
  async drain(handle: (rows: SpoolRow[]) => Promise<void>): Promise<number> {
    const key = `cursor:${this.kind}`;
    // Read each time, never cached: the evaluator lease may have moved to another server and back.
    const stored = await this.monitors.getValue(key);
    let after = stored === null ? await this.startAt() : Number(stored);
    // The starting point is decided once, then kept: items parked after it are all new.
    if (stored === null) await this.monitors.setValue(key, String(after));
    let total = 0;
    for (;;) {
      const rows = await this.store.listRawItems(this.kind, { after, limit: this.batch });
      if (!rows.length) return total;
      await handle(rows);
      after = rows[rows.length - 1]!.id;
      await this.monitors.setValue(key, String(after));
      total += rows.length;
      if (rows.length < this.batch) return total;
      await yieldToLoop();
    }
  }

  /** A first start on an existing database begins at its newest item: old transactions and spans are history, not load. */
  private async startAt(): Promise<number> {
    let last = 0;
    for (;;) {
      const rows = await this.store.listRawItems(this.kind, { after: last, limit: 10_000 });
      if (rows.length < 10_000) return rows.length && this.kind !== 'check_in' ? rows[rows.length - 1]!.id : 0;
      last = rows[rows.length - 1]!.id;
      await yieldToLoop();
    }
  }
}

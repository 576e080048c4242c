import type { ClientDiscard, SpoolItemInput, SpoolRow, Store } from '../store/store.js';

/** Per request: items only counted, and client reports' discards. */
export interface SpoolCounts {
  projectId: number;
  counts: Record<string, number>;
  discards?: { discards: ClientDiscard[]; at: number }[] | undefined;
}

interface Pending {
  items: SpoolItemInput[];
  counts: SpoolCounts[];
  waiters: { resolve: () => void; reject: (err: Error) => void }[];
}

/**
 * The durable hand-off between ingestion and digest. Requests that arrive in the same event-loop
 * turn are written in ONE transaction (group commit), and each request is answered only after
 * that transaction committed, so a 200 always means "on disk".
 */
export class Spool {
  private pending: Pending | null = null;
  /** A flush is waiting for its commit (see append). */
  private flushing = false;
  /** When the last flush started (performance.now()), for the gather window. */
  private lastFlushAt = -Infinity;
  private size = 0;
  /** Changes made while a recount is being read (see resync). */
  private readonly drifts = new Set<{ n: number }>();
  /**
   * Given each flush's committed rows with their ids, when the store returns them (PostgreSQL),
   * before the requests are answered: the digest worker hands them to its thread, which then does
   * not read their payloads back. Only a shortcut: the rows are in the spool whatever it does.
   */
  onCommitted: ((rows: SpoolRow[]) => void) | null = null;

  /**
   * @param gatherMs the least time between the starts of two flushes (0: none). A commit costs the
   *   database about as much CPU for one row as for ten (a round trip, the WAL flush), and
   *   PostgreSQL commits fast enough that each flush carried about one request under load; so there
   *   a flush waits until `gatherMs` after the one before started, and takes everything that
   *   arrived meanwhile. A request is answered at most `gatherMs` later; after a quiet spell the
   *   flush starts at once. SQLite passes 0: its flush ends within the turn that started it.
   */
  constructor(
    private readonly store: Store,
    private readonly backlogLimit: number,
    private readonly gatherMs = 0,
  ) {}

  /** Reads the backlog left by a previous run (after a crash, the spool is where it was). */
  async init(): Promise<void> {
    this.size = await this.store.spoolBacklog();
  }

  get backlog(): number {
    return this.size;
  }

  isFull(): boolean {
    return this.size >= this.backlogLimit;
  }

  append(items: SpoolItemInput[], counts?: SpoolCounts): Promise<void> {
    if (!this.pending) {
      this.pending = { items: [], counts: [], waiters: [] };
      // One flush at a time: while a commit is on its way (PostgreSQL answers asynchronously), the
      // requests that arrive meanwhile gather into the next one instead of each starting its own
      // transaction. On SQLite a flush ends within its turn, so nothing changes there.
      if (!this.flushing) this.scheduleFlush();
    }
    this.pending.items.push(...items);
    if (counts && (Object.keys(counts.counts).length || counts.discards?.length)) this.pending.counts.push(counts);
    return new Promise((resolve, reject) => this.pending!.waiters.push({ resolve, reject }));
  }

  /**
   * Recounts from the database. The in-memory count only sees this process's appends; with two
   * processes on one database the other one's digest removes rows too, so the count is trued up
   * whenever our digest finds the spool empty.
   */
  async resync(): Promise<void> {
    // Appends and digests that land while the count is read are kept on top of it: one that the
    // count already saw is counted twice until the next recount, never forgotten.
    const drift = { n: 0 };
    this.drifts.add(drift);
    try {
      const counted = await this.store.spoolBacklog();
      this.size = Math.max(0, counted + drift.n);
    } finally {
      this.drifts.delete(drift);
    }
  }

  /** Called by the digest after it removed `n` rows. */
  digested(n: number): void {
    this.size = Math.max(0, this.size - n);
    for (const d of this.drifts) d.n -= n;
  }

  /** The next flush: at the next turn, or at the end of the gather window if one is open. */
  private scheduleFlush(): void {
    const wait = this.lastFlushAt + this.gatherMs - performance.now();
    if (wait >= 1) setTimeout(() => void this.flush(), wait);
    else setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const batch = this.pending!;
    this.pending = null;
    this.flushing = true;
    this.lastFlushAt = performance.now();
    try {
      const rows = await this.store.appendToSpool(batch.items);
      if (rows?.length) this.onCommitted?.(rows);
      for (const c of batch.counts) {
        await this.store.countItems(c.projectId, c.counts);
        for (const report of c.discards ?? []) await this.store.recordClientDiscards(c.projectId, report.discards, report.at);
      }
      const spooled = batch.items.filter((i) => i.kind === 'event' || i.kind === 'attachment').length;
      this.size += spooled;
      for (const d of this.drifts) d.n += spooled;
      for (const w of batch.waiters) w.resolve();
    } catch (err) {
      for (const w of batch.waiters) w.reject(err as Error);
    } finally {
      this.flushing = false;
      if (this.pending) this.scheduleFlush();
    }
  }
}

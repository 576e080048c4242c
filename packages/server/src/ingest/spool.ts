import type { SpoolItemInput, SpoolRow, SpoolTally, Store } from '../store/store.js';

/** Per request: items only counted, and client reports' discards. */
export type SpoolCounts = SpoolTally;

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
  /** Flushes waiting for their commits (see append), at most `maxInFlight`. */
  private inFlight = 0;
  /** A flush is scheduled (setImmediate or the gather window's timer) and has not started yet. */
  private scheduled = false;
  /** When the last flush started (performance.now()), for the gather window. */
  private lastFlushAt = -Infinity;
  private size = 0;
  /** Changes made while a recount is being read (see resync). */
  private readonly drifts = new Set<{ n: number }>();
  /** The highest spool id a committed flush of this process returned (0: none yet). */
  private maxSeenId = 0;
  /** Per flush in flight: `maxSeenId` when it started. Its rows' ids are above it (ids come from a sequence). */
  private readonly floors = new Set<{ floor: number }>();
  /**
   * Given each flush's committed rows with their ids, when the store returns them (PostgreSQL),
   * before the requests are answered: the digest worker hands them to its thread, which then does
   * not read their payloads back. Only a shortcut: the rows are in the spool whatever it does.
   */
  onCommitted: ((rows: SpoolRow[]) => void) | null = null;
  /**
   * Told, synchronously, before a flush is sent and after its rows were handed over (onCommitted):
   * whether flushes are in flight and the id at or below which no row of theirs can be (the lowest
   * of their floors; with none in flight, the highest id this process has committed). The digest
   * thread leaves an unheld row above it for a later batch instead of reading its payload back: it
   * may be this process's, committed by PostgreSQL but not handed over yet (digest/held-rows.ts).
   */
  onFlushWindow: ((inFlight: boolean, floor: number) => void) | null = null;

  /**
   * @param gatherMs the least time between the starts of two flushes (0: none). A commit costs the
   *   database about as much CPU for one row as for ten (a round trip, the WAL flush), and
   *   PostgreSQL commits fast enough that each flush carried about one request under load; so there
   *   a flush waits until `gatherMs` after the one before started, and takes everything that
   *   arrived meanwhile. A request is answered at most `gatherMs` later; after a quiet spell the
   *   flush starts at once. SQLite passes 0: its flush ends within the turn that started it.
   * @param maxInFlight how many flushes may wait for their commits at once, each on its own pooled
   *   connection (PostgreSQL: 2, so that one commit's WAL flush does not hold every request that
   *   arrives meanwhile; PostgreSQL's own group commit then covers both). Each request is answered
   *   when its own flush committed, whichever commits first. SQLite: 1 (its flush is synchronous).
   * @param mayOverlap asked before a flush starts beside one in flight: false keeps it waiting for
   *   that one. main.ts answers whether the main thread's event loop has idle time: a second commit
   *   shortens the answers' wait for the disk when the thread waits, but when the thread is the
   *   bound it only splits the requests over more commits, each a round trip of CPU on both sides
   *   (measured: docs/performance.md, "Round: spool pipelining").
   */
  constructor(
    private readonly store: Store,
    private readonly backlogLimit: number,
    private readonly gatherMs = 0,
    private readonly maxInFlight = 1,
    private readonly mayOverlap: () => boolean = () => true,
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
      // At most maxInFlight flushes at a time: while commits are on their way (PostgreSQL answers
      // asynchronously), the requests that arrive meanwhile gather into the next one instead of each
      // starting its own transaction. On SQLite a flush ends within its turn, so nothing changes there.
      this.scheduleFlush();
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

  /** The next flush, if one may start: at the next turn, or at the end of the gather window if one is open. */
  private scheduleFlush(): void {
    if (this.scheduled || !this.pending || this.inFlight >= this.maxInFlight) return;
    // A flush beside one in flight pays where the thread waits for the disk; where it is busy, the
    // extra commit costs more than the wait (see the constructor).
    if (this.inFlight > 0 && !this.mayOverlap()) return;
    this.scheduled = true;
    const wait = this.lastFlushAt + this.gatherMs - performance.now();
    if (wait >= 1) setTimeout(() => void this.flush(), wait);
    else setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending!;
    this.pending = null;
    this.inFlight += 1;
    this.lastFlushAt = performance.now();
    const window = { floor: this.maxSeenId };
    this.floors.add(window);
    this.tellWindow();
    try {
      const rows = await this.store.appendToSpool(batch.items, batch.counts);
      if (rows?.length) {
        for (const r of rows) if (r.id > this.maxSeenId) this.maxSeenId = r.id;
        this.onCommitted?.(rows);
      }
      this.floors.delete(window);
      this.tellWindow(); // after the hand-off was posted: the digest thread finds it when it looks
      const spooled = batch.items.filter((i) => i.kind === 'event' || i.kind === 'attachment').length;
      this.size += spooled;
      for (const d of this.drifts) d.n += spooled;
      for (const w of batch.waiters) w.resolve();
    } catch (err) {
      for (const w of batch.waiters) w.reject(err as Error);
    } finally {
      if (this.floors.delete(window)) this.tellWindow();
      this.inFlight -= 1;
      this.scheduleFlush();
    }
  }

  private tellWindow(): void {
    if (!this.onFlushWindow) return;
    let floor = Infinity;
    for (const w of this.floors) floor = Math.min(floor, w.floor);
    this.onFlushWindow(this.floors.size > 0, this.floors.size ? floor : this.maxSeenId);
  }
}

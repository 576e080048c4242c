import type { Logger } from 'pino';
import type { IssueChange } from '../store/model.js';
import type { DigestedRow, HeldSpoolRows, QuarantinedRow, SpoolRow, Store } from '../store/store.js';
import { issueLifecycle } from './lifecycle.js';

/** How many undigested rows wait: the loop reads it to size its pauses and tells it what it took. */
export interface BacklogCounter {
  readonly backlog: number;
  digested(rows: number): void;
}

export interface DigestLoopOptions {
  batchSize: number;
  /** How long a partial batch may fill before it is digested (COALESCE_MS: per store). */
  coalesceMs: number;
  digestRows: (rows: SpoolRow[]) => DigestedRow[];
  /** Told about every issue a batch touched (alert rules hook in here). */
  onChanges?: (changes: IssueChange[]) => void;
  /** Told when a drain ends with nothing left to take. */
  onIdle?: () => void;
  /** Told about rows a batch quarantined (they failed alone; logged here, counted by the caller). */
  onQuarantined?: (rows: QuarantinedRow[]) => void;
  /** Told about every failed batch (logged here; counted by the caller). */
  onBatchFailed?: (err: Error, retryInMs: number) => void;
  /** Told about every failed fold of the status deltas (logged here; counted by the caller). */
  onFoldFailed?: (err: Error) => void;
  /** Told about every failed reclaim of the spool's space (logged here; counted by the caller). */
  onReclaimFailed?: (err: Error) => void;
  /** Rows this process spooled, kept in memory so the store needs not read their payloads back (held-rows.ts). */
  held?: HeldSpoolRows;
  /** Told how many claimed rows had their payloads read from the database (not held), per batch. */
  onPayloadsRead?: (n: number) => void;
  /** Waits between failed batches; tests pass a quick one. */
  wait?: (ms: number) => Promise<void>;
  /** Waits while a partial batch fills (coalesceMs); tests pass one that records the wait. */
  pause?: (ms: number) => Promise<void>;
  logger: Logger;
}

/** Backoff after a failed batch: 1 s, doubling up to 30 s, back to 1 s after a batch goes through. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * How long the loop lets a partial batch fill before digesting it, per store. A transaction costs
 * about the same for 1 row as for 100 (one WAL commit, each touched issue read and written once),
 * so under load waiting a few milliseconds multiplies throughput; an alert is late by at most this
 * much. On PostgreSQL a batch is also some ten round trips to the database and the alert engine's
 * statements for its changes, so it waits longer: at 8 requests in flight (about 1,000 events/s,
 * 15 ms made batches of about 15 events) 100 ms digested 11-62% more events per second in six
 * pairs out of six, with less CPU per event on both sides; at 32 in flight, where batches fill
 * anyway, the two were even (docs/performance.md, "Then: the spool reclaimed, longer batches").
 */
export const COALESCE_MS = { sqlite: 15, postgres: 100 } as const;

/**
 * How often at most the loop folds the status deltas its batches appended (migration 030): the
 * counts are exact either way; folding keeps the deltas the dashboard sums few.
 */
const FOLD_EVERY_MS = 1_000;

/**
 * How often at most the loop has the store reclaim the space of the spool rows it deleted
 * (Store.reclaimSpoolSpace: a VACUUM on PostgreSQL). Once a second keeps the spool to about a
 * second's worth of pages under load; each VACUUM only visits the pages changed since the last.
 */
const RECLAIM_EVERY_MS = 1_000;

/**
 * Upkeep owed after digested batches (folding the status deltas, reclaiming the spool's space):
 * due at once when a drain ends, else at most once per `everyMs`. A failed run is owed again.
 */
class Upkeep {
  private owed = false;
  private lastAt = 0;

  constructor(private readonly everyMs: number) {}

  /** A batch was digested: the upkeep is owed. */
  owe(): void {
    this.owed = true;
  }

  /** Whether a run is due now; if so, it counts as run (call `owe` again when it fails). */
  take(drained: boolean): boolean {
    if (!this.owed || (!drained && Date.now() - this.lastAt < this.everyMs)) return false;
    this.owed = false;
    this.lastAt = Date.now();
    return true;
  }
}

/**
 * Drains the spool in batches. It yields to the event loop between batches so ingestion keeps
 * answering while a backlog is digested.
 */
export class DigestLoop {
  private running: Promise<void> | null = null;
  private kickedWhileRunning = false;
  private stopped = false;
  private readonly fold = new Upkeep(FOLD_EVERY_MS);
  private readonly reclaim = new Upkeep(RECLAIM_EVERY_MS);
  /** The reclaim under way (not awaited by the batches). */
  private reclaiming: Promise<void> | null = null;
  digestedTotal = 0;

  constructor(
    private readonly store: Store,
    private readonly spool: BacklogCounter,
    private readonly options: DigestLoopOptions,
  ) {}

  /** Starts draining unless a drain is already under way. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.kickedWhileRunning = true; // rows may have arrived after the drain's last look
      return;
    }
    this.kickedWhileRunning = false;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.kickedWhileRunning) this.kick();
      else this.options.onIdle?.();
    });
  }

  /** Resolves when the drain in progress (and any it triggered) has finished. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Takes batches again after stop(). */
  resume(): void {
    this.stopped = false;
    this.kick();
  }

  /** Finishes the batch in progress and stops taking new ones. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
    await this.reclaiming;
  }

  private async drain(): Promise<void> {
    await this.letBatchFill();
    let retryMs = RETRY_FIRST_MS;
    while (!this.stopped) {
      let result;
      try {
        result = await this.store.digestBatch(this.options.batchSize, this.options.digestRows, issueLifecycle, this.options.held);
      } catch (err) {
        // Only the database failing gets here (a row that fails alone is quarantined by the store):
        // the batch rolled back and stays in the spool. Wait, longer each time, rather than spin.
        retryMs = await this.backOff(err as Error, retryMs);
        continue;
      }
      if (result.payloadsRead) this.options.onPayloadsRead?.(result.payloadsRead);
      if (result.rows === 0 && !result.deferred) {
        this.reclaimSpool(true);
        return this.foldCounts(true);
      }
      if (result.rows === 0) {
        // Only rows of this process's flushes still on their way to the thread: they are handed over within a moment.
        await this.letBatchFill();
        continue;
      }
      this.fold.owe();
      this.reclaim.owe();
      this.spool.digested(result.rows);
      this.digestedTotal += result.rows;
      if (result.quarantined.length) this.reportQuarantined(result.quarantined);
      if (result.changes.length) this.options.onChanges?.(result.changes);
      // The database failed part-way through: what was done is reported above, the rest waits.
      if (result.interrupted) {
        retryMs = await this.backOff(result.interrupted, retryMs);
        continue;
      }
      retryMs = RETRY_FIRST_MS;
      this.reclaimSpool(false);
      await this.foldCounts(false);
      await this.letBatchFill();
    }
  }

  /**
   * Folds the status deltas after digested batches: at the end of a drain, else at most once per
   * FOLD_EVERY_MS. In its own short transaction, after the batch committed, so a batch never holds
   * the totals. A failure is logged and left for the next fold; the counts stay exact meanwhile.
   */
  private async foldCounts(drained: boolean): Promise<void> {
    if (!this.fold.take(drained)) return;
    try {
      await this.store.compactIssueStatusCounts();
    } catch (err) {
      this.fold.owe();
      this.options.logger.warn({ err }, 'folding the issue status deltas failed; the counts stay exact, the next batch tries again');
      this.options.onFoldFailed?.(err as Error);
    }
  }

  /**
   * Has the store reclaim the space of the spool rows digested since the last time: at the end of
   * a drain, else at most once per RECLAIM_EVERY_MS. Not awaited: the batches go on meanwhile (on
   * PostgreSQL the VACUUM holds one of the digest's connections, the batches take the other), one
   * reclaim at a time. A failure is logged and counted; the next batch tries again, and the rows
   * are safe either way (only their space waits).
   */
  private reclaimSpool(drained: boolean): void {
    if (this.reclaiming || !this.reclaim.take(drained)) return;
    this.reclaiming = Promise.resolve()
      .then(() => this.store.reclaimSpoolSpace())
      .catch((err: Error) => {
        this.reclaim.owe();
        this.options.logger.warn({ err }, "reclaiming the digested spool rows' space failed; the rows are safe, the next batch tries again");
        this.options.onReclaimFailed?.(err);
      })
      .finally(() => (this.reclaiming = null));
  }

  /** A failed batch: logged, told to the caller (which counts it), then a wait that doubles up to RETRY_MAX_MS. */
  private async backOff(err: Error, retryMs: number): Promise<number> {
    this.options.logger.error({ err, retryInMs: retryMs }, 'digest batch failed; the rows stay in the spool and are tried again');
    this.options.onBatchFailed?.(err, retryMs);
    await (this.options.wait ?? sleep)(retryMs);
    return Math.min(RETRY_MAX_MS, retryMs * 2);
  }

  private reportQuarantined(rows: QuarantinedRow[]): void {
    for (const row of rows) {
      this.options.logger.error(
        { spoolId: row.spoolId, projectId: row.projectId, kind: row.kind, eventId: row.eventId, error: row.error },
        'a spooled row could not be stored and was quarantined (kept in digest_quarantine); the rows behind it were digested',
      );
    }
    this.options.onQuarantined?.(rows);
  }

  /** Yields to ingestion; waits a little longer when less than a full batch is waiting. */
  private async letBatchFill(): Promise<void> {
    if (this.spool.backlog >= this.options.batchSize) return new Promise((r) => setImmediate(r));
    await (this.options.pause ?? sleep)(this.options.coalesceMs);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

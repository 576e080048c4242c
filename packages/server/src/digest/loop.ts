import type { Logger } from 'pino';
import type { IssueChange } from '../store/model.js';
import type { DigestedRow, SpoolRow, Store } from '../store/store.js';
import { issueLifecycle } from './lifecycle.js';

/** How many undigested rows wait: the loop reads it to size its pauses and tells it what it took. */
export interface BacklogCounter {
  readonly backlog: number;
  digested(rows: number): void;
}

export interface DigestLoopOptions {
  batchSize: number;
  digestRows: (rows: SpoolRow[]) => DigestedRow[];
  /** Told about every issue a batch touched (alert rules hook in here). */
  onChanges?: (changes: IssueChange[]) => void;
  /** Told when a drain ends with nothing left to take. */
  onIdle?: () => void;
  logger: Logger;
}

/**
 * How long the loop lets a partial batch fill before digesting it. A transaction costs about the
 * same for 1 row as for 100 (one WAL commit, each touched issue read and written once), so under
 * load waiting a few milliseconds multiplies throughput; an alert is late by at most this much.
 */
const COALESCE_MS = 15;

/**
 * Drains the spool in batches. It yields to the event loop between batches so ingestion keeps
 * answering while a backlog is digested.
 */
export class DigestLoop {
  private running: Promise<void> | null = null;
  private kickedWhileRunning = false;
  private stopped = false;
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
  }

  private async drain(): Promise<void> {
    await this.letBatchFill();
    while (!this.stopped) {
      let result;
      try {
        result = await this.store.digestBatch(this.options.batchSize, this.options.digestRows, issueLifecycle);
      } catch (err) {
        // The batch rolled back and stays in the spool; try again shortly rather than spin.
        this.options.logger.error({ err }, 'digest batch failed; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (result.rows === 0) return;
      this.spool.digested(result.rows);
      this.digestedTotal += result.rows;
      if (result.changes.length) this.options.onChanges?.(result.changes);
      await this.letBatchFill();
    }
  }

  /** Yields to ingestion; waits a little longer when less than a full batch is waiting. */
  private async letBatchFill(): Promise<void> {
    const full = this.spool.backlog >= this.options.batchSize;
    await new Promise((r) => (full ? setImmediate(r) : setTimeout(r, COALESCE_MS)));
  }
}

import type { Logger } from 'pino';
import type { Spool } from '../ingest/spool.js';
import type { IssueChange } from '../store/model.js';
import type { DigestedRow, SpoolRow, Store } from '../store/store.js';

export interface DigestLoopOptions {
  batchSize: number;
  digestRows: (rows: SpoolRow[]) => DigestedRow[];
  /** Told about every issue a batch touched (alert rules hook in here). */
  onChanges?: (changes: IssueChange[]) => void;
  logger: Logger;
}

/**
 * Drains the spool in batches. It yields to the event loop between batches so ingestion keeps
 * answering while a backlog is digested.
 */
export class DigestLoop {
  private running: Promise<void> | null = null;
  private stopped = false;
  digestedTotal = 0;

  constructor(
    private readonly store: Store,
    private readonly spool: Spool,
    private readonly options: DigestLoopOptions,
  ) {}

  /** Starts draining unless a drain is already under way. */
  kick(): void {
    if (this.stopped || this.running) return;
    this.running = this.drain().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when the spool is empty (or the loop was stopped). For tests and shutdown. */
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
    while (!this.stopped) {
      let result;
      try {
        result = await this.store.digestBatch(this.options.batchSize, this.options.digestRows);
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
      await new Promise((r) => setImmediate(r));
    }
  }
}

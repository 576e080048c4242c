import type { MessagePort } from 'node:worker_threads';
import type { Level } from 'pino';
import type { QuarantinedRow } from '../store/store.js';

/** What the main thread gives the digest thread at start. */
export interface DigestThreadData {
  databaseFile: string;
  /**
   * PostgreSQL, when the data lives there: the URL in clear (thread data stays in this process,
   * and a DatabaseUrl object cannot cross to a thread), to be wrapped again on the other side.
   */
  postgres?: { url: string; statementTimeoutMs: number };
  batchSize: number;
  /** How long a partial batch may fill (loop.ts COALESCE_MS, per store). */
  coalesceMs: number;
  logLevel: Level | 'silent';
  /**
   * The main thread's hand-off of committed spool rows (PostgreSQL): `HandedRows` messages on
   * `port` (a port of its own, so the thread can take them synchronously: held-rows.ts), and the
   * shared FlushWindow slot of the spool's flushes in flight.
   */
  handOff: { port: MessagePort; window: BigInt64Array };
}

export type ToDigestThread =
  /** Rows were spooled; `backlog` is the main thread's count of undigested rows. */
  | { type: 'kick'; backlog: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'close' };

export type FromDigestThread =
  | { type: 'ready' }
  /** lagsMs: per digested row, from its acceptance to this batch's commit. */
  | { type: 'digested'; rows: number; lagsMs: number[]; payloadsRead: number }
  /**
   * A batch committed changes to `issues` issues. Only a wake-up: the changes themselves are in
   * the durable feed (alert_changes) written in the batch's transaction, so nothing rides on this
   * message (a message in flight when the process dies is lost; the feed is not).
   */
  | { type: 'changed'; issues: number }
  | { type: 'rejected'; spoolId: number; projectId: number; error: string }
  /** Rows whose own transaction failed: kept in digest_quarantine, out of the spool. */
  | { type: 'quarantined'; rows: QuarantinedRow[] }
  /** A batch failed because the database did; its rows wait in the spool. */
  | { type: 'batchFailed'; error: string; retryInMs: number }
  /** Folding the status deltas failed (the counts stay exact; the next batch folds again). */
  | { type: 'foldFailed' }
  /** Reclaiming the digested spool rows' space failed (the rows are safe; the next batch tries again). */
  | { type: 'reclaimFailed' }
  /** A message from the main thread could not be handled. */
  | { type: 'failed'; what: string; error: string }
  | { type: 'idle' }
  | { type: 'paused' }
  | { type: 'closed' };

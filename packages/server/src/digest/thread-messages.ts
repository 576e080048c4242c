import type { Level } from 'pino';
import type { IssueChange } from '../store/model.js';

/** What the main thread gives the digest thread at start. */
export interface DigestThreadData {
  databaseFile: string;
  /**
   * PostgreSQL, when the data lives there: the URL in clear (thread data stays in this process,
   * and a DatabaseUrl object cannot cross to a thread), to be wrapped again on the other side.
   */
  postgres?: { url: string; statementTimeoutMs: number };
  batchSize: number;
  logLevel: Level | 'silent';
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
  | { type: 'digested'; rows: number; lagsMs: number[] }
  | { type: 'changes'; changes: IssueChange[] }
  | { type: 'rejected'; spoolId: number; projectId: number; error: string }
  | { type: 'idle' }
  | { type: 'paused' }
  | { type: 'closed' };

import Sqlite from 'better-sqlite3';
import { MAX_BATCH_BYTES } from '../digest-rows.js';
import { toSpoolRow, type SpoolDbRow } from '../rows.js';
import type { SpoolItemInput, SpoolRow } from '../store.js';
import { withStatementCache } from './statement-cache.js';

/**
 * The spool in a SQLite file of its own (`botpulse-spool.db` beside `botpulse.db`). SQLite has one
 * writer per file: with the spool in the main file, every group commit of the thread answering
 * HTTP queued behind the digest thread's event-writing transactions. In its own file, appends only
 * ever wait for the digest's short delete of the rows it finished.
 *
 * Exactly once still holds across the two files: the digest writes a batch's events (main file)
 * and then deletes its spool rows (this file); a crash in between leaves rows that are digested
 * again, and the `(project, event_id)` check in the digest drops them as duplicates.
 */
export class SpoolFile {
  private readonly db: Sqlite.Database;

  constructor(file: string) {
    this.db = withStatementCache(new Sqlite(file));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL'); // a committed append survives kill -9
    this.db.pragma('busy_timeout = 5000');
    // AUTOINCREMENT: ids are never reused, which the digest's "delete up to maxId" relies on.
    this.db.exec(`CREATE TABLE IF NOT EXISTS spool (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      project_id INTEGER NOT NULL,
      kind TEXT NOT NULL,
      event_id TEXT,
      received_at INTEGER NOT NULL,
      payload BLOB NOT NULL,
      meta TEXT
    )`);
  }

  append(items: SpoolItemInput[]): void {
    if (items.length === 0) return;
    const insert = this.db.prepare(
      'INSERT INTO spool (project_id, kind, event_id, received_at, payload, meta) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.db
      .transaction(() => {
        for (const item of items) {
          insert.run(item.projectId, item.kind, item.eventId, item.receivedAt, item.payload, item.meta ? JSON.stringify(item.meta) : null);
        }
      })
      .immediate();
  }

  count(): number {
    return Number(this.db.prepare('SELECT COUNT(*) FROM spool').pluck().get());
  }

  /**
   * The oldest rows: at most `limit`, and no more than about `maxBytes` of payload (always at least
   * one row), because the digest holds a whole batch parsed in memory at once. Ids are assigned
   * under the write lock and only grow, so every row with an id up to the last one returned was
   * committed, and read, by this call.
   */
  oldest(limit: number, maxBytes = MAX_BATCH_BYTES): SpoolRow[] {
    return (this.db
      .prepare(
        `SELECT id, project_id, kind, event_id, received_at, payload, meta FROM (
           SELECT *, SUM(length(payload)) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) AS running
           FROM (SELECT * FROM spool ORDER BY id LIMIT ?)
         ) WHERE running - length(payload) < ? ORDER BY id`,
      )
      .all(limit, maxBytes) as SpoolDbRow[]).map(toSpoolRow);
  }

  deleteUpTo(maxId: number): void {
    this.db.transaction(() => this.db.prepare('DELETE FROM spool WHERE id <= ?').run(maxId)).immediate();
  }

  close(): void {
    this.db.close();
  }
}

/** `…/botpulse.db` → `…/botpulse-spool.db`; an in-memory store gets an in-memory spool. */
export function spoolFileFor(databaseFile: string): string {
  return databaseFile === ':memory:' ? ':memory:' : databaseFile.replace(/(\.db)?$/, '-spool.db');
}

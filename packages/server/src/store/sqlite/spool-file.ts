import Sqlite from 'better-sqlite3';
import type { Selectable } from 'kysely';
import type { Database } from '../schema.js';
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
/**
 * Payload bytes per digest batch: about 400 events of 5 KB, 40 of 50 KB. A parsed event takes
 * several times its JSON size, so this bounds the digest thread's memory. Measured at 50 KB and 64
 * requests in flight: peak RSS 376 MB with no byte bound, 304 MB at 4 MiB, 243 MB at 2 MiB, and
 * throughput rose with each step (smaller batches stay in the CPU caches and the young heap).
 */
const MAX_BATCH_BYTES = 2 * 1024 * 1024;

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

/**
 * A spool row as better-sqlite3 returns it: the spool file's table has the columns of the
 * schema's `spool`/`raw_items` tables, so the schema's type describes it.
 */
export type SpoolDbRow = Selectable<Database['raw_items']>;

export function toSpoolRow(r: SpoolDbRow): SpoolRow {
  return {
    id: Number(r.id),
    projectId: Number(r.project_id),
    kind: r.kind,
    eventId: r.event_id,
    receivedAt: Number(r.received_at),
    payload: r.payload,
    ...(r.meta ? { meta: JSON.parse(r.meta) as Record<string, unknown> } : {}),
  };
}

/** `…/botpulse.db` → `…/botpulse-spool.db`; an in-memory store gets an in-memory spool. */
export function spoolFileFor(databaseFile: string): string {
  return databaseFile === ':memory:' ? ':memory:' : databaseFile.replace(/(\.db)?$/, '-spool.db');
}

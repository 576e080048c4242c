import type Sqlite from 'better-sqlite3';
import type { IssueChange } from '../model.js';
import type { DigestBatchResult, DigestedRow, QuarantinedRow, SpoolRow } from '../store.js';
import type { SpoolFile } from './spool-file.js';

/**
 * SQLite result codes that say the database failed, not the row: busy, full, I/O, read-only,
 * corrupt... The batch then stays in the spool and is tried again whole; quarantining rows for
 * such an error would empty the spool into the quarantine while the disk is full.
 */
const DATABASE_FAULT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM|PROTOCOL|CORRUPT|NOTADB|INTERRUPT|PERM|AUTH|NOLFS|SCHEMA)/;

/** What the store runs per transaction: the writes of some rows, returning their issue changes. */
export type ApplyWrites = (writes: DigestedRow[]) => IssueChange[];

/**
 * A digest batch's transactions. The batch is one transaction; when it fails because of a row
 * (a constraint, a value SQLite cannot bind: anything but a database fault) the rows are applied
 * one per transaction, in spool order, and a row whose own transaction fails is quarantined:
 * stored as spooled, with the error, in `digest_quarantine`, and removed from the spool. So one
 * poison row never holds the rows behind it, and is never dropped either.
 */
export class DigestBatches {
  constructor(
    private readonly db: Sqlite.Database,
    private readonly spool: SpoolFile,
  ) {}

  /** `apply` runs one transaction over the writes it is given. */
  run(rows: SpoolRow[], writes: DigestedRow[], apply: ApplyWrites): DigestBatchResult {
    let changes: IssueChange[];
    try {
      changes = apply(writes);
    } catch (err) {
      if (this.isDatabaseFault(err)) throw err;
      return this.oneByOne(rows, writes, apply);
    }
    // Second file, second transaction: a crash before it re-digests rows whose events are stored
    // already, and the digest drops those as duplicates.
    this.spool.deleteUpTo(rows[rows.length - 1]!.id);
    return { rows: rows.length, changes, quarantined: [] };
  }

  /**
   * Each row in its own transaction. A database fault stops the walk: the rows done so far leave
   * the spool and are reported; if none was done the fault is thrown, so the caller waits and tries
   * the batch again (and counts it).
   */
  private oneByOne(rows: SpoolRow[], writes: DigestedRow[], apply: ApplyWrites): DigestBatchResult {
    const bySpoolId = new Map<number, DigestedRow[]>();
    for (const w of writes) bySpoolId.set(w.spoolId, [...(bySpoolId.get(w.spoolId) ?? []), w]);
    const result: DigestBatchResult = { rows: 0, changes: [], quarantined: [] };
    try {
      for (const row of rows) {
        try {
          result.changes.push(...apply(bySpoolId.get(row.id) ?? []));
        } catch (err) {
          if (this.isDatabaseFault(err)) throw err;
          result.quarantined.push(this.quarantine(row, err));
        }
        result.rows += 1;
      }
    } catch (err) {
      if (result.rows === 0) throw err;
      result.interrupted = err as Error;
    } finally {
      if (result.rows > 0) this.spool.deleteUpTo(rows[result.rows - 1]!.id);
    }
    return result;
  }

  private quarantine(row: SpoolRow, err: unknown): QuarantinedRow {
    const error = describe(err);
    const at = Date.now();
    // Prepared here, not in the constructor: the table exists only once migrations ran (cached per connection).
    this.db
      .prepare(
        `INSERT INTO digest_quarantine (spool_id, project_id, kind, event_id, received_at, payload, meta, error, quarantined_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (spool_id, received_at) DO NOTHING`,
      )
      .run(row.id, row.projectId, row.kind, row.eventId, row.receivedAt, row.payload, row.meta ? JSON.stringify(row.meta) : null, error, at);
    return { spoolId: row.id, projectId: row.projectId, kind: row.kind, eventId: row.eventId, error, quarantinedAt: at };
  }

  private isDatabaseFault(err: unknown): boolean {
    if (!this.db.open) return true; // closing: nothing is the row's fault
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && DATABASE_FAULT.test(code);
  }
}

/** The error as one line; SQLite and bind errors name columns and types, never values. */
function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}${(err as { code?: unknown }).code ? ` ${String((err as { code?: unknown }).code)}` : ''}: ${err.message}` : String(err);
  return text.slice(0, 500);
}

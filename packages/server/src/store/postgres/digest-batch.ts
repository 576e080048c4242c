import { sql } from 'kysely';
import { isDatabaseUnavailable } from '../../lib/errors.js';
import type { IssueChange } from '../model.js';
import type { DigestBatchResult, DigestedRow, IssueLifecycle, QuarantinedRow, SpoolRow } from '../store.js';
import { applyDigest } from './digest-writer.js';
import { one, type Db } from './query.js';

/**
 * SQLSTATE classes that are a row's fault, not the database's: data exceptions (22: a value
 * PostgreSQL cannot take, e.g. a NUL byte in text), integrity constraints (23) and program limits
 * (54: a value too large). Anything else (connection, resources, deadlock, a bug in our SQL) keeps
 * the batch in the spool to be tried again whole: quarantining rows for the database's fault would
 * empty the spool into the quarantine while, say, the disk is full.
 */
const ROW_FAULT_CLASSES = new Set(['22', '23', '54']);

export function isDatabaseFault(err: unknown): boolean {
  if (isDatabaseUnavailable(err)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return !ROW_FAULT_CLASSES.has(code.slice(0, 2));
  return false; // our own code failing on a value (a TypeError): the row's
}

/**
 * The PostgreSQL side of docs/architecture.md "Failure paths (audit)", digest: a batch that failed
 * because of a row is applied one row per transaction, each row taken again with
 * `FOR UPDATE SKIP LOCKED` (another process may have taken it since the batch rolled back: then it
 * is that process's), and a row whose own transaction fails is moved, as spooled and with its
 * error, to `digest_quarantine` and out of the spool. A database fault stops the walk: the rows
 * done so far are reported; if none was done the fault is thrown and the batch waits in the spool.
 */
export async function digestOneByOne(db: Db, rows: SpoolRow[], writes: DigestedRow[], lifecycle: IssueLifecycle): Promise<DigestBatchResult> {
  const bySpoolId = new Map<number, DigestedRow[]>();
  for (const w of writes) bySpoolId.set(w.spoolId, [...(bySpoolId.get(w.spoolId) ?? []), w]);
  const result: DigestBatchResult = { rows: 0, changes: [], quarantined: [] };
  try {
    for (const row of rows) {
      let changes: IssueChange[] | null;
      try {
        changes = await db.transaction().execute(async (trx) => {
          if (!(await takeRow(trx, row.id))) return null;
          return applyDigest(trx, bySpoolId.get(row.id) ?? [], Date.now(), lifecycle, [row.id]);
        });
      } catch (err) {
        if (isDatabaseFault(err)) throw err;
        const quarantined = await quarantine(db, row, err);
        if (quarantined) (result.quarantined.push(quarantined), (result.rows += 1));
        continue;
      }
      if (changes) (result.changes.push(...changes), (result.rows += 1));
    }
  } catch (err) {
    if (result.rows === 0) throw err;
    result.interrupted = err as Error;
  }
  return result;
}

/** Locks one spool row for this transaction; false when it is gone or another process holds it. */
async function takeRow(trx: Db, id: number): Promise<boolean> {
  return (await one<{ id: number }>(trx, sql`SELECT id FROM spool WHERE id = ${id} FOR UPDATE SKIP LOCKED`)) !== undefined;
}

async function quarantine(db: Db, row: SpoolRow, err: unknown): Promise<QuarantinedRow | null> {
  const error = describe(err);
  const at = Date.now();
  const moved = await db.transaction().execute(async (trx) => {
    if (!(await takeRow(trx, row.id))) return false;
    await sql`INSERT INTO digest_quarantine (spool_id, project_id, kind, event_id, received_at, payload, meta, error, quarantined_at)
              VALUES (${row.id}, ${row.projectId}, ${row.kind}, ${row.eventId}, ${row.receivedAt}, ${row.payload}, ${row.meta ? JSON.stringify(row.meta) : null}, ${error}, ${at})
              ON CONFLICT (spool_id, received_at) DO NOTHING`.execute(trx);
    await sql`DELETE FROM spool WHERE id = ${row.id}`.execute(trx);
    return true;
  });
  return moved ? { spoolId: row.id, projectId: row.projectId, kind: row.kind, eventId: row.eventId, error, quarantinedAt: at } : null;
}

/** The error as one line: PostgreSQL names the constraint or the type, our code the failure; never the values. */
function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const text = err instanceof Error ? `${err.name}${typeof code === 'string' ? ` ${code}` : ''}: ${err.message}` : String(err);
  return text.slice(0, 500);
}

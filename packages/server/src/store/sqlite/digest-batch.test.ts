import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Sqlite from 'better-sqlite3';
import type { DigestedRow, SpoolRow } from '../store.js';
import { DigestBatches } from './digest-batch.js';
import type { SpoolFile } from './spool-file.js';

const row = (id: number): SpoolRow => ({ id, projectId: 1, kind: 'event', eventId: `e${id}`, receivedAt: id, payload: Buffer.from('{}'), meta: null }) as SpoolRow;
const write = (spoolId: number): DigestedRow => ({ kind: 'rejected', spoolId, projectId: 1, reason: 'test' });

describe('DigestBatches', () => {
  it('reports a database fault that stops the row-by-row walk after some rows, with the rows done', () => {
    const deleted: number[] = [];
    const batches = new DigestBatches({ open: true } as unknown as Sqlite.Database, { deleteUpTo: (id: number) => void deleted.push(id) } as unknown as SpoolFile);
    const rows = [row(1), row(2), row(3)];
    const result = batches.run(rows, rows.map((r) => write(r.id)), (writes) => {
      if (writes.length > 1) throw new TypeError('a row the database cannot take'); // the batch: some row's fault
      if (writes[0]!.spoolId === 2) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }); // then the disk fails
      return [];
    });
    assert.equal(result.rows, 1, 'row 1 was done');
    assert.deepEqual(deleted, [1], 'only row 1 left the spool');
    assert.equal(result.quarantined.length, 0, 'no row quarantined for the database\u2019s fault');
    assert.match(String(result.interrupted), /disk I\/O error/, 'the fault is reported, not swallowed');
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SpoolFile, spoolFileFor } from './spool-file.js';

const MiB = 1024 * 1024;
const item = (bytes: number, eventId: string) => ({ projectId: 1, kind: 'event', eventId, receivedAt: Date.now(), payload: Buffer.alloc(bytes, 120) });

describe('SpoolFile', () => {
  it('lives beside the main database file', () => {
    assert.equal(spoolFileFor('/data/botpulse.db'), '/data/botpulse-spool.db');
  });

  it('hands out the oldest rows in id order, bounded by count and by payload bytes, never empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-spoolfile-'));
    const spool = new SpoolFile(join(dir, 'botpulse-spool.db'));
    try {
      spool.append([item(MiB, 'a'), item(MiB, 'b'), item(MiB, 'c'), item(10, 'd')]);
      assert.deepEqual(spool.oldest(10, 2 * MiB).map((r) => r.eventId), ['a', 'b']);
      assert.deepEqual(spool.oldest(1, 2 * MiB).map((r) => r.eventId), ['a']);
      assert.deepEqual(spool.oldest(10, 10).map((r) => r.eventId), ['a'], 'one oversized row still comes alone');
      const [first] = spool.oldest(10, 2 * MiB);
      spool.deleteUpTo(first!.id + 1);
      assert.deepEqual(spool.oldest(10, 2 * MiB).map((r) => r.eventId), ['c', 'd']);
      assert.equal(spool.count(), 2);
    } finally {
      spool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PROJECT_DATA } from '../admin-queries.js';
import { SqliteStore } from './index.js';

describe('project deletion covers every table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-tables-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names each table with a project_id, issue_id or monitor_id column (a new table must be added to PROJECT_DATA)', async () => {
    const store = await SqliteStore.open(join(dir, 'botpulse.db'));
    try {
      const tables = store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
      const keyed = tables.filter((t) =>
        (store.db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(t) as string[]).some((c) => ['project_id', 'issue_id', 'monitor_id'].includes(c)),
      );
      assert.deepEqual(PROJECT_DATA.map((d) => d.table).sort(), keyed.sort());
    } finally {
      await store.close();
    }
  });
});

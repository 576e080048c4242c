import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CHUNKED_BY_PROJECT, DELETED_OTHERWISE, WHOLE_BY_PROJECT } from './project-deletion.js';
import { SqliteStore } from './sqlite/index.js';

describe('project deletion', () => {
  it('covers every table that holds a project_id (a table added later cannot keep a deleted project\'s rows)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-deletion-'));
    const store = await SqliteStore.open(join(dir, 'botpulse.db'));
    try {
      const { db } = store;
      const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((r) => r.name);
      const keyed = tables.filter((t) => (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(t) as { name: string }[]).some((c) => c.name === 'project_id'));
      const covered = new Set([...CHUNKED_BY_PROJECT, ...WHOLE_BY_PROJECT, ...DELETED_OTHERWISE]);
      assert.deepEqual(keyed.filter((t) => !covered.has(t)).sort(), [], 'tables with a project_id the deletion leaves behind');
      assert.deepEqual([...covered].filter((t) => !keyed.includes(t)).sort(), [], 'listed tables that do not exist or hold no project_id');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

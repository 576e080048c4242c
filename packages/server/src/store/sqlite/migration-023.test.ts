import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Migrator, sql, type Migration } from 'kysely';
import { migrations } from '../migrations/index.js';
import { SqliteStore } from './index.js';
import { SqliteLogStore } from './logs.js';

describe('migration 023 (the log index fed per batch) on SQLite', () => {
  it('keeps the lines already indexed searchable, indexes new lines through appendLines, and drops deleted ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-m023-'));
    try {
      const store = await SqliteStore.open(join(dir, 'botpulse.db'), { migrate: false });
      const migrator = new Migrator({ db: store.kysely, provider: { getMigrations: async (): Promise<Record<string, Migration>> => migrations } });
      assert.equal((await migrator.migrateTo('020_issue_text_index')).error, undefined);
      const db = store.kysely;
      await sql`INSERT INTO log_lines (project_id, time, received_at, level, severity, message, fields, source)
                VALUES (1, 0, 0, 'error', 17, 'Database connection lost', '{}', 'ndjson')`.execute(db);
      await store.migrate();
      const logs = new SqliteLogStore(store.db);
      const found = async (text: string) => (await logs.searchLines({ projectId: 1, text })).map((l) => l.message);
      assert.deepEqual(await found('connection'), ['Database connection lost'], 'a line stored before the migration is still found');
      const line = { projectId: 1, time: 1, receivedAt: 1, level: 'info' as const, logger: null, fields: {}, environment: null, release: null, source: 'ndjson' as const };
      await logs.appendLines([{ ...line, message: 'Queue full again', lineId: 'a' }, { ...line, message: 'Queue drained', lineId: 'b' }]);
      await logs.appendLines([{ ...line, message: 'Queue full again', lineId: 'a' }, { ...line, message: 'Queue empty', lineId: 'c' }]);
      assert.deepEqual(await found('queue'), ['Queue empty', 'Queue drained', 'Queue full again'], 'appended lines are indexed once each, a duplicate not at all');
      assert.equal(await logs.pruneLines(Number.MAX_SAFE_INTEGER), 4);
      assert.deepEqual(await found('queue'), [], 'a deleted line leaves the index');
      const integrity = await sql`INSERT INTO log_lines_fts (log_lines_fts, rank) VALUES ('integrity-check', 1)`.execute(db).then(() => 'ok', (e: Error) => e.message);
      assert.equal(integrity, 'ok', 'the index matches the table');
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

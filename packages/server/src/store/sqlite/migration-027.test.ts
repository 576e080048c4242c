import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Migrator, sql, type Migration } from 'kysely';
import { migrations } from '../migrations/index.js';
import { SqliteStore } from './index.js';

describe('migration 027 (issue status counters) on SQLite', () => {
  it('counts the issues already there, and its triggers follow inserts, status and project changes and deletes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-m027-'));
    try {
      const store = await SqliteStore.open(join(dir, 'botpulse.db'), { migrate: false });
      const migrator = new Migrator({ db: store.kysely, provider: { getMigrations: async (): Promise<Record<string, Migration>> => migrations } });
      assert.equal((await migrator.migrateTo('026_postgres_hot_issue_rows')).error, undefined);
      const db = store.kysely;
      for (const p of [1, 2]) {
        await sql`INSERT INTO projects (id, slug, name, public_key, short_id_prefix, next_short_id, created_at) VALUES (${p}, ${`p${p}`}, 'P', ${String(p).repeat(32)}, 'P', 9, 0)`.execute(db);
      }
      const addIssue = (id: number, projectId: number, status: string) =>
        sql`INSERT INTO issues (id, project_id, short_number, grouping_version, fingerprint, title, level, status, first_seen, last_seen)
            VALUES (${id}, ${projectId}, ${id}, 1, ${`fp-${id}`}, 'boom', 'error', ${status}, 0, 0)`.execute(db);
      await addIssue(1, 1, 'new');
      await addIssue(2, 1, 'resolved');
      await addIssue(3, 2, 'new');
      await store.migrate();
      const none = { new: 0, in_progress: 0, resolved: 0, ignored: 0 };
      assert.deepEqual(await store.issueStatusCounts(1), { ...none, new: 1, resolved: 1 }, 'existing issues are counted by the migration');
      assert.deepEqual(await store.issueStatusCounts(), { ...none, new: 2, resolved: 1 });
      await addIssue(4, 1, 'new');
      await sql`UPDATE issues SET status = 'ignored' WHERE id = 1`.execute(db);
      await sql`UPDATE issues SET status = 'resolved', event_count = 5 WHERE id = 2`.execute(db); // status unchanged
      await sql`UPDATE issues SET project_id = 2 WHERE id = 4`.execute(db);
      assert.deepEqual(await store.issueStatusCounts(1), { ...none, resolved: 1, ignored: 1 });
      assert.deepEqual(await store.issueStatusCounts(2), { ...none, new: 2 });
      await sql`DELETE FROM issues WHERE id IN (2, 3)`.execute(db);
      assert.deepEqual(await store.issueStatusCounts(), { ...none, new: 1, ignored: 1 });
      const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM issue_status_counts WHERE slot <> 0`.execute(db);
      assert.equal(Number(rows[0]!.n), 0, 'one writer: one slot');
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

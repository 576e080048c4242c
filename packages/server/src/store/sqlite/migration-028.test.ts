import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Migrator, sql, type Migration } from 'kysely';
import { migrations } from '../migrations/index.js';
import { SqliteStore } from './index.js';

describe('migration 028 (events per issue per day) on SQLite', () => {
  it('backfills the days from the hourly counts, and its trigger counts new events per day beside the hourly one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-m028-'));
    try {
      const store = await SqliteStore.open(join(dir, 'botpulse.db'), { migrate: false });
      const migrator = new Migrator({ db: store.kysely, provider: { getMigrations: async (): Promise<Record<string, Migration>> => migrations } });
      assert.equal((await migrator.migrateTo('027_issue_status_counts')).error, undefined);
      const db = store.kysely;
      await sql`INSERT INTO projects (id, slug, name, public_key, short_id_prefix, next_short_id, created_at) VALUES (1, 'p1', 'P', ${'1'.repeat(32)}, 'P', 9, 0)`.execute(db);
      await sql`INSERT INTO issues (id, project_id, short_number, grouping_version, fingerprint, title, level, status, first_seen, last_seen)
                VALUES (1, 1, 1, 1, 'fp', 'boom', 'error', 'new', 0, 0)`.execute(db);
      const event = (n: number, timestamp: number) =>
        sql`INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, title, payload) VALUES (1, 1, ${`e${n}`}, ${timestamp}, 0, 'error', 't', x'00')`.execute(db);
      const day = 86_400_000;
      await event(1, 5);
      await event(2, day - 1);
      await event(3, day);
      await store.migrate();
      const days = async () => (await sql<{ day: number; count: number }>`SELECT day, count FROM issue_daily ORDER BY day`.execute(db)).rows;
      assert.deepEqual(await days(), [{ day: 0, count: 2 }, { day: 1, count: 1 }], 'backfilled from issue_hourly');
      await event(4, day + 7);
      await event(5, 3 * day);
      assert.deepEqual(await days(), [{ day: 0, count: 2 }, { day: 1, count: 2 }, { day: 3, count: 1 }]);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

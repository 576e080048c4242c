import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Migrator, type Migration } from 'kysely';
import { migrations } from '../migrations/index.js';
import { SqliteStore } from './index.js';

describe('migration 008', () => {
  it('folds item_counts rows of invented type names into "unknown", keeping Sentry types and Botpulse counters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-m008-'));
    try {
      const store = await SqliteStore.open(join(dir, 'botpulse.db'), { migrate: false });
      const migrator = new Migrator({ db: store.kysely, provider: { getMigrations: async (): Promise<Record<string, Migration>> => migrations } });
      const toBefore = await migrator.migrateTo('006_monitor_outbox');
      assert.equal(toBefore.error, undefined);
      const rows = [
        [1, 'session', 3], [1, 'client_report', 2], [1, 'attachment_over_limit', 1], [1, 'duplicate_event', 4],
        [1, 'rejected:undigestible', 5], [1, 'x'.repeat(1000), 7], [1, 'brand_new_type', 2], [1, 'bot123:AAH-secret-type', 1],
        [2, 'made-up', 6], [2, 'span', 9],
      ] as const;
      for (const [project, kind, count] of rows) {
        await store.kysely.insertInto('item_counts').values({ project_id: project, kind, count }).execute();
      }
      await store.migrate();
      const after = await store.kysely.selectFrom('item_counts').selectAll().orderBy('project_id').orderBy('kind').execute();
      assert.deepEqual(
        after.map((r) => [r.project_id, r.kind, Number(r.count)]),
        [
          [1, 'attachment_over_limit', 1], [1, 'client_report', 2], [1, 'duplicate_event', 4], [1, 'rejected:undigestible', 5],
          [1, 'session', 3], [1, 'unknown', 10],
          [2, 'span', 9], [2, 'unknown', 6],
        ],
      );
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

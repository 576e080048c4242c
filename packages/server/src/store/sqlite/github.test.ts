import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { githubStoreContract } from '../github.contract.js';
import { SqliteGithubStore } from './github.js';
import { SqliteStore } from './index.js';

githubStoreContract('SQLite (two connections to one WAL file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-github-'));
  const first = await SqliteStore.open(join(dir, 'botpulse.db'));
  const second = await SqliteStore.open(join(dir, 'botpulse.db'));
  return {
    a: new SqliteGithubStore(first.db),
    b: new SqliteGithubStore(second.db),
    store: first,
    addIssue: async (projectId, f) =>
      Number(
        first.db
          .prepare(`INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, level, first_seen, last_seen, event_count) VALUES (?, ?, 1, ?, 'Boom', 'error', 1, ?, ?)`)
          .run(projectId, f.shortNumber, `fp-${f.shortNumber}`, f.lastSeen, f.eventCount).lastInsertRowid,
      ),
    cleanup: async () => {
      await first.close();
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

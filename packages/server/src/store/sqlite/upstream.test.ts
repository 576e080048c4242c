import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueLifecycle } from '../../digest/lifecycle.js';
import { upstreamStoreContract } from '../upstream.contract.js';
import { SqliteStore } from './index.js';
import { SqliteUpstreamStore } from './upstream.js';

upstreamStoreContract(
  'SQLite (two connections to one WAL file)',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-upstream-store-'));
    const first = await SqliteStore.open(join(dir, 'botpulse.db'));
    const second = await SqliteStore.open(join(dir, 'botpulse.db'));
    return {
      store: first,
      a: new SqliteUpstreamStore(first.db),
      b: new SqliteUpstreamStore(second.db),
      cleanup: async () => {
        await first.close();
        await second.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  issueLifecycle,
);

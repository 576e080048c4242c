import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logStoreContract } from '../logs.contract.js';
import { SqliteStore } from './index.js';
import { SqliteLogStore } from './logs.js';
import { SqliteMonitorStore } from './monitors.js';

logStoreContract('SQLite (two connections to one WAL file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-log-store-'));
  const first = await SqliteStore.open(join(dir, 'botpulse.db'));
  const second = await SqliteStore.open(join(dir, 'botpulse.db'));
  return {
    store: first,
    a: new SqliteLogStore(first.db),
    b: new SqliteLogStore(second.db),
    monitors: new SqliteMonitorStore(first.db),
    cleanup: async () => {
      await first.close();
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

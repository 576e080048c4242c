import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorStoreContract } from '../monitors.contract.js';
import { SqliteStore } from './index.js';
import { SqliteMonitorStore } from './monitors.js';

monitorStoreContract('SQLite (two connections to one WAL file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-monitors-store-'));
  const first = await SqliteStore.open(join(dir, 'botpulse.db'));
  const second = await SqliteStore.open(join(dir, 'botpulse.db'));
  return {
    store: first,
    a: new SqliteMonitorStore(first.db),
    b: new SqliteMonitorStore(second.db),
    cleanup: async () => {
      await first.close();
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

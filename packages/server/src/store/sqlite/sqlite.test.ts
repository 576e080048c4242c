import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../store.contract.js';
import { managementContract } from '../management.contract.js';
import { SqliteStore } from './index.js';
import { issueLifecycle } from '../../digest/lifecycle.js';

storeContract('SQLite (a real file in WAL mode)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-store-'));
  const store = await SqliteStore.open(join(dir, 'botpulse.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}, issueLifecycle);

managementContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-mgmt-'));
  const store = await SqliteStore.open(join(dir, 'botpulse.db'));
  return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
}, issueLifecycle);

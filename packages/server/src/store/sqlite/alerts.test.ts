import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { alertStoreContract } from '../alerts.contract.js';
import { SqliteAlertStore } from './alerts.js';
import { SqliteStore } from './index.js';

alertStoreContract('SQLite (two connections to one WAL file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-alerts-'));
  const first = await SqliteStore.open(join(dir, 'botpulse.db'));
  const second = await SqliteStore.open(join(dir, 'botpulse.db'));
  return {
    a: new SqliteAlertStore(first.db),
    b: new SqliteAlertStore(second.db),
    cleanup: async () => {
      await first.close();
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite outbox claim under real concurrency', () => {
  it('four worker threads on one file never claim a row twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-race-'));
    const file = join(dir, 'botpulse.db');
    const store = await SqliteStore.open(file);
    const alerts = new SqliteAlertStore(store.db);
    const rows = Array.from({ length: 400 }, (_, i) => ({
      projectId: i % 5,
      issueId: i,
      fingerprint: `issue:${i}`,
      channel: 'telegram' as const,
      target: String(i % 7),
      tier: 'alert' as const,
      reasons: ['new' as const],
      createdAt: 0,
      notBefore: 0,
    }));
    await alerts.decide('seed', () => ({ state: null, enqueue: rows, log: [] }));
    const workerUrl = new URL('../../alerts/test-support/claim-race-worker.ts', import.meta.url);
    // Node 20 loads a worker's entry before --import hooks apply: register tsx first, then load it.
    const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
    const workers = ['w1', 'w2', 'w3', 'w4'].map((worker) => new Worker(boot, { eval: true, workerData: { file, worker } }));
    const ready = workers.map((w) => new Promise((resolve, reject) => (w.once('message', resolve), w.once('error', reject))));
    await Promise.all(ready);
    const results = await Promise.all(
      workers.map((w) => {
        const done = new Promise<{ claimed: number[]; attempts: number }>((resolve, reject) => (w.once('message', resolve), w.once('error', reject)));
        w.postMessage('go');
        return done;
      }),
    );
    const all = results.flatMap((r) => r.claimed);
    assert.equal(new Set(all).size, all.length, 'no row claimed twice');
    assert.equal(all.length, 400, 'every row claimed');
    assert.ok(results.every((r) => r.attempts > 0), 'every worker raced for the rows');
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

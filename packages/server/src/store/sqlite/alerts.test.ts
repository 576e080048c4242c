import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { threadWorker } from '../../lib/thread-worker.js';
import { alertStoreContract } from '../alerts.contract.js';
import { SqliteAlertStore } from './alerts.js';
import { SqliteStore } from './index.js';
import { createRowDigester } from '../../digest/process.js';
import { issueLifecycle } from '../../digest/lifecycle.js';

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
    // The threads start as the server's do (tsx and NODE_OPTIONS preloads registered first).
    const workers = ['w1', 'w2', 'w3', 'w4'].map((worker) => threadWorker(workerUrl, { file, worker }));
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

describe('the alert change feed on SQLite', () => {
  it('is written by the digest in its batch transaction, and consumed once with its decisions by one of two racing connections', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-feed-'));
    const file = join(dir, 'botpulse.db');
    const first = await SqliteStore.open(file);
    const second = await SqliteStore.open(file);
    try {
      const project = await first.createProject({ name: 'Feed Bot', slug: 'feed', shortIdPrefix: 'F' });
      const spool = (names: string[]) =>
        first.appendToSpool(
          names.map((name) => {
            const eventId = randomUUID().replace(/-/g, '');
            const payload = { event_id: eventId, level: name.startsWith('fatal') ? 'fatal' : 'error', fingerprint: [name], message: name };
            return { projectId: project.id, kind: 'event', eventId, receivedAt: Date.now(), payload: Buffer.from(JSON.stringify(payload)) };
          }),
        );
      const digester = createRowDigester({});
      await spool(['one', 'two', 'one']);
      const { changes } = await first.digestBatch(100, digester, issueLifecycle);
      const a = new SqliteAlertStore(first.db);
      const b = new SqliteAlertStore(second.db);
      const feed = await b.pendingChanges(100);
      assert.deepEqual(
        feed.map((c) => [c.issueId, c.created, c.newEvents, c.status, c.level]),
        changes.map((c) => [c.issue.id, true, c.newEvents, 'new', 'error']),
        'one feed row per change of the batch, as the digest reported it',
      );
      assert.deepEqual(feed.map((c) => c.newEvents).sort(), [1, 2]);

      // A row whose write fails writes no change: its event and its change roll back together
      // (the row is quarantined, docs/architecture.md "Failure paths (audit)").
      await spool(['three']);
      const failed = await first.digestBatch(100, (rows) => digester(rows).map((r) => (r.kind === 'event' ? { ...r, projectId: -1, event: { ...r.event, title: undefined as unknown as string } } : r)), issueLifecycle);
      assert.equal(failed.quarantined.length, 1);
      assert.equal(await a.changeBacklog(), 2);

      // Two consumers race for the same changes: exactly one applies its decisions.
      const decision = (who: string) => ({
        fingerprint: `feed-test:${who}`,
        decide: () => ({ state: null, enqueue: [], log: [{ at: 1, projectId: project.id, issueId: null, fingerprint: `feed-test:${who}`, tier: 'alert' as const, reasons: ['new' as const], outcome: 'recorded' as const }] }),
      });
      const ids = feed.map((c) => c.id);
      const [x, y] = await Promise.all([a.consumeChanges(ids, [decision('a')]), b.consumeChanges(ids, [decision('b')])]);
      assert.equal([x, y].filter((r) => r !== null).length, 1, 'one consumer won');
      assert.equal((await a.recentLog({ projectId: project.id })).length, 1, 'only the winner\'s decision was written');
      assert.equal(await b.changeBacklog(), 0, 'consumed changes are gone (pruned with their consumption)');
      assert.equal(await a.consumeChanges([ids[0]!], [decision('late')]), null, 'a change is never consumed twice');
    } finally {
      await first.close();
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

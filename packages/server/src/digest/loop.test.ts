import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino, type Logger } from 'pino';
import { SqliteStore } from '../store/sqlite/index.js';
import { COALESCE_MS, DigestLoop } from './loop.js';
import { createRowDigester } from './process.js';

/** A SQLite store in a temporary directory of its own, for one test. */
async function withStore(label: string, test: (store: SqliteStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `botpulse-loop-${label}-`));
  const store = await SqliteStore.open(join(dir, 'botpulse.db'));
  try {
    await test(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Records each batch the store digests, as `batch <rows>`, in `steps`. */
function recordBatches(store: SqliteStore, steps: string[]): void {
  const digestBatch = store.digestBatch.bind(store);
  store.digestBatch = async (...args) => {
    const result = await digestBatch(...args);
    steps.push(`batch ${result.rows}`);
    return result;
  };
}

/** A silent logger that keeps the messages of its warnings. */
function warningsKept(): { logger: Logger; warned: string[] } {
  const warned: string[] = [];
  const logger = pino({ level: 'silent' });
  logger.warn = ((_: unknown, msg: string) => void warned.push(msg)) as typeof logger.warn;
  return { logger, warned };
}

describe('DigestLoop when the database fails', () => {
  let dir: string;
  let store: SqliteStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-loop-'));
    store = await SqliteStore.open(join(dir, 'botpulse.db'));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the batch in the spool (no row quarantined), waits longer after each failure, and digests it once the database recovers', async () => {
    const project = await store.createProject({ name: 'Loop', shortIdPrefix: 'L' });
    const ids = [1, 2, 3].map((n) => `${'a'.repeat(31)}${n}`);
    await store.appendToSpool(ids.map((eventId) => ({ projectId: project.id, kind: 'event', eventId, receivedAt: Date.now(), payload: Buffer.from(`{"message":"m ${eventId}"}`) })));
    // A real database fault: the connection refuses writes (SQLITE_READONLY), as a read-only mount would.
    store.db.pragma('query_only = ON');
    const failures: { error: string; retryInMs: number }[] = [];
    const waits: number[] = [];
    const quarantined: number[] = [];
    let backlog = ids.length;
    const loop = new DigestLoop(store, { get backlog() { return backlog; }, digested: (n) => void (backlog -= n) }, {
      batchSize: 100,
      digestRows: createRowDigester({}),
      onBatchFailed: (err, retryInMs) => failures.push({ error: err.message, retryInMs }),
      onQuarantined: (rows) => quarantined.push(...rows.map((r) => r.spoolId)),
      wait: async (ms) => {
        waits.push(ms);
        assert.equal(await store.spoolBacklog(), ids.length, 'the rows wait in the spool');
        if (waits.length === 3) store.db.pragma('query_only = OFF'); // the database recovers
      },
      logger: pino({ level: 'silent' }),
    });
    loop.kick();
    await loop.idle();

    assert.deepEqual(waits, [1000, 2000, 4000], 'backoff doubles');
    assert.equal(failures.length, 3);
    assert.match(failures[0]!.error, /readonly|read-only|query_only/i);
    assert.deepEqual(quarantined, [], 'a database fault is no row\'s fault');
    assert.equal((await store.quarantineSummary()).rows, 0);
    assert.equal(await store.spoolBacklog(), 0);
    for (const id of ids) assert.ok(await store.getEvent(project.id, id), `event ${id} stored`);
    assert.equal(loop.digestedTotal, ids.length);
  });

  it('a database fault part-way through a row-by-row walk is logged, counted and waited out like a failed batch, never passed over', async () => {
    const fault = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    const answers = [
      { rows: 2, changes: [], quarantined: [], interrupted: fault }, // two rows done, then the database failed
      { rows: 1, changes: [], quarantined: [] }, // the rest, once it recovered
      { rows: 0, changes: [], quarantined: [] },
    ];
    const fake = { digestBatch: async () => answers.shift()! } as unknown as SqliteStore;
    const failures: string[] = [];
    const waits: number[] = [];
    let backlog = 3;
    const loop = new DigestLoop(fake, { get backlog() { return backlog; }, digested: (n) => void (backlog -= n) }, {
      batchSize: 100,
      digestRows: createRowDigester({}),
      onBatchFailed: (err) => failures.push(err.message),
      wait: async (ms) => void waits.push(ms),
      logger: pino({ level: 'silent' }),
    });
    loop.kick();
    await loop.idle();
    assert.deepEqual(failures, ['disk I/O error'], 'counted by the caller (botpulse_digest_batch_failures_total)');
    assert.deepEqual(waits, [1000], 'backed off before trying the rest');
    assert.equal(loop.digestedTotal, 3);
  });
});

describe('DigestLoop and the status counters', () => {
  it('folds the status deltas after its batches, last once the drain ends; a failed fold is logged and tried again', async () => {
    await withStore('fold', async (store) => {
      const project = await store.createProject({ name: 'Fold', shortIdPrefix: 'F' });
      const ids = [1, 2, 3].map((n) => `${'b'.repeat(31)}${n}`);
      await store.appendToSpool(ids.map((eventId) => ({ projectId: project.id, kind: 'event', eventId, receivedAt: Date.now(), payload: Buffer.from(`{"message":"m ${eventId}"}`) })));
      const steps: string[] = [];
      recordBatches(store, steps);
      store.compactIssueStatusCounts = async () => {
        steps.push('fold');
        if (steps.filter((s) => s === 'fold').length === 1) throw new Error('fold failed');
        return 0;
      };
      const { logger, warned } = warningsKept();
      let backlog = ids.length;
      const foldFailures: string[] = [];
      const onFoldFailed = (err: Error) => void foldFailures.push(err.message);
      const loop = new DigestLoop(store, { get backlog() { return backlog; }, digested: (n) => void (backlog -= n) }, { batchSize: 1, digestRows: createRowDigester({}), logger, onFoldFailed });
      loop.kick();
      await loop.idle();
      assert.deepEqual(steps.slice(0, 2), ['batch 1', 'fold'], 'the first batch is folded at once');
      assert.deepEqual(steps.slice(-2), ['batch 0', 'fold'], 'the drain ends with a fold (the failed one tried again)');
      assert.equal(steps.filter((s) => s === 'batch 1').length, 3);
      assert.equal(warned.length, 1);
      assert.match(warned[0]!, /folding the issue status deltas failed/);
      assert.deepEqual(foldFailures, ['fold failed'], 'told to the caller, which counts it (botpulse_failures_total{site="issue_status_fold"})');
      assert.equal(await store.spoolBacklog(), 0);
    });
  });
});

describe('DigestLoop and the spool space', () => {
  it('has the store reclaim the digested rows\u2019 space once the drain ends; a failed reclaim is logged, told, and tried again after the next batch', async () => {
    await withStore('reclaim', async (store) => {
      const project = await store.createProject({ name: 'Reclaim', shortIdPrefix: 'R' });
      const append = (n: number) =>
        store.appendToSpool([{ projectId: project.id, kind: 'event', eventId: `${'c'.repeat(31)}${n}`, receivedAt: Date.now(), payload: Buffer.from(`{"message":"m ${n}"}`) }]);
      const steps: string[] = [];
      recordBatches(store, steps);
      let reclaims = 0;
      store.reclaimSpoolSpace = async () => {
        steps.push('reclaim');
        if (++reclaims === 1) throw new Error('vacuum failed');
      };
      const { logger, warned } = warningsKept();
      let backlog = 0;
      const reclaimFailures: string[] = [];
      const loop = new DigestLoop(store, { get backlog() { return backlog; }, digested: (n) => void (backlog -= n) }, {
        batchSize: 10,
        digestRows: createRowDigester({}),
        logger,
        onReclaimFailed: (err) => void reclaimFailures.push(err.message),
      });
      // Digests what was appended, then waits for the reclaim under way (stop), and takes batches again.
      const drain = async () => {
        loop.kick();
        await loop.idle();
        await loop.stop();
        loop.resume();
        await loop.idle();
        await loop.stop();
      };
      await append(1);
      backlog += 1;
      await drain();
      assert.deepEqual(steps.slice(0, 2), ['batch 1', 'reclaim'], 'the batch is reclaimed at once');
      assert.equal(reclaims, 2, `the failed reclaim is tried again when the drain ends: ${steps.join(', ')}`);
      assert.equal(warned.filter((m) => /reclaiming the digested spool rows/.test(m)).length, 1, 'the failure is logged');
      assert.deepEqual(reclaimFailures, ['vacuum failed'], 'told to the caller, which counts it (botpulse_failures_total{site="spool_reclaim"})');
      steps.length = 0;
      loop.resume();
      await drain();
      assert.ok(!steps.includes('reclaim'), `nothing digested since: nothing to reclaim (${steps.join(', ')})`);
      await append(2);
      backlog += 1;
      loop.resume();
      await drain();
      assert.equal(reclaims, 3, 'the next rows digested are reclaimed');
      assert.equal(await store.spoolBacklog(), 0);
    });
  });
});

describe('DigestLoop and partial batches', () => {
  it('lets a partial batch fill for the store\u2019s coalescing time before taking it, and takes a full one at once', async () => {
    await withStore('coalesce', async (store) => {
      const project = await store.createProject({ name: 'Coalesce', shortIdPrefix: 'C' });
      const append = (from: number, n: number) =>
        store.appendToSpool(Array.from({ length: n }, (_, i) => ({ projectId: project.id, kind: 'event', eventId: `${'d'.repeat(30)}${from + i}`, receivedAt: Date.now(), payload: Buffer.from(`{"message":"m ${i}"}`) })));
      const steps: string[] = [];
      recordBatches(store, steps);
      let backlog = 0;
      const loop = new DigestLoop(store, { get backlog() { return backlog; }, digested: (n) => void (backlog -= n) }, {
        batchSize: 4,
        coalesceMs: COALESCE_MS.postgres,
        digestRows: createRowDigester({}),
        logger: pino({ level: 'silent' }),
        pause: async (ms) => void steps.push(`pause ${ms}`),
      });
      await append(10, 2);
      backlog = 2;
      loop.kick();
      await loop.idle();
      assert.deepEqual(steps, ['pause 100', 'batch 2', 'pause 100', 'batch 0'], 'two rows of a batch of four wait 100 ms');
      steps.length = 0;
      await append(20, 9);
      backlog = 9;
      loop.kick();
      await loop.idle();
      assert.deepEqual(steps, ['batch 4', 'batch 4', 'pause 100', 'batch 1', 'pause 100', 'batch 0'], 'full batches go at once, the rest waits');
      await loop.stop();
      assert.equal(COALESCE_MS.sqlite, 15);
    });
  });
});

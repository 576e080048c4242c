import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { FlushWindow, HeldRows, packRows } from '../../digest/held-rows.js';
import { Spool } from '../../ingest/spool.js';
import { issueLifecycle } from '../../digest/lifecycle.js';
import { createRowDigester } from '../../digest/process.js';
import { sql } from 'kysely';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../../test-support/postgres.js';
import type { DigestedRow, SpoolItemInput, SpoolRow, Store } from '../store.js';
import { PostgresStore } from './index.js';

const skip = await postgresUnavailable();

/** Records what the digest was given (id → payload) and drops the rows as rejected. */
function recorder() {
  const seen: { id: number; eventId: string | null; payload: string }[] = [];
  const digest = (rows: SpoolRow[]): DigestedRow[] => {
    for (const r of rows) seen.push({ id: r.id, eventId: r.eventId, payload: r.payload.toString() });
    return rows.map((r) => ({ kind: 'rejected', spoolId: r.id, projectId: r.projectId, reason: 'test' }));
  };
  return { seen, digest };
}

const items = (projectId: number, prefix: string, n: number): SpoolItemInput[] =>
  Array.from({ length: n }, (_, i) => ({ projectId, kind: 'event', eventId: `${prefix}${i}`, receivedAt: i, payload: Buffer.from(JSON.stringify({ n: `${prefix}${i}` })) }));

/** Held rows as the digest thread gets them: packed by the main thread, unpacked on the other side. */
function held(rows: SpoolRow[] | void): HeldRows {
  const h = new HeldRows(1 << 20);
  h.add(packRows(rows ?? []));
  return h;
}

describe('the spool rows a process hands its own digest (PostgreSQL)', { skip }, () => {
  let schema: TestSchema;
  let a: PostgresStore;
  let b: PostgresStore;

  before(async () => {
    schema = await createTestSchema('heldrows');
    a = await PostgresStore.open(schema.options());
    b = await PostgresStore.open(schema.options(), { migrate: false });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await schema?.drop();
  });

  it('digests the rows it holds without reading their payloads back, and lets them go', async () => {
    const project = await a.createProject({ name: 'Held' });
    const appended = await a.appendToSpool(items(project.id, 'h', 5));
    assert.deepEqual(appended?.map((r) => r.eventId), ['h0', 'h1', 'h2', 'h3', 'h4'], 'the append returns its rows in order');
    const mine = held(appended);
    const { seen, digest } = recorder();
    const result = await a.digestBatch(100, digest, issueLifecycle, mine);
    assert.equal(result.rows, 5);
    assert.equal(result.payloadsRead, 0, 'no payload read from the database');
    assert.deepEqual(seen.map((s) => s.payload), ['h0', 'h1', 'h2', 'h3', 'h4'].map((n) => JSON.stringify({ n })));
    assert.equal(mine.size, 0, 'released after the commit');
    assert.equal(await a.spoolBacklog(), 0);
  });

  it('reads the payload of a claimed row it does not hold, or whose held copy does not match it', async () => {
    const project = await a.createProject({ name: 'Held partly' });
    const appended = (await a.appendToSpool(items(project.id, 'p', 3)))!;
    // Held: the first row as spooled; the second with another payload length (a mistake must not be stored); not the third.
    const mine = held([appended[0]!, { ...appended[1]!, payload: Buffer.from('{"n":"wrong!"}') }]);
    const { seen, digest } = recorder();
    const result = await a.digestBatch(100, digest, issueLifecycle, mine);
    assert.equal(result.payloadsRead, 2);
    assert.deepEqual(seen.map((s) => s.payload), ['p0', 'p1', 'p2'].map((n) => JSON.stringify({ n })));
  });

  it('a row accepted by process A and digested by process B after A died is digested once, with its payload', async () => {
    const project = await a.createProject({ name: 'Held, dead' });
    const dead = await PostgresStore.open(schema.options(), { migrate: false });
    const appended = (await dead.appendToSpool(items(project.id, 'd', 4)))!;
    const deadsMemory = held(appended); // held by A's digest thread, which dies with it before its batch
    await dead.close();
    assert.equal(deadsMemory.size, 4);
    const { seen, digest } = recorder();
    const result = await b.digestBatch(100, digest, issueLifecycle, held([]));
    assert.equal(result.rows, 4);
    assert.equal(result.payloadsRead, 4);
    assert.deepEqual(seen.map((s) => s.payload), ['d0', 'd1', 'd2', 'd3'].map((n) => JSON.stringify({ n })));
    assert.equal((await b.digestBatch(100, digest, issueLifecycle, held([]))).rows, 0, 'nothing left for a second time');
    assert.equal((await b.itemCounts(project.id))['rejected:test'], 4);
  });

  it('two processes digesting at once take every row exactly once, each reading only what it did not append', async () => {
    const project = await a.createProject({ name: 'Held, shared' });
    const fromA = (await a.appendToSpool(items(project.id, 'a', 30)))!;
    const fromB = (await b.appendToSpool(items(project.id, 'b', 30)))!;
    const heldA = held(fromA);
    const heldB = held(fromB);
    const { seen, digest } = recorder();
    const drain = async (store: PostgresStore, mine: HeldRows) => {
      let read = 0;
      for (;;) {
        const r = await store.digestBatch(7, digest, issueLifecycle, mine);
        read += r.payloadsRead ?? 0;
        if (r.rows === 0) return read;
      }
    };
    const [readA, readB] = await Promise.all([drain(a, heldA), drain(b, heldB)]);
    assert.equal(seen.length, 60, 'each row once');
    assert.equal(new Set(seen.map((s) => s.id)).size, 60);
    for (const s of seen) assert.equal(s.payload, JSON.stringify({ n: s.eventId }), 'each with its own payload');
    // Each process read back at most the rows the other appended.
    assert.ok(readA <= 30 && readB <= 30, `read back ${readA} and ${readB}`);
    assert.equal(await a.spoolBacklog(), 0);
  });

  it('a claim that lands after the commit and before the hand-off leaves the rows for the next batch instead of reading them back', async () => {
    const project = await a.createProject({ name: 'Held, in flight' });
    // The process as main.ts wires it: the spool hands committed rows over a port and says which flushes are in flight.
    const { port1, port2 } = new MessageChannel();
    const window = new FlushWindow();
    const mine = new HeldRows(1 << 20, { port: port2, window }); // no listener: only the digest's synchronous look takes them
    let committed!: () => void;
    const answered = new Promise<void>((resolve) => (committed = resolve));
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (release = resolve));
    // PostgreSQL has committed the rows; the main thread has not had the answer yet.
    const store = { appendToSpool: async (batch: SpoolItemInput[]) => { const rows = await a.appendToSpool(batch); committed(); await paused; return rows; } } as unknown as Store;
    const spool = new Spool(store, 1_000_000, 0, 2);
    spool.onCommitted = (rows) => { const packed = packRows(rows); port1.postMessage(packed, [packed.payloads]); };
    spool.onFlushWindow = (inFlight, floor) => window.set(inFlight, floor);
    const appended = spool.append(items(project.id, 'w', 3));
    await answered;
    const { seen, digest } = recorder();
    const early = await a.digestBatch(100, digest, issueLifecycle, mine);
    assert.deepEqual([early.rows, early.payloadsRead, early.deferred], [0, 0, 3], 'left in the spool, nothing read back');
    assert.equal(await a.spoolBacklog(), 3);
    release();
    await appended;
    const late = await a.digestBatch(100, digest, issueLifecycle, mine);
    assert.deepEqual([late.rows, late.payloadsRead], [3, 0], 'handed over by now: digested from memory');
    assert.deepEqual(seen.map((s) => s.eventId), ['w0', 'w1', 'w2']);
    assert.equal(mine.size, 0);
    port1.close();
  });
});

describe('HeldRows', () => {
  const row = (id: number, bytes: number): SpoolRow => ({ id, projectId: 1, kind: 'event', eventId: `e${id}`, receivedAt: id, payload: Buffer.alloc(bytes, 'x') });

  it('keeps no more than its bound, and lets go of the rows up to a committed batch', () => {
    const h = new HeldRows(250);
    h.add(packRows([row(1, 100), row(2, 100), row(3, 100)]));
    assert.equal(h.size, 2, 'the third would pass 250 bytes');
    assert.equal(h.get(3), undefined);
    assert.equal(h.get(2)?.payload.length, 100);
    h.release(1);
    assert.equal(h.get(1), undefined);
    h.add(packRows([row(4, 100)]));
    assert.equal(h.get(4)?.eventId, 'e4', 'room again after the release');
  });

  it('keeps the rows handed over after a claim was sent when that claim\u2019s batch commits (the claim could not see them)', () => {
    const { port1, port2 } = new MessageChannel();
    const window = new FlushWindow();
    const h = new HeldRows(1 << 20, { port: port2, window });
    h.add(packRows([row(5, 10), row(6, 10)]));
    window.set(true, 6); // a flush is in flight: its rows get ids above 6
    h.claiming();
    h.add(packRows([row(7, 10), row(8, 10)])); // it committed after the claim was sent, and was handed over
    window.set(false, 8);
    h.release(9); // the batch took 5, 6 and a row 9 of another process's
    assert.deepEqual([h.get(5), h.get(6)], [undefined, undefined]);
    assert.deepEqual([h.get(7), h.get(8)].map((r) => (r === 'later' ? r : r?.eventId)), ['e7', 'e8'], 'kept for the next claim');
    port1.close();
  });
});

describe('the digest statements on PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  let store: PostgresStore;

  before(async () => {
    schema = await createTestSchema('prepared');
    store = await PostgresStore.open(schema.options({ poolMax: 1 })); // one connection: the one the batch ran on
  });
  after(async () => {
    await store?.close();
    await schema?.drop();
  });

  it('run as named prepared statements, prepared once per connection and reused by the next batch', async () => {
    const project = await store.createProject({ name: 'Prepared' });
    const event = (id: string) => Buffer.from(JSON.stringify({ event_id: id, message: 'boom', level: 'error', user: { id: id.slice(0, 4) }, tags: { t: 'v' } }));
    const digest = createRowDigester({});
    const prepared = async () =>
      (await sql<{ name: string }>`SELECT name FROM pg_prepared_statements WHERE statement LIKE '/*prepared*/%' ORDER BY name`.execute(store.db)).rows.map((r) => r.name);
    for (const round of [1, 2]) {
      const ids = [`${round}`.repeat(32), `${round}a`.padEnd(32, '0')];
      await store.appendToSpool(ids.map((id) => ({ projectId: project.id, kind: 'event', eventId: id, receivedAt: Date.now(), payload: event(id) })));
      assert.equal((await store.digestBatch(100, digest, issueLifecycle)).rows, 2);
    }
    const names = await prepared();
    // The claim, the payload read, the locks, the issue reads and writes, the events, tags, feed, counts, the delete.
    assert.ok(names.length >= 10, `prepared: ${names.join(', ')}`);
    assert.equal(new Set(names).size, names.length);
    assert.equal((await store.listIssues({ projectId: project.id })).total, 1, 'both batches grouped into one issue');
  });
});

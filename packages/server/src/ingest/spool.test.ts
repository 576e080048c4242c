import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SpoolItemInput, Store } from '../store/store.js';
import { Spool } from './spool.js';

/** The two store calls the backlog count makes, with a recount the test answers when it likes. */
function fakeStore() {
  let answer: ((n: number) => void) | null = null;
  const store = {
    appendToSpool: async (_items: SpoolItemInput[]) => undefined,
    countItems: async () => undefined,
    recordClientDiscards: async () => undefined,
    spoolBacklog: () => new Promise<number>((resolve) => (answer = resolve)),
  } as unknown as Store;
  return { store, answerRecount: (n: number) => answer!(n) };
}

const event = (n: number): SpoolItemInput => ({ projectId: 1, kind: 'event', eventId: `e${n}`, receivedAt: n, payload: Buffer.from('{}') });

describe('Spool backlog count', () => {
  it('keeps the appends and digests made while a recount is read (several processes share the spool)', async () => {
    const { store, answerRecount } = fakeStore();
    const spool = new Spool(store, 1_000_000);
    const recount = spool.resync();
    // While the database counts (another process's 40 rows, say), this process spools 3 and digests 1.
    await spool.append([event(1), event(2), event(3)]);
    spool.digested(1);
    answerRecount(40);
    await recount;
    assert.equal(spool.backlog, 42, 'the recount plus what changed while it was read');
    // A later recount with nothing in between is taken as it is.
    const next = spool.resync();
    answerRecount(7);
    await next;
    assert.equal(spool.backlog, 7);
  });

  it('has one flush on its way at a time: what arrives meanwhile waits and goes in the next commit, together', async () => {
    const calls: string[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const commits: (() => void)[] = [];
    const store = {
      appendToSpool: (items: SpoolItemInput[]) => {
        calls.push(items.map((i) => i.eventId!));
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        return new Promise<void>((resolve) => commits.push(() => (inFlight--, resolve())));
      },
      countItems: async () => undefined,
      recordClientDiscards: async () => undefined,
    } as unknown as Store;
    const spool = new Spool(store, 1_000_000);
    const first = spool.append([event(1)]);
    await new Promise((r) => setImmediate(r)); // the first flush starts and waits for its commit
    const later = [spool.append([event(2)]), spool.append([event(3)])];
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [['e1']], 'no second transaction while the first is on its way');
    commits.shift()!();
    await first;
    while (calls.length < 2) await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls[1], ['e2', 'e3'], 'the waiting appends in one commit');
    commits.shift()!();
    await Promise.all(later);
    assert.equal(maxInFlight, 1);
    assert.equal(spool.backlog, 3);
  });

  it('with a gather window (PostgreSQL), starts a flush at once after a quiet spell, and gathers what arrives in the window after a flush into one commit', async () => {
    const calls: string[][] = [];
    const store = {
      appendToSpool: async (items: SpoolItemInput[]) => void calls.push(items.map((i) => i.eventId!)),
      countItems: async () => undefined,
      recordClientDiscards: async () => undefined,
    } as unknown as Store;
    const spool = new Spool(store, 1_000_000, 500);
    await spool.append([event(1)]); // nothing flushed before: no wait
    assert.deepEqual(calls, [['e1']]);
    const later = [spool.append([event(2)])];
    for (let turn = 0; turn < 5; turn++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [['e1']], 'committed, but the window after the last flush is open: the next one waits');
    later.push(spool.append([event(3)]));
    await Promise.all(later);
    assert.deepEqual(calls, [['e1'], ['e2', 'e3']], 'what arrived in the window went in one commit');
    assert.equal(spool.backlog, 3);
  });

  it('with two flushes in flight (PostgreSQL), starts the second while the first waits, answers each request when its own commit is done, in either order', async () => {
    const calls: string[][] = [];
    const commits: ((ids: number[]) => void)[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const store = {
      appendToSpool: (items: SpoolItemInput[]) => {
        calls.push(items.map((i) => i.eventId!));
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        return new Promise((resolve) => commits.push((ids) => (inFlight--, resolve(items.map((item, i) => ({ ...item, id: ids[i]! }))))));
      },
      countItems: async () => undefined,
      recordClientDiscards: async () => undefined,
    } as unknown as Store;
    const spool = new Spool(store, 1_000_000, 0, 2);
    const handed: number[][] = [];
    const windows: string[] = [];
    spool.onCommitted = (rows) => handed.push(rows.map((r) => r.id));
    spool.onFlushWindow = (inFlight, floor) => windows.push(`${inFlight ? 'in flight' : 'none'} ${floor}`);
    const turns = async (n: number) => { for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r)); };
    const answered: string[] = [];
    const track = (name: string, p: Promise<void>) => p.then(() => void answered.push(name));
    const first = track('e1', spool.append([event(1)]));
    await turns(2);
    const second = track('e2+e3', Promise.all([spool.append([event(2)]), spool.append([event(3)])]).then(() => undefined));
    await turns(2);
    const third = track('e4', spool.append([event(4)]));
    await turns(3);
    assert.deepEqual(calls, [['e1'], ['e2', 'e3']], 'the second flush started while the first waits; the third waits for one of them');
    commits[1]!([2, 3]); // the second commits first
    await second;
    assert.deepEqual(answered, ['e2+e3'], 'its requests are answered; the first flush\u2019s request still waits for its own commit');
    assert.equal(spool.backlog, 2);
    while (calls.length < 3) await turns(1);
    assert.deepEqual(calls[2], ['e4'], 'the third starts once the second is done');
    commits[2]!([4]);
    await third;
    commits[0]!([1]);
    await first;
    assert.deepEqual(answered, ['e2+e3', 'e4', 'e1']);
    assert.equal(maxInFlight, 2);
    assert.equal(spool.backlog, 4);
    assert.deepEqual(handed, [[2, 3], [4], [1]]);
    // Floors: the flushes' rows lie above the highest id seen when each started; with none in flight, the highest id committed.
    // (the third started above 3, but the first, still in flight, started above 0: the lower floor counts)
    assert.deepEqual(windows, ['in flight 0', 'in flight 0', 'in flight 0', 'in flight 0', 'in flight 0', 'none 4']);
  });

  it('starts a flush beside one in flight only when mayOverlap says so (the main thread is not busy)', async () => {
    const calls: string[][] = [];
    const commits: (() => void)[] = [];
    const store = {
      appendToSpool: (items: SpoolItemInput[]) => {
        calls.push(items.map((i) => i.eventId!));
        return new Promise<void>((resolve) => commits.push(resolve));
      },
    } as unknown as Store;
    let idle = false;
    const spool = new Spool(store, 1_000_000, 0, 2, () => idle);
    const turns = async (n: number) => { for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r)); };
    const first = spool.append([event(1)]);
    await turns(2);
    const second = spool.append([event(2)]);
    await turns(3);
    assert.deepEqual(calls, [['e1']], 'busy: the second waits for the first');
    commits.shift()!();
    await first;
    while (calls.length < 2) await turns(1);
    idle = true;
    const third = spool.append([event(3)]);
    await turns(3);
    assert.deepEqual(calls, [['e1'], ['e2'], ['e3']], 'not busy: the third starts beside the second');
    commits.shift()!();
    commits.shift()!();
    await Promise.all([second, third]);
    assert.equal(spool.backlog, 3);
  });
});

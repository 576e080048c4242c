import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { NormalizedEvent, Project } from './model.js';
import { decodePayload, encodePayload } from './payload.js';
import type { DigestedRow, IssueLifecycle, Store } from './store.js';
import type { UpstreamStore } from './upstream.js';

/**
 * The behaviour every UpstreamStore must have (SQLite and PostgreSQL run this suite): events read
 * after a cursor up to a horizon, counted for drops, the forwarder's cursors and the per-project
 * settings. `a` and `b` are two UpstreamStores on one database (two processes).
 */
export function upstreamStoreContract(
  name: string,
  open: () => Promise<{ store: Store; a: UpstreamStore; b: UpstreamStore; cleanup: () => Promise<void> }>,
  lifecycle: IssueLifecycle,
): void {
  describe(`UpstreamStore contract: ${name}`, () => {
    let store: Store;
    let a: UpstreamStore;
    let b: UpstreamStore;
    let cleanup: () => Promise<void>;
    let project: Project;
    let seq = 0;
    before(async () => ({ store, a, b, cleanup } = await open()));
    after(async () => cleanup());
    beforeEach(async () => {
      project = await store.createProject({ name: `Upstream ${++seq}`, shortIdPrefix: 'U' });
    });

    const eventId = (n: number) => `${seq.toString(16).padStart(8, '0')}${n.toString(16).padStart(24, '0')}`;
    const normalized = (id: string): NormalizedEvent => ({
      eventId: id, timestamp: Date.now(), level: 'error', platform: 'node', environment: null, release: null, serverName: null,
      transaction: null, origin: null, title: 'Error: up', culprit: null, message: null, exceptionType: 'Error', exceptionValue: 'up',
      userKey: null, telegram: null, request: null, tags: {}, payload: { event_id: id, tags: { origin: 'handler' } },
    });

    /** Stores `n` events through the digest, as the server does. */
    async function storeEvents(n: number, from = 0): Promise<string[]> {
      const ids = Array.from({ length: n }, (_, i) => eventId(from + i));
      await store.appendToSpool(ids.map((id) => ({ projectId: project.id, kind: 'event', eventId: id, receivedAt: Date.now(), payload: Buffer.from('{}') })));
      const digester = (rows: { id: number; projectId: number; eventId: string | null; receivedAt: number }[]): DigestedRow[] =>
        rows.map((row) => {
          const ev = normalized(row.eventId!);
          return { kind: 'event', spoolId: row.id, projectId: row.projectId, receivedAt: row.receivedAt, event: ev, fingerprint: 'up', groupingVersion: 1, compressedPayload: encodePayload(ev.payload) };
        });
      while ((await store.digestBatch(100, digester, lifecycle)).rows > 0);
      return ids;
    }

    it('reads stored events after a cursor, in id order, up to the horizon, with their stored payload', async () => {
      const start = await a.eventHorizon();
      const ids = await storeEvents(5);
      const horizon = await b.eventHorizon();
      assert.ok(horizon >= start + 5, `horizon ${horizon} moved past the 5 new events (from ${start})`);
      const mine = (await a.eventsAfter(start, horizon, 100)).filter((e) => e.projectId === project.id);
      assert.deepEqual(mine.map((e) => e.eventId), ids);
      assert.deepEqual(decodePayload(mine[0]!.payload), { event_id: ids[0], tags: { origin: 'handler' } });
      const firstTwo = await a.eventsAfter(start, horizon, 2);
      assert.equal(firstTwo.length, 2);
      assert.ok(firstTwo[0]!.id < firstTwo[1]!.id);
      assert.deepEqual(await a.eventsAfter(mine[2]!.id, mine[3]!.id, 100).then((r) => r.map((e) => e.eventId)), [ids[3]], 'upTo is inclusive, after exclusive');
      assert.equal(await a.countEvents(mine[0]!.id, mine[4]!.id), 4);
      assert.equal(await a.nthEventAfter(mine[0]!.id, 2), mine[2]!.id);
      assert.equal(await a.nthEventAfter(mine[4]!.id, 1), null);
      const before = await a.rawItemHorizon('check_in');
      await store.appendToSpool([{ projectId: project.id, kind: 'check_in', eventId: null, receivedAt: Date.now(), payload: Buffer.from('{}') }]);
      const [parked] = await store.listRawItems('check_in', { after: before, projectId: project.id });
      assert.equal(await b.rawItemHorizon('check_in'), parked!.id);
    });

    it('counts a raw kind\'s items after a cursor and finds the n-th, other kinds aside', async () => {
      const start = Math.max(await a.rawItemHorizon('check_in'), await a.rawItemHorizon('transaction'));
      const item = (kind: string) => ({ projectId: project.id, kind, eventId: null, receivedAt: Date.now(), payload: Buffer.from('{}') });
      await store.appendToSpool([item('check_in'), item('transaction'), item('check_in'), item('check_in')]);
      const checkIns = (await store.listRawItems('check_in', { after: start, projectId: project.id })).map((r) => r.id);
      assert.equal(checkIns.length, 3);
      assert.equal(await b.countRawItems('check_in', start), 3);
      assert.equal(await b.countRawItems('transaction', start), 1);
      assert.equal(await a.countRawItems('check_in', checkIns[0]!), 2);
      assert.equal(await a.nthRawItemAfter('check_in', start, 2), checkIns[1]);
      assert.equal(await a.nthRawItemAfter('check_in', start, 3), checkIns[2]);
      assert.equal(await a.nthRawItemAfter('check_in', start, 4), null);
    });

    it('keeps cursors and per-project settings, seen by the other process', async () => {
      assert.equal(await a.getValue('cursor:test'), null);
      await a.setValue('cursor:test', '41');
      await b.setValue('cursor:test', '42');
      assert.equal(await a.getValue('cursor:test'), '42');

      await a.putProjectSettings(project.id, { enabled: true, sampleRate: 0.25, kinds: ['event', 'check_in'] }, 1000);
      assert.deepEqual((await b.projectSettings()).get(project.id), { enabled: true, sampleRate: 0.25, kinds: ['event', 'check_in'] });
      await b.putProjectSettings(project.id, { enabled: false, sampleRate: 1, kinds: ['event'] }, 2000);
      assert.deepEqual((await a.projectSettings()).get(project.id), { enabled: false, sampleRate: 1, kinds: ['event'] });
      assert.equal(await a.deleteProjectSettings(project.id), true);
      assert.equal(await a.deleteProjectSettings(project.id), false);
      assert.equal((await b.projectSettings()).has(project.id), false);
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AlertState, AlertStore, ClaimOptions, NewOutboxRow } from './alerts.js';

/**
 * The behaviour every AlertStore must have. `open` gives two stores on ONE database through two
 * connections (two server processes), so the claim can be raced for real.
 */
export function alertStoreContract(name: string, open: () => Promise<{ a: AlertStore; b: AlertStore; cleanup: () => Promise<void> }>): void {
  describe(`AlertStore contract: ${name}`, () => {
    let a: AlertStore;
    let b: AlertStore;
    let cleanup: () => Promise<void>;
    let target = 0;
    before(async () => ({ a, b, cleanup } = await open()));
    after(async () => cleanup());

    const claim: ClaimOptions = { leaseMs: 10_000, maxPerMessage: 8, paceMs: 0, groupPerMinute: 1000 };
    const row = (over: Partial<NewOutboxRow> = {}): NewOutboxRow => ({
      projectId: 1,
      issueId: 1,
      fingerprint: 'issue:1',
      channel: 'telegram',
      target: '42',
      tier: 'alert',
      reasons: ['new'],
      createdAt: 1000,
      notBefore: 1000,
      ...over,
    });
    const enqueue = (store: AlertStore, rows: NewOutboxRow[]) => store.decide(`fp-${Math.random()}`, () => ({ state: null, enqueue: rows, log: [] }));
    const state = (fingerprint: string, over: Partial<AlertState> = {}): AlertState => ({
      fingerprint,
      projectId: 1,
      issueId: 9,
      tier: 'alert',
      cooldownUntil: 0,
      pending: null,
      lastEnqueuedAt: null,
      lastSentAt: null,
      eventsAtLast: 0,
      usersAtLast: 0,
      repeatAt: null,
      ackedAt: null,
      ackedBy: null,
      awaitingSend: [],
      ...over,
    });

    it('keeps the decision state, the enqueued rows and the log together', async () => {
      await a.decide('issue:9', () => ({
        state: state('issue:9', { cooldownUntil: 5000, pending: { tier: 'critical', reasons: ['level'] } }),
        enqueue: [],
        log: [{ at: 1, projectId: 1, issueId: 9, fingerprint: 'issue:9', tier: 'critical', reasons: ['level'], outcome: 'suppressed' }],
      }));
      const read = await b.getState('issue:9');
      assert.deepEqual(read?.pending, { tier: 'critical', reasons: ['level'] });
      assert.equal(read?.cooldownUntil, 5000);
      assert.equal((await b.recentLog({ projectId: 1 }))[0]?.outcome, 'suppressed');
      assert.deepEqual((await a.dueFollowUps(4999, 10)).map((s) => s.fingerprint), []);
      assert.deepEqual((await a.dueFollowUps(5000, 10)).map((s) => s.fingerprint), ['issue:9']);
      await a.acknowledge(9, '@ada', 6000);
      assert.equal((await a.getState('issue:9'))?.ackedBy, '@ada');
    });

    it('never hands one row to two claimers racing on two connections', async () => {
      const t = `race-${++target}`;
      const rows = Array.from({ length: 60 }, (_, i) => row({ target: t, fingerprint: `issue:${i}`, issueId: i, projectId: i % 3 }));
      await enqueue(a, rows);
      const seen = new Map<number, string>();
      for (let round = 0; round < 200 && seen.size < 60; round++) {
        const [x, y] = await Promise.all([a.claimDue('A', 2000 + round, claim), b.claimDue('B', 2000 + round, claim)]);
        for (const [worker, batches] of [['A', x], ['B', y]] as const) {
          for (const r of batches.flat().filter((r) => r.target === t)) {
            assert.equal(seen.get(r.id), undefined, `row ${r.id} claimed by ${seen.get(r.id)} and ${worker}`);
            seen.set(r.id, worker);
          }
          const mine = batches.flat().filter((r) => r.target === t);
          if (mine.length) await (worker === 'A' ? a : b).markSent(worker, mine, { sentAt: 3000, messageId: '1', sentIds: mine.map((r) => r.id), collapsedIds: [], states: [], message: null });
        }
      }
      assert.equal(seen.size, 60);
    });

    it('claims a target head-first: one project per message, a failing head holds the rows behind it', async () => {
      const t = `hol-${++target}`;
      await enqueue(a, [row({ target: t, projectId: 1, fingerprint: 'f1' }), row({ target: t, projectId: 2, fingerprint: 'f2' }), row({ target: t, projectId: 1, fingerprint: 'f1' })]);
      const [batch] = (await a.claimDue('A', 2000, claim)).filter((bt) => bt[0]?.target === t);
      assert.deepEqual(batch?.map((r) => r.fingerprint), ['f1', 'f1'], 'the later row of the same alert collapses into the first');
      await a.markRetry('A', batch!.map((r) => r.id), 'down', 5000, 5000);
      assert.deepEqual((await b.claimDue('B', 3000, claim)).filter((bt) => bt[0]?.target === t), [], 'nothing overtakes the failed head');
      const again = (await b.claimDue('B', 5000, claim)).filter((bt) => bt[0]?.target === t);
      assert.deepEqual(again[0]?.map((r) => r.attempts), [1, 1]);
    });

    it('takes a row that failed in our own code out of the queue: the rows behind go on, it is claimed alone, then parked for good', async () => {
      const t = `aside-${++target}`;
      await enqueue(a, [row({ target: t, fingerprint: 'bad' }), row({ target: t, fingerprint: 'good-1' }), row({ target: t, fingerprint: 'good-2' })]);
      const [first] = (await a.claimDue('A', 2000, claim)).filter((bt) => bt[0]?.target === t);
      assert.deepEqual(first?.map((r) => r.fingerprint), ['bad', 'good-1', 'good-2']);
      const [bad, ...good] = first!;
      await a.markInternalFailure('A', [bad!.id], 'internal error: TypeError: x', 9000);
      await a.markRetry('A', good.map((r) => r.id), 'not sent with the bad one', 2000);
      const next = (await b.claimDue('B', 3000, claim)).filter((bt) => bt[0]?.target === t);
      assert.deepEqual(next.map((bt) => bt.map((r) => r.fingerprint)), [['good-1', 'good-2']], 'not held behind the failed row');
      await b.markSent('B', next[0]!, { sentAt: 3000, messageId: '1', sentIds: next[0]!.map((r) => r.id), collapsedIds: [], states: [], message: null });
      assert.deepEqual((await a.claimDue('A', 8999, claim)).filter((bt) => bt[0]?.target === t), [], 'its retry is not due yet');
      const alone = (await a.claimDue('A', 9000, claim)).filter((bt) => bt[0]?.target === t);
      assert.deepEqual(alone.map((bt) => bt.map((r) => [r.fingerprint, r.internalFailures, r.attempts])), [[['bad', 1, 1]]], 'claimed alone when due');
      await a.markParked('A', [bad!.id], 'internal error: TypeError: x');
      const parked = (await b.outbox({ target: t })).find((r) => r.id === bad!.id);
      assert.deepEqual([parked?.status, parked?.lastError], ['parked', 'internal error: TypeError: x']);
      assert.deepEqual((await b.claimDue('B', 99_000, claim)).filter((bt) => bt[0]?.target === t), [], 'a parked row is never claimed');
      assert.ok((await b.countOutbox('parked')) >= 1);
    });

    it('tells a decision which destinations still have a message of its fingerprint waiting, until it is sent', async () => {
      const t = `await-${++target}`;
      await a.decide('issue:77', () => ({ state: state('issue:77', { issueId: 77, cooldownUntil: 0, pending: { tier: 'alert', reasons: ['frequency'] } }), enqueue: [row({ target: t, fingerprint: 'issue:77', issueId: 77 }), row({ channel: 'webhook', target: `http://hook/${t}`, fingerprint: 'issue:77', issueId: 77 })], log: [] }));
      assert.deepEqual((await b.getState('issue:77'))?.awaitingSend.sort(), [`telegram:${t}`, `webhook:http://hook/${t}`]);
      let seen: string[] | undefined;
      await b.decide('issue:77', (s) => ((seen = s?.awaitingSend), { state: null, enqueue: [], log: [] }));
      assert.equal(seen?.length, 2, 'inside the decision too');
      const claimed = (await a.claimDue('A', 2000, claim)).flat().filter((r) => r.target === t);
      assert.ok((await b.getState('issue:77'))?.awaitingSend.includes(`telegram:${t}`), 'being sent still counts');
      await a.markSent('A', claimed, { sentAt: 2500, messageId: '1', sentIds: claimed.map((r) => r.id), collapsedIds: [], states: [{ fingerprint: 'issue:77', eventsAtLast: 1, usersAtLast: 0, repeatAt: null, cooldownUntil: 7500 }], message: null });
      const after = await b.getState('issue:77');
      assert.deepEqual([after?.awaitingSend, after?.cooldownUntil], [[`webhook:http://hook/${t}`], 7500], 'the cooldown counts from the send; the webhook still waits');
      // A batch of changes reads its states at once: the same states, awaiting destinations included.
      const states = await b.getStates(['issue:77', 'issue:9', 'no-such-fingerprint', 'issue:77']);
      assert.deepEqual([...states.keys()].sort(), ['issue:77', 'issue:9']);
      assert.deepEqual(states.get('issue:77'), after);
      assert.deepEqual(states.get('issue:9'), await a.getState('issue:9'));
      assert.deepEqual(await a.getStates([]), new Map());
    });

    it('expires rows unsent for too long, saying how many per target', async () => {
      const t = `old-${++target}`;
      await enqueue(a, [row({ target: t, createdAt: 10 }), row({ target: t, createdAt: 11 }), row({ target: t, createdAt: 5000 })]);
      const expired = (await b.expire(1000)).filter((e) => e.target === t);
      assert.deepEqual(expired, [{ channel: 'telegram', target: t, rows: 2 }]);
      assert.deepEqual((await a.outbox({ target: t })).map((r) => r.status), ['expired', 'expired', 'pending']);
      assert.deepEqual((await b.expire(1000)).filter((e) => e.target === t), [], 'once');
    });

    it('a claim expires: rows of a sender that died are taken over after the lease', async () => {
      const t = `lease-${++target}`;
      await enqueue(a, [row({ target: t })]);
      const first = (await a.claimDue('A', 2000, claim)).flat().filter((r) => r.target === t);
      assert.equal(first.length, 1);
      assert.equal((await b.claimDue('B', 2000 + 5000, claim)).flat().filter((r) => r.target === t).length, 0);
      assert.equal((await b.claimDue('B', 2000 + claim.leaseMs + 1, claim)).flat().filter((r) => r.target === t).length, 1);
    });

    it('paces a target and keeps groups under their per-minute budget', async () => {
      const t = `-100${++target}`;
      await enqueue(a, Array.from({ length: 5 }, (_, i) => row({ target: t, fingerprint: `g${i}`, projectId: 10 + i })));
      const paced: ClaimOptions = { ...claim, paceMs: 1000, groupPerMinute: 2 };
      const take = async (now: number) => {
        const got = (await a.claimDue('A', now, paced)).flat().filter((r) => r.target === t);
        if (got.length) await a.markSent('A', got, { sentAt: now, messageId: '1', sentIds: got.map((r) => r.id), collapsedIds: [], states: [], message: null });
        return got.length;
      };
      assert.equal(await take(10_000), 1);
      assert.equal(await take(10_500), 0, 'one message per second per chat');
      assert.equal(await take(11_000), 1);
      assert.equal(await take(12_000), 0, 'a group gets at most 2 a minute here');
      assert.equal(await take(70_001), 1);
    });

    it('paces a target from the send too: a slow send pushes the next message a pace after it', async () => {
      const t = `-100${++target}`;
      await enqueue(a, [row({ target: t, fingerprint: 'slow-1', projectId: 30 }), row({ target: t, fingerprint: 'slow-2', projectId: 31 })]);
      const paced: ClaimOptions = { ...claim, paceMs: 1000 };
      const first = (await a.claimDue('A', 10_000, paced)).flat().filter((r) => r.target === t);
      assert.equal(first.length, 1);
      // Telegram took 4 s to answer: the send is recorded at 14,000, so the chat's next message waits until 15,000.
      await a.markSent('A', first, { sentAt: 14_000, nextSendAt: 15_000, messageId: '1', sentIds: first.map((r) => r.id), collapsedIds: [], states: [], message: null });
      assert.equal((await b.claimDue('B', 14_500, paced)).flat().filter((r) => r.target === t).length, 0, 'a pace after the send, not after the claim');
      assert.equal((await b.claimDue('B', 15_000, paced)).flat().filter((r) => r.target === t).length, 1);
    });

    it('disables a target with its reason, fails its rows, and follows a migration', async () => {
      const t = `dis-${++target}`;
      await enqueue(a, [row({ target: t })]);
      assert.equal(await a.disableTarget('telegram', t, '403 Forbidden: bot was kicked', 2000), 1, 'one pending row failed');
      const got = await b.getTarget('telegram', t);
      assert.equal(got?.disabledReason, '403 Forbidden: bot was kicked');
      assert.equal((await b.outbox({ target: t }))[0]?.status, 'failed');
      assert.deepEqual((await b.claimDue('B', 3000, claim)).flat().filter((r) => r.target === t), []);

      const m = `mig-${++target}`;
      await enqueue(a, [row({ target: m })]);
      await a.migrateTarget('telegram', m, `${m}-super`, 2000);
      assert.equal((await b.getTarget('telegram', m))?.migratedTo, `${m}-super`);
      assert.equal((await b.outbox({ target: `${m}-super` }))[0]?.status, 'pending');
    });

    it('forwarding one notification twice enqueues it once (dedupe key), from either connection', async () => {
      const t = `fwd-${++target}`;
      const body = { kind: 'down', text: '🔴 <b>Bot down</b>: Pay Bot', payload: { kind: 'down', monitor: 'pay' }, monitorId: 3, notificationId: 77 };
      const forwarded = (dedupeKey: string, over: Partial<NewOutboxRow> = {}) =>
        row({ target: t, issueId: null, fingerprint: 'monitor-notification:77', tier: 'critical', reasons: ['monitor'], body, dedupeKey, ...over });
      const rows = [forwarded(`monitor-notification:77:telegram:${t}`), forwarded('monitor-notification:77:webhook:http://hook', { channel: 'webhook', target: 'http://hook' })];
      assert.equal(await a.enqueueOnce(rows), 2);
      const [again, raced] = await Promise.all([b.enqueueOnce(rows), a.enqueueOnce(rows)]);
      assert.equal(again + raced, 0, 'a second forward adds nothing');
      assert.equal(await b.enqueueOnce([forwarded(`monitor-notification:77:telegram:${t}`, { target: `${t}-migrated` })]), 0, 'the key decides, not the target');
      const mine = await b.outbox({ dedupeKeyPrefix: 'monitor-notification:77:' });
      assert.deepEqual(mine.map((r) => r.dedupeKey), rows.map((r) => r.dedupeKey));
      assert.deepEqual(mine[0]?.body, body, 'the body comes back as written');
      assert.deepEqual(await b.outbox({ dedupeKeyPrefix: 'monitor-notification:7:' }), [], 'a prefix is not a number prefix');
      // Rows without a key (the engine's) are never deduplicated.
      await enqueue(a, [row({ target: t }), row({ target: t })]);
      assert.equal((await b.outbox({ target: t })).filter((r) => r.dedupeKey === null && r.body === null).length, 2);
    });

    it("finds one decision's rows by fingerprint and creation time (the monitors page shows how they were delivered)", async () => {
      const t = `decision-${++target}`;
      const fingerprint = `issue:${900_000 + target}`;
      await enqueue(a, [row({ target: t, fingerprint, createdAt: 5000 }), row({ target: `${t}-2`, fingerprint, createdAt: 5000 }), row({ target: t, fingerprint, createdAt: 6000 })]);
      await enqueue(a, [row({ target: t, fingerprint: `${fingerprint}0`, createdAt: 5000 })]);
      assert.deepEqual((await b.outbox({ fingerprint, createdAt: 5000 })).map((r) => r.target), [t, `${t}-2`]);
      assert.equal((await b.outbox({ fingerprint })).length, 3);
      assert.deepEqual(await b.outbox({ fingerprint, createdAt: 5001 }), []);
    });

    it('keeps sent messages with their actions, silences, leases and values', async () => {
      const saved = await a.saveMessage({ channel: 'telegram', target: '42', messageId: '7', threadId: null, projectId: 1, issueIds: [9], items: { layout: 'alert', items: [] }, createdAt: 1 });
      await a.addMessageAction(saved.id, { issueId: 9, action: 'res', by: '@ada', at: 2 });
      assert.deepEqual((await b.findMessage('telegram', '42', '7'))?.actions, [{ issueId: 9, action: 'res', by: '@ada', at: 2 }]);

      const silence = await a.addSilence({ projectId: 1, issueId: null, endsAt: 10_000, createdBy: 'api', reason: null, createdAt: 1 });
      assert.equal((await b.activeSilences(9_999)).length, 1);
      assert.equal((await b.activeSilences(10_000)).length, 0);
      await a.removeSilence(silence.id);
      assert.equal((await b.activeSilences(1)).length, 0);

      assert.equal(await a.lease('poller', 'A', 1000, 5000), true);
      assert.equal(await b.lease('poller', 'B', 2000, 5000), false, 'held by A');
      assert.equal(await a.lease('poller', 'A', 3000, 5000), true, 'A renews');
      assert.equal(await b.lease('poller', 'B', 8001, 5000), true, 'expired: B takes over');
      await b.releaseLease('poller', 'B');
      assert.equal(await a.lease('poller', 'A', 8002, 5000), true);

      await a.setValue('telegram.offset', '17');
      assert.equal(await b.getValue('telegram.offset'), '17');
    });

    it('decisions about one fingerprint from two stores take turns: each sees the state the other wrote', async () => {
      const fp = `turns:${++target}`;
      const bump = (s: AlertState | null) => ({ state: state(fp, { eventsAtLast: (s?.eventsAtLast ?? 0) + 1 }), enqueue: [], log: [] });
      await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).decide(fp, bump)));
      assert.equal((await a.getState(fp))?.eventsAtLast, 10, 'no decision was lost to a concurrent one');
    });

    it("a batch of decisions applies them in order: one fingerprint met twice sees the first decision's state and outbox row", async () => {
      const fp = `batch:${++target}`, other = `batch:${++target}`;
      const seen: (AlertState | null)[] = [];
      const bump = (fingerprint: string, t: string) => ({
        fingerprint,
        decide: (s: AlertState | null) => {
          seen.push(s);
          return { state: state(fingerprint, { eventsAtLast: (s?.eventsAtLast ?? 0) + 1 }), enqueue: [row({ fingerprint, target: t })], log: [] };
        },
      });
      await a.decide(fp, () => ({ state: state(fp, { eventsAtLast: 5 }), enqueue: [], log: [] }));
      const applied = await a.consumeChanges([], [bump(fp, `t-${target}`), bump(other, `t-${target}`), bump(fp, `u-${target}`)]);
      assert.equal(applied?.length, 3);
      assert.deepEqual(seen.map((s) => s?.eventsAtLast ?? null), [5, null, 6], 'the second decision on fp saw the first one\'s write; the other fingerprint its own (no) state');
      assert.deepEqual(seen[2]?.awaitingSend, [`telegram:t-${target}`], 'and the outbox row the first one enqueued');
      assert.equal((await b.getState(fp))?.eventsAtLast, 7);
      assert.equal((await b.getState(other))?.eventsAtLast, 1);
    });

    it("a batch of decisions: a row enqueued for another fingerprint of the batch is seen by that one's decision; a dedupe key taken twice in a batch adds one row", async () => {
      const first = `cross:${++target}`, second = `cross:${++target}`, t = `cross-${target}`;
      const seen: (AlertState | null)[] = [];
      await b.decide(second, () => ({ state: state(second), enqueue: [], log: [] })); // a state to carry awaitingSend
      const applied = await a.consumeChanges([], [
        { fingerprint: first, decide: () => ({ state: state(first), enqueue: [row({ fingerprint: second, target: t, dedupeKey: `k-${t}` })], log: [] }) },
        { fingerprint: second, decide: (s) => (seen.push(s), { state: state(second, { eventsAtLast: 3 }), enqueue: [row({ fingerprint: second, target: t, dedupeKey: `k-${t}` })], log: [] }) },
      ]);
      assert.equal(applied?.length, 2);
      assert.deepEqual(seen[0]?.awaitingSend ?? [], [`telegram:${t}`], 'the second decision saw the row the first one enqueued for it');
      assert.equal((await b.outbox({ target: t })).length, 1, 'one row for the dedupe key');
      assert.equal((await b.getState(second))?.eventsAtLast, 3);
    });

    it('batches of decisions from two stores on overlapping fingerprints take turns: none lost, none doubled', async () => {
      const fps = Array.from({ length: 6 }, () => `overlap:${++target}`);
      const bump = (fingerprint: string) => ({ fingerprint, decide: (s: AlertState | null) => ({ state: state(fingerprint, { eventsAtLast: (s?.eventsAtLast ?? 0) + 1 }), enqueue: [], log: [] }) });
      // Each batch takes the fingerprints in another order, so a lock taken per decision in the
      // batch's order could deadlock; every batch must still go through.
      const batches = Array.from({ length: 8 }, (_, i) => (i % 2 ? fps : [...fps].reverse()).map(bump));
      const results = await Promise.all(batches.map((batch, i) => (i % 2 ? a : b).consumeChanges([], batch)));
      assert.ok(results.every((r) => r?.length === fps.length));
      for (const fp of fps) assert.equal((await a.getState(fp))?.eventsAtLast, batches.length, `${fp}: every batch saw the one before`);
    });

    it('two stores racing for one due row or one free lease at the same moment: exactly one wins, every time', async () => {
      for (let round = 0; round < 20; round++) {
        const t = `one-${++target}`;
        await enqueue(a, [row({ target: t, fingerprint: `one:${round}` })]);
        const [x, y] = await Promise.all([a.claimDue('A', 2000, claim), b.claimDue('B', 2000, claim)]);
        const won = [x, y].map((batches) => batches.flat().filter((r) => r.target === t).length);
        assert.deepEqual(won.sort(), [0, 1], `round ${round}: the row went to exactly one store`);
        const [la, lb] = await Promise.all([a.lease(`race-${round}`, 'A', 1000, 5000), b.lease(`race-${round}`, 'B', 1000, 5000)]);
        assert.equal(Number(la) + Number(lb), 1, `round ${round}: the lease went to exactly one holder`);
      }
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { LogStore, NewLogLine } from './logs.js';
import type { Project } from './model.js';
import type { MonitorStore } from './monitors.js';
import type { Store } from './store.js';

/**
 * The behaviour every LogStore must have (docs/logs.md). `open` gives the Store (for projects),
 * two LogStores on ONE database through two connections (two server processes), and a
 * MonitorStore to read the notifications a rule batch wrote. Each test works in its own project.
 */
export function logStoreContract(
  name: string,
  open: () => Promise<{ store: Pick<Store, 'createProject'>; a: LogStore; b: LogStore; monitors: MonitorStore; cleanup: () => Promise<void> }>,
): void {
  describe(`LogStore contract: ${name}`, () => {
    let store: Pick<Store, 'createProject'>;
    let a: LogStore;
    let b: LogStore;
    let monitors: MonitorStore;
    let cleanup: () => Promise<void>;
    let project: Project;
    let seq = 0;
    before(async () => ({ store, a, b, monitors, cleanup } = await open()));
    after(async () => cleanup());
    beforeEach(async () => {
      project = await store.createProject({ name: `Logs ${++seq}`, shortIdPrefix: 'L' });
    });

    const line = (over: Partial<NewLogLine> = {}): NewLogLine => ({
      projectId: project.id,
      time: 1_000_000,
      receivedAt: 1_000_500,
      level: 'info',
      logger: 'bot.handlers',
      message: 'User balance checked',
      fields: {},
      environment: 'production',
      release: 'bot@1.0.0',
      source: 'ndjson',
      lineId: null,
      ...over,
    });

    /** An append's counts (the lines handed to the rules are checked on their own). */
    const counted = async (appended: ReturnType<LogStore['appendLines']>) => {
      const { accepted, duplicates } = await appended;
      return { accepted, duplicates };
    };

    it('stores every part of a line and reads it back newest first, and by id after a cursor', async () => {
      const result = await counted(a.appendLines([
        line({ message: 'first', fields: { user_id: '42', operation: 'check_balance', duration_ms: '45' } }),
        line({ message: 'second', level: 'error', logger: null, environment: null, release: null, source: 'sentry', lineId: 'x-1' }),
      ]));
      assert.deepEqual(result, { accepted: 2, duplicates: 0 });
      const found = await b.searchLines({ projectId: project.id });
      assert.deepEqual(found.map((l) => l.message), ['second', 'first']);
      const [second, first] = found;
      assert.deepEqual(first!.fields, { user_id: '42', operation: 'check_balance', duration_ms: '45' });
      assert.equal(first!.time, 1_000_000);
      assert.equal(first!.receivedAt, 1_000_500);
      assert.equal(first!.logger, 'bot.handlers');
      assert.equal(first!.environment, 'production');
      assert.equal(first!.release, 'bot@1.0.0');
      assert.equal(first!.rule, null);
      assert.equal(first!.eventId, null);
      assert.equal(second!.level, 'error');
      assert.equal(second!.source, 'sentry');
      assert.equal(second!.lineId, 'x-1');
      assert.equal(second!.logger, null);
      const after = await a.linesAfter(first!.id - 1, 10);
      assert.deepEqual(after.filter((l) => l.projectId === project.id).map((l) => l.message), ['first', 'second']);
      assert.deepEqual(
        after[0],
        { id: first!.id, projectId: project.id, time: 1_000_000, receivedAt: 1_000_500, level: 'info', message: 'first', operation: first!.fields['operation'] ?? null, durationMs: first!.fields['duration_ms'] ?? null },
        'the rules\' read: only what they use (of the fields, the two the latency per operation needs)',
      );
      assert.deepEqual([after[0]!.operation, after[0]!.durationMs], ['check_balance', '45']);
      assert.deepEqual([after[1]!.operation, after[1]!.durationMs], [second!.fields['operation'] ?? null, second!.fields['duration_ms'] ?? null]);
      const whole = await b.linesByIds([second!.id, first!.id, second!.id + 1_000_000]);
      assert.deepEqual(whole, [first, second], 'whole lines by id, in id order; an id not stored is left out');
      assert.deepEqual(await a.linesByIds([]), []);
      assert.equal(await b.lastLineId(), second!.id, 'the newest id, seen from the other connection');
      assert.equal(await a.countLines(project.id), 2);
    });

    it('stores a line id once per project: repeats in one append, in a later append and from the other connection are duplicates', async () => {
      assert.deepEqual(await counted(a.appendLines([line({ lineId: 'l-1' }), line({ lineId: 'l-1' }), line({ lineId: 'l-2' }), line()])), { accepted: 3, duplicates: 1 });
      assert.deepEqual(await counted(b.appendLines([line({ lineId: 'l-2' }), line({ lineId: 'l-3' }), line()])), { accepted: 2, duplicates: 1 });
      const other = await store.createProject({ name: `Logs other ${seq}`, shortIdPrefix: 'L' });
      assert.deepEqual(await counted(a.appendLines([line({ projectId: other.id, lineId: 'l-1' })])), { accepted: 1, duplicates: 0 }, 'ids are per project');
      assert.equal(await a.countLines(project.id), 5);
      assert.deepEqual(await a.appendLines([]), { accepted: 0, duplicates: 0 });
    });

    it('hands the rules exactly the lines it stored, as they would read them back (nothing else has an id in their range)', async () => {
      await b.appendLines([line({ lineId: 'h-0' })]);
      const result = await a.appendLines([
        line({ message: 'kept', lineId: 'h-1', fields: { operation: 'pay', duration_ms: '12.5', user_id: '1' } }),
        line({ lineId: 'h-0' }),
        line({ message: 'also kept', level: 'error' }),
      ]);
      assert.deepEqual([result.accepted, result.duplicates], [2, 1]);
      assert.ok(result.stored);
      assert.deepEqual(result.stored.lines, await b.linesAfter(result.stored.after, 100), 'every line above `after` is in the run, equal to the read');
      assert.deepEqual(result.stored.lines.map((l) => [l.message, l.operation, l.durationMs]), [['kept', 'pay', '12.5'], ['also kept', null, null]]);
      assert.equal((await a.appendLines([line({ lineId: 'h-1' })])).stored, undefined, 'nothing stored, nothing handed over');
    });

    it('filters by level, minimum level, logger, time range, fields and text through the full-text index, and pages by id', async () => {
      await a.appendLines([
        line({ time: 1000, level: 'warning', logger: 'bot.webhook', message: 'Duplicate update_id 991', fields: { update_id: '991', operation: 'webhook' } }),
        line({ time: 2000, level: 'error', logger: 'bot.db', message: 'Database connection lost', fields: { error_type: 'OperationalError' } }),
        line({ time: 3000, level: 'critical', logger: 'bot.db', message: 'Lock acquisition failed: OID 4294967296 out of range', fields: { operation: 'lock' } }),
        line({ time: 4000, level: 'info', logger: 'bot.payments', message: 'Payment ok — платёж принят', fields: { user_id: '7', operation: 'payment' } }),
      ]);
      const messages = async (q: Omit<Parameters<LogStore['searchLines']>[0], 'projectId'>) => (await b.searchLines({ projectId: project.id, ...q })).map((l) => l.message);
      assert.deepEqual(await messages({ levels: ['error', 'critical'] }), ['Lock acquisition failed: OID 4294967296 out of range', 'Database connection lost']);
      assert.deepEqual(await messages({ minLevel: 'error' }), ['Lock acquisition failed: OID 4294967296 out of range', 'Database connection lost']);
      assert.deepEqual(await messages({ minLevel: 'warning', logger: 'bot.webhook' }), ['Duplicate update_id 991']);
      assert.deepEqual(await messages({ from: 2000, to: 4000 }), ['Lock acquisition failed: OID 4294967296 out of range', 'Database connection lost']);
      assert.deepEqual(await messages({ fields: { operation: 'webhook' } }), ['Duplicate update_id 991']);
      assert.deepEqual(await messages({ fields: { operation: 'payment', user_id: '7' } }), ['Payment ok — платёж принят']);
      assert.deepEqual(await messages({ fields: { user_id: '8' } }), []);
      assert.deepEqual(await messages({ fields: { 'no"such': 'x' } }), [], 'a key no line can have finds nothing (and is no error)');
      assert.deepEqual(await messages({ text: 'connection' }), ['Database connection lost']);
      assert.deepEqual(await messages({ text: 'DATABASE lost' }), ['Database connection lost'], 'words, any case, all of them');
      assert.deepEqual(await messages({ text: 'update_id' }), ['Duplicate update_id 991']);
      assert.deepEqual(await messages({ text: '4294967296' }), ['Lock acquisition failed: OID 4294967296 out of range']);
      assert.deepEqual(await messages({ text: 'платёж' }), ['Payment ok — платёж принят']);
      assert.deepEqual(await messages({ text: 'lost NEAR "db" * OR -x:' }), [], 'query syntax in the text is searched as words, never an error');
      assert.deepEqual(await messages({ text: 'database', levels: ['info'] }), []);
      const newest = await b.searchLines({ projectId: project.id, limit: 2 });
      assert.equal(newest.length, 2);
      const older = await b.searchLines({ projectId: project.id, beforeId: newest[1]!.id });
      assert.deepEqual(older.map((l) => l.message), ['Database connection lost', 'Duplicate update_id 991']);
    });

    it('follows after an id (newest first) and lists the lines a rule matched, with the other filters', async () => {
      await a.appendLines([line({ message: 'Database connection lost', time: 1000 }), line({ message: 'ok', time: 2000 }), line({ message: 'Database connection lost', level: 'error', time: 3000 })]);
      const [third, second, first] = await a.searchLines({ projectId: project.id });
      assert.deepEqual((await b.searchLines({ projectId: project.id, afterId: first!.id })).map((l) => l.id), [third!.id, second!.id]);
      assert.deepEqual((await b.searchLines({ projectId: project.id, afterId: third!.id })), [], 'nothing newer');
      assert.deepEqual((await b.searchLines({ projectId: project.id, afterId: first!.id, limit: 1 })).map((l) => l.id), [third!.id], 'a full page: the newest');
      assert.deepEqual((await b.searchLines({ projectId: project.id, afterId: first!.id, text: 'connection' })).map((l) => l.id), [third!.id], 'words and a cursor');
      assert.deepEqual((await b.searchLines({ projectId: project.id, beforeId: third!.id, text: 'connection' })).map((l) => l.id), [first!.id], 'words and a page');
      assert.deepEqual((await b.searchLines({ projectId: project.id, afterId: first!.id, beforeId: third!.id, text: 'connection' })), [], 'both bounds');
      const rule = 'forbidden:Database connection lost';
      const from = await a.ruleCursor();
      assert.equal(await a.commitRuleBatch({ from, to: Math.max(from, third!.id), states: [], notifications: [], matches: [{ id: first!.id, rule, eventId: null }, { id: third!.id, rule, eventId: 'cd'.repeat(16) }] }), true);
      assert.deepEqual((await b.searchLines({ projectId: project.id, rule })).map((l) => l.id), [third!.id, first!.id]);
      assert.deepEqual((await b.searchLines({ projectId: project.id, rule, minLevel: 'error' })).map((l) => l.id), [third!.id]);
      assert.deepEqual(await b.searchLines({ projectId: project.id, rule: 'rate:Duplicate update_id' }), []);
      const other = await store.createProject({ name: `Logs rule other ${seq}`, shortIdPrefix: 'L' });
      assert.deepEqual(await b.searchLines({ projectId: other.id, rule }), [], 'per project');
    });

    it('prunes lines received before a time, and the text index forgets them', async () => {
      await a.appendLines([line({ receivedAt: 100, message: 'old Queue full' }), line({ receivedAt: 5_000, message: 'new Queue full' })]);
      const pruned = await a.pruneLines(1_000);
      assert.ok(pruned >= 1);
      assert.deepEqual((await b.searchLines({ projectId: project.id, text: 'queue full' })).map((l) => l.message), ['new Queue full']);
      assert.equal(await a.countLines(project.id), 1);
    });

    it('applies a rule batch once: states, notifications, matched lines and the cursor together; a batch from a stale cursor applies nothing', async () => {
      await a.appendLines([line({ message: 'Database connection lost' })]);
      const [stored] = await a.searchLines({ projectId: project.id });
      const from = await a.ruleCursor();
      assert.ok(from < stored!.id);
      const batch = {
        from,
        to: stored!.id,
        states: [{ projectId: project.id, ruleKey: 'rate:Duplicate update_id', state: '{"times":[1]}', firing: true, updatedAt: 5 }],
        notifications: [{ projectId: project.id, monitorId: null, fingerprint: `log-rule:${project.id}:rate`, kind: 'log_rate_firing', text: 'too often', payload: { seen: 2 }, createdAt: 7 }],
        matches: [{ id: stored!.id, rule: 'forbidden:Database connection lost', eventId: 'ab'.repeat(16) }],
      };
      // Two evaluators (two processes) race with the same batch: one applies it.
      const results = await Promise.all([a.commitRuleBatch(batch), b.commitRuleBatch(batch)]);
      assert.deepEqual(results.sort(), [false, true]);
      assert.equal(await b.ruleCursor(), stored!.id);
      const states = await b.ruleStates({ projectId: project.id });
      assert.deepEqual(states, batch.states);
      assert.deepEqual(await b.ruleStates({ projectId: project.id, firing: false }), []);
      assert.equal((await a.ruleStates({ firing: true })).filter((s) => s.projectId === project.id).length, 1);
      const sent = await monitors.notifications({ projectId: project.id });
      assert.equal(sent.length, 1, 'the notification once');
      assert.equal(sent[0]!.kind, 'log_rate_firing');
      assert.equal(sent[0]!.monitorId, null);
      assert.equal(sent[0]!.status, 'pending');
      const [marked] = await b.searchLines({ projectId: project.id });
      assert.equal(marked!.rule, 'forbidden:Database connection lost');
      assert.equal(marked!.eventId, 'ab'.repeat(16));
      assert.equal(await a.commitRuleBatch({ ...batch, to: stored!.id + 100 }), false, 'from a cursor that moved: nothing');
      assert.equal(await a.ruleCursor(), stored!.id);
      assert.equal((await monitors.notifications({ projectId: project.id })).length, 1);
    });

    const DAY = 86_400_000;
    const HOUR = 3_600_000;
    const T0 = 1_800_000_000_000; // on an hour boundary
    const tpl = (id: string, text: string, previousIds?: string[]) => ({ id, text, ...(previousIds ? { previousIds } : {}) });

    it('stores each line\'s template id and counts templates per batch: first/last seen, count, lines per hour; duplicates are not counted', async () => {
      const a1 = tpl('aaaa000000000001', 'User <num> checked balance');
      const b1 = tpl('bbbb000000000001', 'Payment <*> failed');
      await a.appendLines([
        line({ receivedAt: T0 + 1_000, message: 'User 1 checked balance', template: a1, lineId: 'd-1' }),
        line({ receivedAt: T0 + 2_000, message: 'User 2 checked balance', template: a1 }),
        line({ receivedAt: T0 + 3_000, message: 'Payment x failed', template: b1 }),
        line({ receivedAt: T0 + 4_000, message: 'no template' }),
      ]);
      await b.appendLines([
        line({ receivedAt: T0 + HOUR + 5, message: 'User 3 checked balance', template: a1 }),
        line({ receivedAt: T0 + HOUR + 6, message: 'User 1 checked balance', template: a1, lineId: 'd-1' }),
      ]);
      const lines = await b.searchLines({ projectId: project.id });
      assert.deepEqual(lines.map((l) => l.templateId), [a1.id, null, b1.id, a1.id, a1.id]);
      const list = await a.templates({ projectId: project.id, since: T0 });
      assert.deepEqual(
        list.map((t) => ({ id: t.id, template: t.template, count: t.count, firstSeen: t.firstSeen, lastSeen: t.lastSeen, recent: t.recentCount, noticedAt: t.noticedAt })),
        [
          { id: a1.id, template: a1.text, count: 3, firstSeen: T0 + 1_000, lastSeen: T0 + HOUR + 5, recent: 3, noticedAt: null },
          { id: b1.id, template: b1.text, count: 1, firstSeen: T0 + 3_000, lastSeen: T0 + 3_000, recent: 1, noticedAt: null },
        ],
      );
      assert.deepEqual(list[0]!.hours, [{ hour: T0, count: 2 }, { hour: T0 + HOUR, count: 1 }]);
      const lastHour = await a.templates({ projectId: project.id, since: T0 + HOUR, limit: 1 });
      assert.deepEqual(lastHour.map((t) => [t.id, t.recentCount, t.hours.length]), [[a1.id, 1, 1]], 'the rate window and the limit');
      assert.deepEqual((await b.searchLines({ projectId: project.id, templateId: b1.id })).map((l) => l.message), ['Payment x failed']);
      assert.deepEqual(await b.searchLines({ projectId: project.id, templateId: 'ffff000000000000' }), []);
    });

    it('flags a template never seen before as a new pattern only once the project has logged for a day (compressed clock)', async () => {
      const first = tpl('cccc000000000001', 'Bot started');
      await a.appendLines([line({ receivedAt: T0, message: 'Bot started', template: first })]);
      await a.appendLines([line({ receivedAt: T0 + DAY - 60_000, message: 'Cache warm', template: tpl('cccc000000000002', 'Cache warm') })]);
      await b.appendLines([
        line({ receivedAt: T0 + DAY + 60_000, message: 'Bot started', template: first }),
        line({ receivedAt: T0 + DAY + 60_000, message: 'Refund 3 issued', template: tpl('cccc000000000003', 'Refund <num> issued') }),
      ]);
      await b.appendLines([line({ receivedAt: T0 + DAY + 120_000, message: 'Refund 4 issued', template: tpl('cccc000000000003', 'Refund <num> issued') })]);
      const byId = new Map((await a.templates({ projectId: project.id, since: 0 })).map((t) => [t.id, t.noticedAt]));
      assert.equal(byId.get('cccc000000000001'), null, 'seen before');
      assert.equal(byId.get('cccc000000000002'), null, 'new, but the project had logged for less than a day');
      assert.equal(byId.get('cccc000000000003'), T0 + DAY + 60_000, 'new after a day: flagged once, at its first line');
      const notices = (await b.newPatterns(T0)).filter((t) => t.projectId === project.id);
      assert.deepEqual(notices.map((t) => [t.id, t.template, t.count]), [['cccc000000000003', 'Refund <num> issued', 2]]);
      assert.deepEqual((await b.newPatterns(T0 + DAY + 60_001)).filter((t) => t.projectId === project.id), []);
    });

    it('a template that generalised others takes their counts, hours and lines; it is no new pattern', async () => {
      const old = tpl('dddd000000000001', 'Order for alice shipped');
      await a.appendLines([line({ receivedAt: T0, message: 'start', template: tpl('dddd000000000000', 'start') })]);
      await a.appendLines([line({ receivedAt: T0 + 2 * DAY, message: 'Order for alice shipped', template: old })]);
      const general = tpl('dddd000000000002', 'Order for <*> shipped', [old.id]);
      await b.appendLines([
        line({ receivedAt: T0 + 2 * DAY + HOUR, message: 'Order for bob shipped', template: general }),
        line({ receivedAt: T0 + 2 * DAY + HOUR, message: 'Order for carol shipped', template: tpl(general.id, general.text) }),
      ]);
      const list = await a.templates({ projectId: project.id, since: T0 + 2 * DAY });
      assert.deepEqual(list.map((t) => t.id), [general.id, 'dddd000000000000'], 'the alias is not listed');
      const merged = list[0]!;
      assert.equal(merged.count, 3);
      assert.equal(merged.firstSeen, T0 + 2 * DAY);
      assert.equal(merged.noticedAt, T0 + 2 * DAY, 'the notice of the template it generalised, not a second one');
      assert.deepEqual(merged.hours, [{ hour: T0 + 2 * DAY, count: 1 }, { hour: T0 + 2 * DAY + HOUR, count: 2 }]);
      assert.deepEqual((await b.searchLines({ projectId: project.id, templateId: general.id })).map((l) => l.message), ['Order for carol shipped', 'Order for bob shipped', 'Order for alice shipped']);
      // A line still mined under the old id (another process, or before a restart) counts under the new one.
      await a.appendLines([line({ receivedAt: T0 + 2 * DAY + 2 * HOUR, message: 'Order for alice shipped', template: old })]);
      assert.equal((await b.templates({ projectId: project.id, since: 0 }))[0]!.count, 4);
      assert.equal((await b.newPatterns(0)).filter((t) => t.projectId === project.id).length, 1);
    });

    it('adds per-minute operation latencies with a rule batch (mergeable histograms) and prunes them with old template counts', async () => {
      await a.appendLines([line({ receivedAt: T0, message: 'x', template: tpl('eeee000000000001', 'x') })]);
      const [stored] = await a.searchLines({ projectId: project.id });
      const from = await a.ruleCursor();
      const minute = T0;
      assert.ok(
        await a.commitRuleBatch({
          from,
          to: stored!.id,
          states: [],
          notifications: [],
          matches: [],
          latency: [
            { projectId: project.id, operation: 'payment', minute, buckets: [0, 2, 1], count: 3, sumMs: 30 },
            { projectId: project.id, operation: 'check_balance', minute, buckets: [1], count: 1, sumMs: 1 },
          ],
        }),
      );
      assert.ok(await b.commitRuleBatch({ from: stored!.id, to: stored!.id, states: [], notifications: [], matches: [], latency: [{ projectId: project.id, operation: 'payment', minute, buckets: [0, 0, 1, 4], count: 5, sumMs: 70 }] }));
      const rows = await b.operationLatency(project.id, minute, minute);
      assert.deepEqual(rows.map((r) => [r.operation, r.buckets, r.count, r.sumMs]), [['check_balance', [1], 1, 1], ['payment', [0, 2, 2, 4], 8, 100]]);
      assert.deepEqual(await b.operationLatency(project.id, minute + 60_000, minute + 120_000), []);
      await a.pruneLines(T0 + 2 * HOUR);
      assert.deepEqual(await b.operationLatency(project.id, minute, minute), []);
      assert.deepEqual(await b.templates({ projectId: project.id, since: 0 }), []);
    });
  });
}

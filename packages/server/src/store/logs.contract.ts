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

    it('stores every part of a line and reads it back newest first, and by id after a cursor', async () => {
      const result = await a.appendLines([
        line({ message: 'first', fields: { user_id: '42', operation: 'check_balance', duration_ms: '45' } }),
        line({ message: 'second', level: 'error', logger: null, environment: null, release: null, source: 'sentry', lineId: 'x-1' }),
      ]);
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
      assert.deepEqual(after[0], { id: first!.id, projectId: project.id, time: 1_000_000, receivedAt: 1_000_500, level: 'info', message: 'first' }, 'the rules\' read: only what they use');
      const whole = await b.linesByIds([second!.id, first!.id, second!.id + 1_000_000]);
      assert.deepEqual(whole, [first, second], 'whole lines by id, in id order; an id not stored is left out');
      assert.deepEqual(await a.linesByIds([]), []);
      assert.equal(await b.lastLineId(), second!.id, 'the newest id, seen from the other connection');
      assert.equal(await a.countLines(project.id), 2);
    });

    it('stores a line id once per project: repeats in one append, in a later append and from the other connection are duplicates', async () => {
      assert.deepEqual(await a.appendLines([line({ lineId: 'l-1' }), line({ lineId: 'l-1' }), line({ lineId: 'l-2' }), line()]), { accepted: 3, duplicates: 1 });
      assert.deepEqual(await b.appendLines([line({ lineId: 'l-2' }), line({ lineId: 'l-3' }), line()]), { accepted: 2, duplicates: 1 });
      const other = await store.createProject({ name: `Logs other ${seq}`, shortIdPrefix: 'L' });
      assert.deepEqual(await a.appendLines([line({ projectId: other.id, lineId: 'l-1' })]), { accepted: 1, duplicates: 0 }, 'ids are per project');
      assert.equal(await a.countLines(project.id), 5);
      assert.deepEqual(await a.appendLines([]), { accepted: 0, duplicates: 0 });
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
  });
}

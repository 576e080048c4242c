import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { LogStore, RuleLine, StoredRun } from '../store/logs.js';
import { DEFAULT_LOG_RULES } from './config.js';
import type { SpoolItemInput } from '../store/store.js';
import { EXPEDITE_LAG, LogRuleEvaluator, MAX_HANDED_LINES, MAX_RULE_LAG, lineEventId, type LogRulesDeps } from './evaluator.js';

/** An evaluator over a stand-in store: no projects (so no rules), no lease unless given. */
function evaluatorWith(logs: LogStore, over: Partial<LogRulesDeps> = {}): LogRuleEvaluator {
  return new LogRuleEvaluator({
    logs,
    store: { getProject: async () => undefined, getProjectSettings: async () => ({}) } as never,
    config: { retentionDays: 7, limits: { maxBodyBytes: 1, maxDecompressedBytes: 1 }, overrides: { '*': { ...DEFAULT_LOG_RULES } } },
    spoolEvents: async () => undefined,
    lease: async () => false,
    notify: () => undefined,
    clock: { now: () => 0 },
    logger: pino({ level: 'silent' }),
    workerId: 'w',
    ...over,
  });
}

describe('LogRuleEvaluator.waitForRules (appends wait while too many lines wait for the rules)', () => {
  function evaluatorOver(position: { last: number; cursor: number }) {
    return evaluatorWith({ lastLineId: async () => position.last, ruleCursor: async () => position.cursor } as unknown as LogStore);
  }
  const settled = async (p: Promise<void>) => {
    let done = false;
    void p.then(() => (done = true));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    return done;
  };

  it('resolves at once while the backlog is within the bound', async () => {
    assert.equal(await settled(evaluatorOver({ last: MAX_RULE_LAG + 10, cursor: 10 }).waitForRules()), true);
  });

  it('waits while the backlog is over the bound, and resolves once the rules have caught up', async () => {
    const position = { last: MAX_RULE_LAG + 11, cursor: 10 };
    const waiting = evaluatorOver(position).waitForRules();
    assert.equal(await settled(waiting), false, 'held while one line too many waits');
    position.cursor = 11;
    await waiting;
  });

  it('lets waiting appends through in arrival order', async () => {
    const position = { last: MAX_RULE_LAG + 11, cursor: 10 };
    const evaluator = evaluatorOver(position);
    const order: number[] = [];
    const first = evaluator.waitForRules().then(() => order.push(1));
    const second = evaluator.waitForRules().then(() => order.push(2));
    assert.equal(await settled(first.then(() => undefined)), false);
    position.cursor = 11;
    await Promise.all([first, second]);
    assert.deepEqual(order, [1, 2]);
  });

  it('takes the senders in turn: a quiet sender waits for one append of a flooding one, not all it has in flight', async () => {
    const position = { last: MAX_RULE_LAG + 11, cursor: 10 };
    const evaluator = evaluatorOver(position);
    const order: string[] = [];
    const flood = [1, 2, 3, 4].map((n) => evaluator.waitForRules(7).then(() => order.push(`flood ${n}`)));
    const quiet = evaluator.waitForRules(8).then(() => order.push('quiet'));
    assert.equal(await settled(quiet.then(() => undefined)), false, 'held while the backlog is over the bound');
    position.cursor = 11;
    await Promise.all([...flood, quiet]);
    assert.deepEqual(order, ['flood 1', 'quiet', 'flood 2', 'flood 3', 'flood 4']);
  });

  it('passes a failure to read the backlog to that append only; the next ones still get their turn', async () => {
    let fail = true;
    const logs = {
      lastLineId: async () => {
        if (fail) {
          fail = false;
          throw new Error('database unavailable');
        }
        return 0;
      },
      ruleCursor: async () => 0,
    };
    const evaluator = evaluatorOver({ last: 0, cursor: 0 });
    (evaluator as unknown as { deps: { logs: unknown } }).deps.logs = logs;
    const first = evaluator.waitForRules(1);
    const second = evaluator.waitForRules(2);
    await assert.rejects(first, /database unavailable/);
    await second;
  });
});

describe('LogRuleEvaluator.handOver (the rules take the lines just stored from memory)', () => {
  const ruleLine = (id: number): RuleLine => ({ id, projectId: 1, time: id, receivedAt: id, level: 'info', message: `line ${id}`, operation: null, durationMs: null });
  const run = (after: number, ids: number[]): StoredRun => ({ after, lines: ids.map(ruleLine) });

  /** A store holding lines 1..`last`; counts what the evaluator reads back and judges. */
  function setUp(last: number) {
    const db = { cursor: 0, readBack: [] as number[], judged: [] as number[] };
    const logs = {
      ruleCursor: async () => db.cursor,
      linesAfter: async (from: number, limit: number) => {
        const ids = Array.from({ length: Math.max(0, Math.min(limit, last - from)) }, (_, i) => from + 1 + i);
        db.readBack.push(...ids);
        return ids.map(ruleLine);
      },
      ruleStates: async () => [],
      commitRuleBatch: async (batch: { from: number; to: number }) => {
        if (batch.from !== db.cursor) return false;
        db.cursor = batch.to;
        return true;
      },
    } as unknown as LogStore;
    const evaluator = evaluatorWith(logs, { lease: async () => true, batchSize: 10 });
    (evaluator as unknown as { stopped: boolean }).stopped = false; // accepts hand-overs without its timers
    return { db, evaluator };
  }

  it('judges runs that join on the cursor without reading them back', async () => {
    const { db, evaluator } = setUp(6);
    evaluator.handOver(run(0, [1, 2, 3]));
    evaluator.handOver(run(3, [4, 5, 6]));
    assert.equal(await evaluator.runOnce(), 6);
    assert.deepEqual(db.readBack, []);
    assert.equal(db.cursor, 6);
    assert.deepEqual(evaluator.sources, { memory: 6, database: 0 });
  });

  it('reads back what does not join on the cursor (lines stored elsewhere, a restart)', async () => {
    const { db, evaluator } = setUp(9);
    evaluator.handOver(run(2, [3, 4]));
    evaluator.handOver(run(6, [7, 8, 9])); // 5 and 6 were stored by another writer
    assert.equal(await evaluator.runOnce(), 9, 'from 0 the first run does not join on (it starts after 2): read back, 10 at most, 1..9 exist');
    assert.deepEqual(db.readBack, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(evaluator.sources, { memory: 0, database: 9 });
  });

  it('takes a run partly judged already from where the cursor is, and stops at a gap', async () => {
    const { db, evaluator } = setUp(9);
    db.cursor = 2;
    evaluator.handOver(run(0, [1, 2, 3, 4]));
    evaluator.handOver(run(6, [7, 8, 9]));
    assert.equal(await evaluator.runOnce(), 2, 'lines 3 and 4 from memory; 5.. are not continuous with the run');
    assert.deepEqual(db.readBack, []);
    assert.equal(await evaluator.runOnce(), 5, 'then 5..9 read back (the runs after the gap are behind the cursor now)');
    assert.deepEqual(db.readBack, [5, 6, 7, 8, 9]);
    assert.deepEqual(evaluator.sources, { memory: 2, database: 5 });
  });

  it('keeps at most MAX_HANDED_LINES in memory (the oldest go, read back later)', async () => {
    const { db, evaluator } = setUp(MAX_HANDED_LINES + 100);
    for (let after = 0; after < MAX_HANDED_LINES + 100; after += 100) evaluator.handOver(run(after, Array.from({ length: 100 }, (_, i) => after + 1 + i)));
    await evaluator.runOnce();
    assert.deepEqual(db.readBack.slice(0, 3), [1, 2, 3], 'the first run was dropped: read back');
  });
});

describe('LogRuleEvaluator expedites forbidden lines while the rules are behind', () => {
  const line = (id: number, message: string): RuleLine => ({ id, projectId: 1, time: id, receivedAt: id, level: 'error', message, operation: null, durationMs: null });
  const runOf = (after: number, messages: string[]): StoredRun => ({ after, lines: messages.map((m, i) => line(after + 1 + i, m)) });

  function setUp() {
    const spooled: SpoolItemInput[] = [];
    const logs = {
      linesByIds: async (ids: number[]) => ids.map((id) => ({ ...line(id, `whole ${id}`), logger: null, fields: {}, environment: null, release: null, source: 'ndjson', lineId: null, rule: null, eventId: null, templateId: null })),
    } as unknown as LogStore;
    const evaluator = evaluatorWith(logs, {
      store: { getProject: async () => ({ id: 1, slug: 'bot' }), getProjectSettings: async () => ({}) } as never,
      spoolEvents: async (items) => void spooled.push(...items),
    });
    (evaluator as unknown as { stopped: boolean }).stopped = false; // accepts hand-overs without its timers
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };
    return { spooled, evaluator, settle };
  }

  it('leaves them to the rules while the rules keep up', async () => {
    const { spooled, evaluator, settle } = setUp();
    evaluator.handOver(runOf(0, ['Database connection lost']));
    await settle();
    assert.deepEqual(spooled, []);
  });

  it('spools the first per pattern and minute at once, with the id the rules give it (a duplicate when they reach it)', async () => {
    const { spooled, evaluator, settle } = setUp();
    const backlog = Array.from({ length: EXPEDITE_LAG + 1 }, (_, i) => `update ${i} handled`);
    evaluator.handOver(runOf(0, backlog));
    evaluator.handOver(runOf(backlog.length, ['fine', 'Database connection lost: retrying', 'Database connection lost again', 'Queue full']));
    await settle();
    const first = backlog.length + 2;
    const queue = backlog.length + 4;
    assert.deepEqual(
      spooled.map((s) => s.eventId),
      [lineEventId({ projectId: 1, id: first }), lineEventId({ projectId: 1, id: queue })],
    );
    assert.equal(evaluator.expeditedTotal, 2);
    const event = JSON.parse(spooled[0]!.payload.toString()) as { message: string; fingerprint: string[] };
    assert.equal(event.message, `whole ${first}`, 'the whole line, as the rules make it');
    evaluator.handOver(runOf(backlog.length + 4, ['Database connection lost once more']));
    await settle();
    assert.equal(spooled.length, 2, 'one per pattern and minute: the rules send the rest');
  });

  it('tests each line against the patterns once: the rules skip the lines the expedite found clean, and still judge the rest', async () => {
    const { spooled, evaluator, settle } = setUp();
    const db = { cursor: 0 };
    Object.assign((evaluator as unknown as { deps: { logs: object } }).deps.logs, {
      ruleCursor: async () => db.cursor,
      ruleStates: async () => [],
      commitRuleBatch: async (batch: { to: number; matches: unknown[] }) => ((db.cursor = batch.to), true),
    });
    (evaluator as unknown as { deps: { lease: () => Promise<boolean>; batchSize: number } }).deps.lease = async () => true;
    (evaluator as unknown as { deps: { batchSize: number } }).deps.batchSize = 10_000;
    const set = (await evaluator.rulesFor(1))!.set!;
    let tests = 0;
    const test = set.anyPattern!.test.bind(set.anyPattern);
    set.anyPattern!.test = (text: string) => (tests++, test(text));
    const messages = [...Array.from({ length: EXPEDITE_LAG + 1 }, (_, i) => `update ${i} handled`), 'Queue full'];
    evaluator.handOver(runOf(0, messages.slice(0, EXPEDITE_LAG + 1)));
    evaluator.handOver(runOf(EXPEDITE_LAG + 1, ['update handled', 'Queue full']));
    await settle();
    assert.equal(spooled.length, 1, 'expedited');
    assert.equal(await evaluator.runOnce(), EXPEDITE_LAG + 3);
    assert.equal(tests, EXPEDITE_LAG + 1 + 2 + 1, 'the backlog by the rules, the second run by the expedite, its forbidden line again by the rules');
    assert.deepEqual(spooled.map((s) => s.eventId), [lineEventId({ projectId: 1, id: EXPEDITE_LAG + 3 }), lineEventId({ projectId: 1, id: EXPEDITE_LAG + 3 })], 'the rules make the same event');
  });
});

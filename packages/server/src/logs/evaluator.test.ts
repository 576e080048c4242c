import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { LogStore } from '../store/logs.js';
import { DEFAULT_LOG_RULES } from './config.js';
import { LogRuleEvaluator, MAX_RULE_LAG } from './evaluator.js';

describe('LogRuleEvaluator.waitForRules (appends wait while too many lines wait for the rules)', () => {
  function evaluatorOver(position: { last: number; cursor: number }) {
    const logs = { lastLineId: async () => position.last, ruleCursor: async () => position.cursor } as unknown as LogStore;
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
    });
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
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogLine } from '../store/logs.js';
import { alternation, compileLogRules, DEFAULT_LOG_RULES } from './config.js';
import { applyLine, type RuleEffects, type RuleState } from './rules.js';

const LINES = [
  'QUEUE FULL on worker 3',
  'Queue full',
  'lock acquisition failed',
  'Lock acquisition failed for user 7',
  'OID 99999 is out of range',
  'Duplicate update_id 12',
  'duplicate update_id 12',
  'User balance checked for 12 in 4 ms',
  '',
];

function line(id: number, message: string): LogLine {
  return { id, projectId: 1, time: id * 1000, receivedAt: id * 1000, level: 'info', logger: null, message, fields: {}, environment: null, release: null, source: 'ndjson', lineId: null, rule: null, eventId: null };
}

describe('the log rules\' one-pass pattern alternation', () => {
  it('matches a line exactly when one of its patterns does, each pattern keeping its own flags', () => {
    const patterns = ['(?i)queue full', 'Lock acquisition failed', 'OID.*out of range', 'Duplicate update_id', '^$'];
    const any = alternation(patterns)!;
    assert.ok(any, 'the rules get one alternation');
    const one = patterns.map((p) => alternation([p])!);
    for (const text of LINES) assert.equal(any.test(text), one.some((r) => r.test(text)), JSON.stringify(text));
    assert.equal(any.test('lock acquisition failed'), false, '(?i) of the first pattern does not reach the second');
    assert.equal(alternation([]), null);
  });

  it('decides every line as the patterns one by one do', () => {
    const spec = { ...DEFAULT_LOG_RULES, forbidden: ['(?i)queue full', 'OID.*out of range'], rateLimited: [{ pattern: 'Duplicate update_id', count: 1, windowSeconds: 30 }] };
    const withAlternation = compileLogRules(spec)!;
    assert.ok(withAlternation.anyPattern);
    const decide = (rules: typeof withAlternation) => {
      const effects: RuleEffects = { events: [], notifications: [], matches: [] };
      const states = new Map<string, RuleState>();
      LINES.forEach((text, i) => applyLine(line(i + 1, text), rules, states, effects));
      return { matches: effects.matches.map((m) => [m.line.id, m.rule]), events: effects.events.length, notifications: effects.notifications.length };
    };
    const fast = decide(withAlternation);
    assert.deepEqual(fast, decide({ ...withAlternation, anyPattern: null }));
    assert.deepEqual(fast.matches, [[1, 'forbidden:(?i)queue full'], [2, 'forbidden:(?i)queue full'], [5, 'forbidden:OID.*out of range'], [6, 'rate:Duplicate update_id']]);
  });
});

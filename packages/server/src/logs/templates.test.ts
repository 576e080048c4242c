import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TemplateMiner, templateIdOf, tokenize } from './templates.js';

// Messages as seed 002's bot writes them (forbidden, rate-limited and structured lines).
const FORBIDDEN = [
  "Object of type Decimal is not JSON serializable: Decimal('12.50')",
  'OID 4294967296 out of range for advisory lock',
  'Error handling request',
  'Lock acquisition failed after 3 attempts',
  'Queue full: 81 updates waiting',
  'Database connection lost',
  'Webhook timeout after 812ms',
];

describe('tokenize (masking)', () => {
  it('masks numbers, ids, hex, UUIDs, durations, IPs and emails', () => {
    assert.deepEqual(tokenize('Webhook timeout after 812ms for update 1002 from 149.154.167.220'), [
      'Webhook', 'timeout', 'after', '<duration>', 'for', 'update', '<int>', 'from', '<ip>',
    ]);
    assert.equal(tokenize('generation 3f2a9c1e-0b7d-4c55-9a1e-2f6b8d0c4e11 took 1.5s').join(' '), 'generation <uuid> took <duration>');
    assert.equal(tokenize('file AgADBAADr6cxG1 hash 9f86d081884c7d659a2f').join(' '), 'file <id> hash <hex>');
    assert.equal(tokenize('receipt sent to ivan@example.org').join(' '), 'receipt sent to <email>');
    assert.equal(tokenize('User balance checked user_id=123456789 balance=-12.5').join(' '), 'User balance checked user_id=<int> balance=<float>');
  });

  it('uses the first line only (a traceback below does not make every crash its own template)', () => {
    assert.deepEqual(tokenize('Error handling request\nTraceback (most recent call last):\n  File "x.py"'), ['Error', 'handling', 'request']);
  });
});

describe('TemplateMiner', () => {
  it('puts rate-limited repeats under one template, new the first time only', () => {
    const miner = new TemplateMiner();
    const first = miner.add('Duplicate update_id 849302117');
    const second = miner.add('Duplicate update_id 849302118');
    assert.equal(first.isNew, true);
    assert.equal(second.isNew, false);
    assert.equal(second.templateId, first.templateId);
    assert.equal(second.template, 'Duplicate update_id <int>');
    assert.equal(second.count, 2);
  });

  it("keeps seed 002's seven forbidden patterns apart", () => {
    const miner = new TemplateMiner();
    const ids = new Set(FORBIDDEN.map((m) => miner.add(m).templateId));
    assert.equal(ids.size, 7);
    assert.equal(miner.size, 7);
  });

  it('generalises differing words to <*> and says which id the template had before', () => {
    const miner = new TemplateMiner();
    const a = miner.add('Insufficient balance for user 5 model flux-pro');
    const b = miner.add('Insufficient balance for user 6 model sdxl');
    assert.equal(b.template, 'Insufficient balance for user <int> model <*>');
    assert.equal(b.previousId, a.templateId);
    assert.equal(b.templateId, templateIdOf(b.template));
    const c = miner.add('Insufficient balance for user 7 model kandinsky');
    assert.equal(c.templateId, b.templateId);
    assert.equal(c.previousId, undefined);
  });

  it('does not merge messages that share too little', () => {
    const miner = new TemplateMiner();
    miner.add('Model not found: flux');
    const other = miner.add('Payment not confirmed: stars');
    assert.equal(other.isNew, true);
  });

  it('gives the same ids in two processes fed the same lines', () => {
    const lines = [...FORBIDDEN, 'Duplicate update_id 1', 'Duplicate update_id 2', 'Model not found: flux', 'Model not found: sdxl'];
    const ids = (miner: TemplateMiner) => lines.map((l) => miner.add(l).templateId);
    assert.deepEqual(ids(new TemplateMiner()), ids(new TemplateMiner()));
  });

  it('is bounded: the least recently matched template is forgotten and its tree branch pruned', () => {
    const miner = new TemplateMiner({ maxTemplates: 3 });
    miner.add('alpha started');
    for (let i = 0; i < 50; i++) {
      miner.add(`word${'abcdefghij'[i % 10]}${'klmnopqrst'[Math.floor(i / 10)]} happened here now`);
      miner.add('alpha started'); // kept in use
    }
    assert.equal(miner.size, 3);
    assert.ok(miner.templates().some((t) => t.template === 'alpha started'), 'the template in use survives');
    assert.ok(miner.treeNodes() <= 1 + 3 * 3, `tree has ${miner.treeNodes()} nodes`);
    assert.equal(miner.add('wordak happened here now').isNew, true, 'an evicted template is new again');
  });

  it('handles empty and whitespace-only messages', () => {
    const miner = new TemplateMiner();
    assert.equal(miner.add('').template, '');
    assert.equal(miner.add('   ').isNew, false);
  });
});

describe('TemplateMiner.seed', () => {
  it('takes a stored template, so later messages join it rather than start their own', () => {
    const miner = new TemplateMiner();
    miner.seed('Insufficient balance for user <int> model <*>', 5);
    miner.seed('Insufficient balance for user <int> model <*>', 5);
    assert.equal(miner.size, 1, 'a known template is not added twice');
    const match = miner.add('Insufficient balance for user 9 model flux');
    assert.equal(match.isNew, false);
    assert.equal(match.template, 'Insufficient balance for user <int> model <*>');
    assert.equal(match.count, 6);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { mirroredCounter } from './mirrored-counter.js';
import { leaveOutFailedReads } from './registry.js';

/** The sample lines of one scrape (comments left out). */
async function samples(register: Registry): Promise<string[]> {
  return (await register.metrics()).split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('mirroredCounter', () => {
  it('shows the figure as it is at each scrape, not the sum of the scrapes', async () => {
    const register = new Registry();
    const owner = { restarts: 2 };
    mirroredCounter(register, { name: 'test_restarts_total', help: 'Restarts.', read: () => owner.restarts });
    assert.deepEqual(await samples(register), ['test_restarts_total 2']);
    owner.restarts = 5;
    assert.deepEqual(await samples(register), ['test_restarts_total 5']);
    assert.deepEqual(await samples(register), ['test_restarts_total 5']);
  });

  it('shows labelled counts in the order read, dropping a label set the read no longer gives', async () => {
    const register = new Registry();
    const byKind = new Map([['transaction', 3], ['event', 0]]);
    mirroredCounter(register, { name: 'test_items_total', help: 'Items.', labelNames: ['kind'], read: () => [...byKind].map(([kind, n]) => [{ kind }, n]) });
    assert.deepEqual(await samples(register), ['test_items_total{kind="transaction"} 3', 'test_items_total{kind="event"} 0']);
    byKind.set('event', 4).set('log', 1).delete('transaction');
    assert.deepEqual(await samples(register), ['test_items_total{kind="event"} 4', 'test_items_total{kind="log"} 1']);
  });

  it('waits for an async read', async () => {
    const register = new Registry();
    let refused = 1;
    mirroredCounter(register, {
      name: 'test_refused_total',
      help: 'Refused.',
      labelNames: ['bot', 'reason'],
      read: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return [[{ bot: 'pay-bot', reason: 'limit' }, refused]];
      },
    });
    assert.deepEqual(await samples(register), ['test_refused_total{bot="pay-bot",reason="limit"} 1']);
    refused = 3;
    assert.deepEqual(await samples(register), ['test_refused_total{bot="pay-bot",reason="limit"} 3']);
  });

  it('keeps the last counts when a read fails, rather than dropping to 0', async () => {
    const register = new Registry();
    let failing = false;
    mirroredCounter(register, {
      name: 'test_discarded_total',
      help: 'Discarded.',
      labelNames: ['bot'],
      read: async () => {
        if (failing) throw new Error('the database is away');
        return [[{ bot: 'pay-bot' }, 7]];
      },
    });
    // As /metrics serves it: a failed read is noted and the family shown as it stands.
    const unread = leaveOutFailedReads(register);
    assert.deepEqual(await samples(register), ['test_discarded_total{bot="pay-bot"} 7']);
    failing = true;
    assert.deepEqual(await samples(register), ['test_discarded_total{bot="pay-bot"} 7']);
    assert.deepEqual(unread.map((u) => u.metric), ['test_discarded_total']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlertState } from '../store/alerts.js';
import { decideFollowUp, decideTrigger, type TriggerInput } from './cooldown.js';

const input = (over: Partial<TriggerInput> = {}): TriggerInput => ({
  fingerprint: 'issue:1',
  projectId: 1,
  issueId: 1,
  tier: 'alert',
  reasons: ['frequency'],
  now: 10_000,
  cooldownMs: 300_000,
  groupWindowMs: 3000,
  destinations: [{ channel: 'telegram', target: '-100' }],
  silenced: false,
  ...over,
});

const sent = (over: Partial<AlertState> = {}): AlertState => ({
  fingerprint: 'issue:1',
  projectId: 1,
  issueId: 1,
  tier: 'alert',
  cooldownUntil: 310_000,
  pending: null,
  lastEnqueuedAt: 10_000,
  lastSentAt: 10_000,
  eventsAtLast: 1,
  usersAtLast: 1,
  repeatAt: null,
  ackedAt: null,
  ackedBy: null,
  awaitingSend: [],
  ...over,
});

describe('noise control', () => {
  it('sends a first alert after the grouping window and starts the cooldown', () => {
    const d = decideTrigger(null, input({ reasons: ['new'] }));
    assert.equal(d.enqueue.length, 1);
    assert.equal(d.enqueue[0]!.notBefore, 13_000);
    assert.equal(d.state!.cooldownUntil, 310_000);
    assert.equal(d.log[0]!.outcome, 'enqueued');
  });

  it('holds a trigger inside the cooldown as pending, once, and sends it when the cooldown ends', () => {
    const held = decideTrigger(sent(), input({ now: 20_000 }));
    assert.deepEqual(held.enqueue, []);
    assert.deepEqual(held.state!.pending, { tier: 'alert', reasons: ['frequency'] });
    assert.deepEqual(decideTrigger(held.state, input({ now: 21_000 })), { state: null, enqueue: [], log: [] }, 'a storm writes nothing more');
    assert.deepEqual(decideFollowUp(held.state, { now: 309_999, cooldownMs: 300_000, groupWindowMs: 3000, destinations: input().destinations, issueStatus: 'new', issueEvents: 5, silenced: false }).enqueue, []);
    const flushed = decideFollowUp(held.state, { now: 310_000, cooldownMs: 300_000, groupWindowMs: 3000, destinations: input().destinations, issueStatus: 'new', issueEvents: 5, silenced: false });
    assert.equal(flushed.enqueue.length, 1);
    assert.equal(flushed.state!.pending, null);
    assert.equal(flushed.state!.cooldownUntil, 610_000);
  });

  it('holds a trigger for a destination whose last message is still in the outbox; the others get it', () => {
    // The cooldown ended long ago by the decision's clock, but the chat's message has not gone out yet.
    const chatWaits = sent({ cooldownUntil: 0, awaitingSend: ['telegram:-100'] });
    const held = decideTrigger(chatWaits, input({ now: 20_000 }));
    assert.deepEqual(held.enqueue, [], 'the only destination waits: nothing is enqueued');
    assert.deepEqual(held.state!.pending, { tier: 'alert', reasons: ['frequency'] }, 'the trigger is held');
    const both = input({ now: 20_000, destinations: [{ channel: 'telegram', target: '-100' }, { channel: 'webhook', target: 'http://hook' }] });
    const split = decideTrigger(chatWaits, both);
    assert.deepEqual(split.enqueue.map((r) => r.channel), ['webhook'], 'the webhook is not held up by the chat');
    assert.deepEqual(split.state!.pending, { tier: 'alert', reasons: ['frequency'] }, 'and the chat gets it after its cooldown');
    assert.equal(decideTrigger(chatWaits, input({ now: 20_000, reasons: ['regression'] })).enqueue.length, 1, 'a new incident still goes out');

    const base = { cooldownMs: 300_000, groupWindowMs: 3000, destinations: input().destinations, issueStatus: 'new' as const, issueEvents: 5, silenced: false };
    const due = { ...held.state!, cooldownUntil: 100_000 };
    const later = decideFollowUp(due, { ...base, now: 400_000 });
    assert.deepEqual(later.enqueue, [], 'no follow-up before the waiting message is sent');
    assert.equal(later.state!.cooldownUntil, 700_000, 'looked at again a cooldown later (markSent moves it to the send + cooldown)');
    assert.deepEqual(later.state!.pending, held.state!.pending, 'nothing cleared');
    const sentNow = decideFollowUp({ ...due, awaitingSend: [] }, { ...base, now: 400_000 });
    assert.equal(sentNow.enqueue.length, 1, 'once it went out, the held trigger follows');
  });

  it('drops a held trigger the last message already covered (no event since it), unless it asked for a higher tier', () => {
    const base = { now: 400_000, cooldownMs: 300_000, groupWindowMs: 3000, destinations: input().destinations, issueStatus: 'new' as const, silenced: false };
    const covered = sent({ eventsAtLast: 5, pending: { tier: 'alert', reasons: ['frequency'] } });
    const dropped = decideFollowUp(covered, { ...base, issueEvents: 5 });
    assert.deepEqual(dropped.enqueue, []);
    assert.equal(dropped.state!.pending, null);
    assert.equal(decideFollowUp(covered, { ...base, issueEvents: 6 }).enqueue.length, 1, 'an event since: it goes out');
    const escalated = sent({ eventsAtLast: 5, pending: { tier: 'critical', reasons: ['level'] } });
    assert.equal(decideFollowUp(escalated, { ...base, issueEvents: 5 }).enqueue[0]?.tier, 'critical');
  });

  it('sends a regression even inside the cooldown, and asks for a new acknowledgement', () => {
    const d = decideTrigger(sent({ ackedAt: 5, ackedBy: '@ada' }), input({ now: 20_000, reasons: ['regression'] }));
    assert.equal(d.enqueue.length, 1);
    assert.equal(d.state!.ackedAt, null);
  });

  it('sends critical alerts at once and repeats them until acknowledged', () => {
    const d = decideTrigger(null, input({ tier: 'critical', reasons: ['new', 'level'] }));
    assert.equal(d.enqueue[0]!.notBefore, 10_000, 'no grouping wait');
    const state = sent({ tier: 'critical', repeatAt: 50_000 });
    const base = { cooldownMs: 300_000, groupWindowMs: 3000, destinations: input().destinations, silenced: false, issueEvents: 5 };
    const repeat = decideFollowUp(state, { ...base, now: 50_000, issueStatus: 'new' });
    assert.deepEqual(repeat.enqueue[0]!.reasons, ['repeat']);
    assert.equal(repeat.state!.repeatAt, null, 'set again when the repeat is actually sent');
    assert.deepEqual(decideFollowUp({ ...state, ackedAt: 1 }, { ...base, now: 50_000, issueStatus: 'new' }).enqueue, []);
    assert.deepEqual(decideFollowUp(state, { ...base, now: 50_000, issueStatus: 'in_progress' }).enqueue, [], 'acknowledged in the dashboard');
    assert.deepEqual(decideFollowUp(state, { ...base, now: 50_000, issueStatus: 'resolved' }).state!.repeatAt, null);
  });

  it('records warnings and silenced alerts without sending them', () => {
    assert.equal(decideTrigger(null, input({ tier: 'warning' })).log[0]!.outcome, 'recorded');
    assert.equal(decideTrigger(null, input({ silenced: true })).log[0]!.outcome, 'silenced');
    assert.equal(decideTrigger(null, input({ destinations: [] })).log[0]!.outcome, 'no_target');
    for (const outcome of ['warning', 'silenced', 'none'] as const) {
      const d = decideTrigger(null, input(outcome === 'warning' ? { tier: 'warning' } : outcome === 'silenced' ? { silenced: true } : { destinations: [] }));
      assert.deepEqual(d.enqueue, []);
    }
  });
});

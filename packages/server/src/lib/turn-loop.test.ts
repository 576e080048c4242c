import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeldLease, TurnLoop, type LeaseTable } from './turn-loop.js';

const HOUR = 3_600_000;

/** A turn that waits until let go, so a test can act while it runs. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('TurnLoop', { timeout: 10_000 }, () => {
  it('a kick while a turn runs is kept: the next turn starts without the hour-long sleep', async () => {
    const first = gate();
    const second = gate();
    let turns = 0;
    const loop = new TurnLoop({
      turn: async () => {
        turns += 1;
        if (turns === 1) await first.wait;
        else second.open();
      },
      failed: (err) => assert.fail(String(err)),
      waitMs: () => HOUR,
      unref: true,
    });
    loop.start();
    loop.kick();
    first.open();
    await second.wait;
    assert.equal(turns, 2);
    await loop.stop();
  });

  it('stop cuts the sleep short, and no turn starts after it', async () => {
    const turned = gate();
    let turns = 0;
    const loop = new TurnLoop({ turn: async () => void ((turns += 1), turned.open()), failed: () => {}, waitMs: () => HOUR, unref: true });
    loop.start();
    await turned.wait;
    await new Promise((resolve) => setImmediate(resolve)); // the loop is in its hour-long sleep now
    await loop.stop();
    assert.equal(turns, 1);
    assert.equal(loop.stopping, true);
    loop.kick();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(turns, 1);
  });

  it('a failed turn is reported and the loop goes on; a turn that names its wait is not given waitMs', async () => {
    const failures: unknown[] = [];
    const third = gate();
    let turns = 0;
    let waits = 0;
    const loop = new TurnLoop({
      turn: async () => {
        turns += 1;
        if (turns === 1) throw new Error('turn one broke');
        if (turns === 2) return 0;
        third.open();
      },
      failed: (err) => failures.push(err),
      waitMs: () => (waits += 1, 0),
    });
    loop.start();
    await third.wait;
    await loop.stop();
    assert.deepEqual(failures.map((e) => (e as Error).message), ['turn one broke']);
    assert.equal(waits, 1, 'only the failed turn asked for the default wait');
  });

  it('a waitMs that throws is reported and the loop goes on (it does not end without a trace)', async () => {
    const failures: unknown[] = [];
    const second = gate();
    let turns = 0;
    const loop = new TurnLoop({
      turn: async () => void ((turns += 1) === 2 && second.open()),
      failed: (err) => failures.push(err),
      waitMs: () => {
        if (turns === 1) throw new Error('next due time unreadable');
        return HOUR;
      },
    });
    loop.start();
    await second.wait;
    await loop.stop();
    assert.equal(turns, 2, 'a second turn ran after the failed wait');
    assert.deepEqual(failures.map((e) => (e as Error).message), ['next due time unreadable']);
  });
});

describe('HeldLease', () => {
  function table(grant: () => boolean) {
    const calls: string[] = [];
    const t: LeaseTable = {
      lease: async (name, holder, now, ttlMs) => (calls.push(`lease ${name} ${holder} ${now} ${ttlMs}`), grant()),
      releaseLease: async (name, holder) => void calls.push(`release ${name} ${holder}`),
    };
    return { t, calls };
  }

  it('renews at most five times a period, says when it is gained and lost, and releases only what it holds', async () => {
    let now = 1_000;
    let grant = true;
    const { t, calls } = table(() => grant);
    const changes: boolean[] = [];
    const lease = new HeldLease({ table: t, name: 'job', holder: 'p1', ttlMs: 10_000, now: () => now, changed: (held) => changes.push(held) });
    assert.equal(await lease.hold(), true);
    now += 1_999; // within a fifth of the period: no write
    assert.equal(await lease.hold(), true);
    now += 1; // a fifth: renewed
    assert.equal(await lease.hold(), true);
    grant = false;
    now += 2_000;
    assert.equal(await lease.hold(), false);
    assert.equal(lease.held, false);
    await lease.release(() => assert.fail('nothing to release'));
    assert.deepEqual(calls, ['lease job p1 1000 10000', 'lease job p1 3000 10000', 'lease job p1 5000 10000']);
    assert.deepEqual(changes, [true, false]);
  });

  it('a release that fails is reported, and the lease counts as let go', async () => {
    const t: LeaseTable = { lease: async () => true, releaseLease: async () => Promise.reject(new Error('database gone')) };
    const lease = new HeldLease({ table: t, name: 'job', holder: 'p1', ttlMs: 10_000, now: () => 0, changed: () => {} });
    await lease.hold();
    const failed: unknown[] = [];
    await lease.release((err) => failed.push(err));
    assert.deepEqual(failed.map((e) => (e as Error).message), ['database gone']);
    assert.equal(lease.held, false);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { describeHolder, LockHeldError, pollingLock } from './lock.js';

const REDIS_URL = process.env['BOTPULSE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function reachable(): Promise<string | false> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  try {
    await probe.connect();
    return false;
  } catch (error) {
    if (process.env['CI']) throw error;
    console.warn(`\n!!! SKIPPING Redis lock tests: ${REDIS_URL} unreachable !!!\n`);
    return 'Redis unreachable';
  } finally {
    probe.disconnect();
  }
}

describe('polling lock', async () => {
  const skip = await reachable();
  let redis: Redis;
  const key = `botpulse-test:unit-lock:${process.pid}:${Date.now()}`;
  before(() => {
    if (!skip) redis = new Redis(REDIS_URL);
  });
  after(async () => {
    if (skip) return;
    await redis.del(key);
    redis.disconnect();
  });

  it('refuses a TTL that does not exceed the poll timeout', () => {
    const fake = { set: async () => null, get: async () => null, eval: async () => 0 };
    assert.throws(() => pollingLock({ redis: fake, ttl: 30_000, pollTimeoutSec: 30 }), /must exceed the getUpdates timeout/);
    assert.doesNotThrow(() => pollingLock({ redis: fake, ttl: 30_001, pollTimeoutSec: 30 }));
  });

  it('a lock that expires between the refused SET and the GET is taken at once, not reported as held by an unknown process', async () => {
    // Scripted Redis: the SET is refused (held), the key is gone by the GET, the next SET wins.
    const sets = ['held', 'OK'];
    const fake = { set: async () => (sets.shift() === 'OK' ? 'OK' : null), get: async () => null, eval: async () => 0 };
    const waiter = pollingLock({ redis: fake, key: 'k', ttl: 600, pollTimeoutSec: 0 });
    const messages: string[] = [];
    await waiter.acquire({ wait: true, pollIntervalMs: 10, onWaiting: (_h, message) => void messages.push(message) });
    assert.equal(waiter.isHeld, true);
    assert.deepEqual(messages, [], 'no waiting message: nobody held it');
    assert.deepEqual(sets, [], 'two SETs: refused, then taken');
  });

  it('names the holder', () => {
    assert.equal(describeHolder({ host: 'web-1', pid: 7, env: 'production', ts: '2025-01-01T00:00:00.000Z' }), 'held by host web-1 pid 7 (production, since 2025-01-01T00:00:00.000Z)');
  });

  it('only the holder refreshes and releases; the other sees who holds it', { skip }, async () => {
    // A TTL far beyond the test's length: nothing here waits for it, a slow machine must not lose it.
    const a = pollingLock({ redis, key, ttl: 60_000, pollTimeoutSec: 1, env: 'test-a' });
    const b = pollingLock({ redis, key, ttl: 60_000, pollTimeoutSec: 1, env: 'test-b' });
    assert.equal(await a.tryAcquire(), true);
    assert.equal(await b.tryAcquire(), false);
    const stored = JSON.parse((await redis.get(key))!);
    assert.deepEqual(Object.keys(stored).sort(), ['env', 'host', 'pid', 'ts']);
    assert.equal(stored.env, 'test-a');
    await assert.rejects(b.acquire({ wait: false }), (error: unknown) => error instanceof LockHeldError && /held by host .* pid \d+ \(test-a, since /.test(error.message));
    assert.equal(await b.refresh(), false, 'a non-holder cannot refresh');
    assert.equal(await b.release(), false, 'a non-holder cannot release');
    assert.ok((await redis.pttl(key)) > 0);
    assert.equal(await a.refresh(), true);
    assert.equal(await a.release(), true);
    assert.equal(await redis.get(key), null);
  });

  it('a waiting process takes over only after the TTL of a dead holder', { skip }, async () => {
    const dead = pollingLock({ redis, key, ttl: 600, pollTimeoutSec: 0 });
    // Taken before the SET: the key expires no earlier than 600 ms after this, however slow the
    // machine is, so the bound below cannot fail on a busy CI runner.
    const beforeDeadHolder = Date.now();
    assert.equal(await dead.tryAcquire(), true); // never refreshed nor released: the holder "died"
    const waiter = pollingLock({ redis, key, ttl: 600, pollTimeoutSec: 0 });
    const messages: string[] = [];
    await waiter.acquire({ wait: true, pollIntervalMs: 50, onWaiting: (_h, message) => void messages.push(message) });
    assert.ok(Date.now() - beforeDeadHolder >= 595, 'took over only after the TTL');
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, /waiting for polling lock .* held by host/);
    await waiter.release();
  });
});

// The poller lock view: two bot processes with one token and one Redis; only the holder polls,
// Botpulse (BOTPULSE_REDIS_URL) names it, and `botpulse lock release` refuses a live holder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { redisUnavailable, REDIS_URL, uniquePrefix } from './sdk-support/redis.js';
import { MonitorHarness, sleep } from './monitors-support/harness.js';

const CLI = fileURLToPath(new URL('../../packages/server/dist/cli/main.js', import.meta.url));

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, BOTPULSE_LOG_LEVEL: 'silent' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('poller lock view', async () => {
  const skip = await redisUnavailable();
  let h: MonitorHarness;
  before(async () => {
    if (!skip) h = await MonitorHarness.start({ BOTPULSE_REDIS_URL: REDIS_URL });
  });
  after(async () => h?.close());

  it('names the holder, keeps the second process from polling, and refuses to release a live lock', { skip }, async () => {
    const key = uniquePrefix('monitor-lock');
    await h.createMonitor({ slug: 'locked-bot', periodSeconds: 5, graceSeconds: 5, lockKey: key });
    const { token } = h.tg.createBot();
    const first = h.startBot(token, 'locked-bot', { redisUrl: REDIS_URL, key });
    await first.waitForLine(/taken by host/);
    await h.waitForStatus('locked-bot', 'up', 15_000);
    const second = h.startBot(token, 'locked-bot', { redisUrl: REDIS_URL, key });
    await second.waitForLine(/waiting for polling lock/);
    await sleep(1000);
    const polls = h.tg.calls({ token, method: 'getUpdates' });
    assert.ok(polls.length > 0);
    assert.equal(h.tg.calls({ token, method: 'getUpdates', ok: false }).filter((c) => c.errorCode === 409).length, 0, 'no 409: the second process does not poll');

    const { json } = await h.api('GET', '/monitors?project=pay-bot');
    const view = json.monitors.find((m: { slug: string }) => m.slug === 'locked-bot');
    assert.equal(view.lock.source, 'redis');
    assert.equal(view.lock.pid, first.child.pid);
    assert.ok(view.lock.env, 'the env of the holder is shown');
    assert.ok(view.lock.ttlMs > 0);

    const status = cli(['lock', 'status', '--redis', REDIS_URL, '--key', key]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`pid ${first.child.pid}.*live`));
    const refused = cli(['lock', 'release', '--redis', REDIS_URL, '--key', key]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing to release .* is live/);
    const redis = new Redis(REDIS_URL);
    try {
      assert.ok(await redis.get(key), 'the lock is still there');
      // A stale lock with no expiry (a crashed tool): released and printed.
      const staleKey = `${key}:stale`;
      await redis.set(staleKey, JSON.stringify({ host: 'old-box', pid: 99, env: 'production', ts: '2020-01-01T00:00:00Z' }));
      const released = cli(['lock', 'release', '--redis', REDIS_URL, '--key', staleKey]);
      assert.equal(released.code, 0, released.stderr);
      assert.match(released.stdout, /released .*host old-box pid 99/);
      assert.equal(await redis.get(staleKey), null);
    } finally {
      redis.disconnect();
    }
  });
});

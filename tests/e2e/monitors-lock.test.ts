// The poller lock view: two bot processes with one token and one Redis; only the holder polls,
// Botpulse (BOTPULSE_REDIS_URL) names it, and `botpulse lock release` refuses a live holder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { redisUnavailable, REDIS_URL, uniquePrefix } from './sdk-support/redis.js';
import { MonitorHarness } from './monitors-support/harness.js';

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
    // Generous deadlines: two tsx children start on a loaded machine; they only bound a hang.
    await first.waitForLine(/taken by host/, 60_000);
    await h.waitForStatus('locked-bot', 'up', 60_000);
    const second = h.startBot(token, 'locked-bot', { redisUrl: REDIS_URL, key });
    await second.waitForLine(/waiting for polling lock/, 60_000);
    // The holder goes on polling while the second waits: two more long polls (1 s each) are the
    // window in which a second poller would have drawn a 409.
    const pollsBefore = h.tg.calls({ token, method: 'getUpdates' }).length;
    await h.tg.waitFor(() => h.tg.calls({ token, method: 'getUpdates' }).length >= pollsBefore + 2, { what: 'two more polls by the holder', timeoutMs: 60_000 });
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

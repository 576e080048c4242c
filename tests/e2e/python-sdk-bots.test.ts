// The `botpulse` Python package (issue 15) in bot processes: a python-telegram-bot 13 bot polling
// the fake Telegram against a real Botpulse server, with Debian's sentry-sdk 1.9 and with it
// hidden; and the Redis polling lock against the Node SDK's (packages/sdk lock.ts). docs/python.md.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { FakeTelegram } from '../../packages/fake-telegram/src/index.js';
import { redisUnavailable, REDIS_URL, uniquePrefix } from './sdk-support/redis.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { eventsOf, filesUnder, makeVenvs, run, SCRIPTS, skip, start, waitUntil, type Line, type Proc, type Venvs, LOCK_BOT } from './python-support/python.js';

describe('botpulse for Python: bots (issue 15)', { skip }, () => {
  let venvs: Venvs;
  before(async () => {
    venvs = await makeVenvs(false);
  });
  after(() => {
    if (venvs) rmSync(venvs.dir, { recursive: true, force: true });
  });

  for (const mode of ['sentry-sdk 1.9', 'no sentry-sdk'] as const) {
    describe(`a python-telegram-bot 13 bot, ${mode}`, () => {
      let server: TestServer;
      let tg: FakeTelegram;
      let bot: Proc | undefined;
      before(async () => {
        server = await startTestServer();
        tg = await FakeTelegram.start();
      });
      after(async () => {
        if (bot && bot.child.exitCode === null) bot.child.kill('SIGKILL');
        await tg.stop();
        await server.close();
      });

      it('reports a handler exception as one issue with the update context, counts noise, beats from getUpdates, and leaves no token in the data directory', async () => {
        const { token } = tg.createBot();
        const secret = token.split(':')[1]!;
        bot = start(venvs.system, [join(SCRIPTS, 'ptb_bot.py'), tg.apiRoot], {
          TELEGRAM_BOT_TOKEN_DEV: token,
          ENVIRONMENT: 'development',
          BOTPULSE_DSN: server.dsn,
          BOTPULSE_TEST_HIDE_SENTRY: mode === 'no sentry-sdk' ? '1' : '0',
        });
        const ready = await bot.waitFor((l) => l['event'] === 'ready', 'the bot to start');
        assert.equal(ready['sentry'], mode === 'sentry-sdk 1.9');
        await tg.waitFor(() => tg.isPolling(token), { what: 'the bot to poll', timeoutMs: 60_000 });
        tg.sendCommand(token, 'noise');
        const sent = tg.sendCommand(token, 'boom');
        const reported = await bot.waitFor((l) => l['event'] === 'reported', 'the error to be reported');
        assert.deepEqual(reported['counters'].noise, { rate_limited: 1 });

        const events = await waitUntil('the event', async () => {
          const all = await eventsOf(server);
          return all.length > 0 ? all : undefined;
        });
        assert.equal(events.length, 1, 'one event: the RetryAfter was noise');
        const { issues } = await server.botpulse.store.listIssues({ projectId: server.project.id });
        assert.equal(issues.length, 1);
        assert.match(issues[0]!.title, /^RuntimeError: payment failed/);
        const event = events[0]!;
        const telegram = (event.payload as any).contexts.telegram;
        assert.equal(telegram.update_type, 'message');
        assert.equal(telegram.update_id, (sent as any).update.update_id);
        assert.equal(telegram.chat_id, tg.defaultUser.id);
        assert.equal(telegram.user_id, tg.defaultUser.id);
        assert.equal(event.userKey, `tg:${tg.defaultUser.id}`);
        assert.equal(event.tags['update_type'], 'message');
        assert.equal(event.environment, 'development');

        // The heartbeat: check-ins from inside the polling loop, with the last successful getUpdates.
        const checkIn = await waitUntil('an ok check-in', async () => {
          const rows = await server.botpulse.store.listRawItems('check_in', { projectId: server.project.id });
          const parsed = rows.map((r) => JSON.parse(r.payload.toString('utf8')) as Line);
          return parsed.find((c) => c['status'] === 'ok' && c['contexts']?.polling?.last_get_updates_ok_at);
        });
        assert.equal(checkIn['monitor_slug'], 'ptb-bot');
        assert.match(checkIn['contexts'].polling.last_get_updates_ok_at, /^\d{4}-\d\d-\d\dT/);
        assert.deepEqual(checkIn['monitor_config'], { schedule: { type: 'interval', value: 1, unit: 'minute' }, checkin_margin: 4 });

        bot.child.kill('SIGTERM');
        await bot.exited;
        await server.digested();
        // No token anywhere: not in the stored events (decompressed), raw items, nor any file of the data directory.
        for (const stored of await eventsOf(server)) assert.ok(!JSON.stringify(stored).includes(secret), 'token in a stored event');
        for (const kind of ['check_in', 'log', 'transaction']) {
          for (const row of await server.botpulse.store.listRawItems(kind, { projectId: server.project.id })) assert.ok(!row.payload.includes(secret), `token in a ${kind}`);
        }
        for (const file of filesUnder(server.dataDir)) assert.ok(!file.bytes.includes(secret), `token in ${file.path}`);
      });
    });
  }

  describe('the polling lock against the Node SDK', async () => {
    const redisSkip = await redisUnavailable();
    let tg: FakeTelegram;
    const procs: Proc[] = [];
    before(async () => {
      tg = await FakeTelegram.start();
    });
    after(async () => {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(procs.map((p) => p.exited));
      await tg.stop();
    });

    it('a Python holder keeps a Node poller of the same token out, and the reverse; release_lock refuses a live holder without --force', { skip: redisSkip }, async () => {
      const { token } = tg.createBot();
      const key = uniquePrefix('pylock');
      const nodeBot = (mode: string) => {
        const p = start(process.execPath, ['--import', 'tsx', LOCK_BOT, tg.apiRoot, token, REDIS_URL, key, '3000', 'N', mode]);
        procs.push(p);
        return p;
      };
      const python = (...args: string[]) => {
        const p = start(venvs.system, [join(SCRIPTS, 'lock_holder.py'), REDIS_URL, key, '3000', ...args]);
        procs.push(p);
        return p;
      };

      const holder = python();
      const acquired = await holder.waitFor((l) => l['event'] === 'acquired', 'python to take the lock');
      assert.deepEqual(Object.keys(JSON.parse(acquired['value'])), ['host', 'pid', 'env', 'ts']);
      const refused = nodeBot('exit');
      const leaving = await refused.waitFor((l) => /not polling/.test(String(l['message'])), 'the Node bot to refuse');
      assert.match(leaving['message'], new RegExp(`held by host \\S+ pid ${holder.child.pid} \\(`));
      assert.equal(await refused.exited, 1);
      assert.equal(tg.calls({ method: 'getUpdates' }).length, 0, 'the Node bot never polled');
      holder.child.kill('SIGTERM');
      assert.equal((await holder.waitFor((l) => l['event'] === 'released', 'python to release'))['released'], true);

      const node = nodeBot('wait');
      await node.waitFor((l) => /taken by host/.test(String(l['message'])), 'the Node bot to take the lock');
      const second = python();
      const held = await second.waitFor((l) => l['event'] === 'held', 'python to be kept out');
      assert.match(held['message'], new RegExp(`held by host \\S+ pid ${node.child.pid} \\(`));
      assert.equal(await second.exited, 1);

      const release = async (...args: string[]) => {
        try {
          const { stdout } = await run(venvs.system, ['-m', 'botpulse.release_lock', '--redis-url', REDIS_URL, '--key', key, ...args], { cwd: tmpdir() });
          return { code: 0, stdout };
        } catch (error) {
          const e = error as { code: number; stdout: string; stderr: string };
          return { code: e.code, stdout: e.stdout + e.stderr };
        }
      };
      const redis = new Redis(REDIS_URL);
      try {
        const refusedRelease = await release();
        assert.equal(refusedRelease.code, 1, refusedRelease.stdout);
        assert.match(refusedRelease.stdout, new RegExp(`pid ${node.child.pid} runs on this host`));
        assert.match(refusedRelease.stdout, /refusing to release a live holder/);
        assert.notEqual(await redis.get(key), null);
        const forced = await release('--force');
        assert.equal(forced.code, 0, forced.stdout);
        assert.equal(await redis.get(key), null);
        const free = await release();
        assert.equal(free.code, 0);
        assert.match(free.stdout, /is free/);
      } finally {
        node.child.kill('SIGTERM');
        await node.exited;
        await redis.del(key);
        redis.disconnect();
      }
    });
  });
});

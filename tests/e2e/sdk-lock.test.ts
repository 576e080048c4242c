// Two real bot processes, one Redis, one token: only the lock holder polls; the other waits and
// says who holds the lock; when the holder is killed (SIGKILL, no release) the other takes over
// only after the TTL. A third process in "exit" mode leaves with a message naming the holder.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { FakeTelegram } from '../../packages/fake-telegram/src/index.js';
import { redisUnavailable, REDIS_URL, uniquePrefix } from './sdk-support/redis.js';
import { reapOnExit } from './support/children.js';

const LOCK_BOT = fileURLToPath(new URL('./sdk-support/lock-bot.ts', import.meta.url));
const TTL_MS = 1500;

interface BotProcess {
  child: ChildProcess;
  lines: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<{ line: string; at: number }>;
  exited: Promise<number | null>;
}

function startBot(args: string[]): BotProcess {
  const child = reapOnExit(spawn(process.execPath, ['--import', 'tsx', LOCK_BOT, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const lines: string[] = [];
  const seen: { line: string; at: number }[] = [];
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    seen.push({ line, at: Date.now() });
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitForLine(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = seen.find((s) => pattern.test(s.line));
          if (!hit) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${lines.join('\n')}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
  };
}

describe('polling lock across two bot processes', async () => {
  const skip = await redisUnavailable();
  let tg: FakeTelegram;
  const children: BotProcess[] = [];
  before(async () => {
    tg = await FakeTelegram.start();
  });
  after(async () => {
    for (const bot of children) if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    await Promise.all(children.map((b) => b.exited));
    await tg.stop();
  });

  it('lets one process poll, makes the other wait naming the holder, and hands over after SIGKILL + TTL', { skip }, async () => {
    const { token } = tg.createBot();
    const key = uniquePrefix('lock');
    const chatId = tg.defaultUser.id;
    const first = startBot([tg.apiRoot, token, REDIS_URL, key, String(TTL_MS), 'A', 'wait']);
    children.push(first);
    await first.waitForLine(/polling lock .* taken by host .* pid \d+/);
    await tg.waitFor(() => tg.isPolling(token), { what: 'A to poll', timeoutMs: 60_000 });

    const second = startBot([tg.apiRoot, token, REDIS_URL, key, String(TTL_MS), 'B', 'wait']);
    children.push(second);
    const waiting = await second.waitForLine(/waiting for polling lock/);
    assert.match(waiting.line, new RegExp(`held by host \\S+ pid ${first.child.pid} \\(\\S+, since \\d{4}-`));

    // Only A answers, and no 409 Conflict happened: B never polled.
    tg.sendMessage(token, 'who is there?');
    await tg.waitForMessages(token, chatId, 1, { timeoutMs: 60_000 });
    assert.deepEqual(tg.chat(token, chatId).texts, ['handled by A']);
    assert.equal(tg.calls({ method: 'getUpdates' }).filter((c) => c.errorCode === 409).length, 0);

    // A third process in "exit" mode leaves at once, naming the holder.
    const third = startBot([tg.apiRoot, token, REDIS_URL, key, String(TTL_MS), 'C', 'exit']);
    children.push(third);
    const leaving = await third.waitForLine(/not polling/);
    assert.match(leaving.line, new RegExp(`held by host \\S+ pid ${first.child.pid}`));
    assert.equal(await third.exited, 1);

    // Kill the holder without a chance to release: B must wait for the TTL, then take over. The
    // key's expiry is read from Redis just before the kill (not assumed from A's refresh period: a
    // starved A refreshes late); a refresh after the read only moves it later.
    const redisBeforeKill = new Redis(REDIS_URL);
    const readAt = Date.now();
    const left = await redisBeforeKill.pttl(key);
    redisBeforeKill.disconnect();
    assert.ok(left > 0, `A's key has a TTL (${left})`);
    first.child.kill('SIGKILL');
    const taken = await second.waitForLine(/polling lock .* taken by host/);
    assert.ok(taken.at >= readAt + left, `took over ${readAt + left - taken.at} ms before A's key could have expired`);
    tg.sendMessage(token, 'and now?');
    await tg.waitForMessages(token, chatId, 2, { timeoutMs: 60_000 });
    assert.deepEqual(tg.chat(token, chatId).texts, ['handled by A', 'handled by B']);

    second.child.kill('SIGTERM');
    await second.waitForLine(/"stopped"/);
    assert.equal(await second.exited, 0);
    // B released the lock on its way out (compare-and-delete), so nothing waits for a TTL now.
    const redis = new Redis(REDIS_URL);
    try {
      assert.equal(await redis.get(key), null);
    } finally {
      redis.disconnect();
    }
  });
});

// A bot process for the polling-lock tests: a grammY bot that polls the fake Telegram only while
// it holds the Redis lock. Prints JSON lines on stdout: {"event":"log","message":...} for the
// SDK's status lines, {"event":"stopped"} at the end. Stops on SIGTERM.
// argv: apiRoot token redisUrl key ttlMs name onHeld
import { Bot } from 'grammy';
import { Redis } from 'ioredis';
import { startPollingWithLock } from '../../../packages/sdk/src/index.js';

const [apiRoot, token, redisUrl, key, ttl, name, onHeld] = process.argv.slice(2) as [string, string, string, string, string, string, string];
const print = (line: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

const redis = new Redis(redisUrl);
const bot = new Bot(token, { client: { apiRoot } });
bot.on('message', (ctx) => ctx.reply(`handled by ${name}`));
process.once('SIGTERM', () => void bot.stop());

try {
  await startPollingWithLock(bot, {
    redis,
    key,
    ttl: Number(ttl),
    pollTimeoutSec: 1,
    retryIntervalMs: 100,
    onHeld: onHeld as 'wait' | 'exit',
    log: (message) => print({ event: 'log', message }),
  });
} finally {
  print({ event: 'stopped' });
  redis.disconnect();
}

// A monitored bot process for the monitor tests: grammY + the Botpulse SDK, polling the fake
// Telegram and sending a heartbeat check-in every 250 ms. Optionally behind the Redis polling lock
// (its TTL is 15 s: a holder starved of CPU for a few seconds on a loaded machine keeps it).
// argv: apiRoot token dsn slug [redisUrl lockKey]
import { Bot } from 'grammy';
import { Redis } from 'ioredis';
import { BotpulseClient, HttpTransport, instrumentGrammy, startPollingWithLock } from '../../../packages/sdk/src/index.js';

const [apiRoot, token, dsn, slug, redisUrl, lockKey] = process.argv.slice(2) as [string, string, string, string, string?, string?];
const print = (line: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

const client = new BotpulseClient({ dsn, environment: 'test', release: 'bot@1.0.0', env: {}, transport: new HttpTransport({ dsn, retryBaseMs: 50 }) });
const bot = new Bot(token, { client: { apiRoot } });
instrumentGrammy(bot, { client, heartbeat: { monitorSlug: slug, intervalMs: 250, monitorConfig: false } });
bot.on('message', (ctx) => ctx.reply('ok'));
bot.catch(() => undefined);
process.once('SIGTERM', () => void bot.stop());

if (redisUrl && lockKey) {
  const redis = new Redis(redisUrl);
  try {
    await startPollingWithLock(bot, { redis, key: lockKey, ttl: 15_000, pollTimeoutSec: 1, retryIntervalMs: 100, onHeld: 'wait', log: (message) => print({ event: 'log', message }) });
  } finally {
    redis.disconnect();
  }
} else {
  print({ event: 'polling', pid: process.pid });
  await bot.start({ timeout: 1 });
}
print({ event: 'stopped' });
await client.close(1000);

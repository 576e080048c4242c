// The docs' webhook set-up on Express 4 (docs/sdk.md), run with plain node against the BUILT SDK:
// grammY's webhookCallback behind guardWebhook, the guard reading the JSON body itself, and a
// second route behind an app-level express.json() with expressErrorHandler() after the routes.
// grammY's own webhook timeout and the guard's deadline are shortened (GRAMMY_TIMEOUT_MS,
// GUARD_TIMEOUT_MS) so that a test does not wait 10 s; the mechanism is the one of the defaults.
import express from 'express';
import { Bot, webhookCallback } from 'grammy';
import { expressErrorHandler, guardWebhook, init, instrumentGrammy, resolveBotToken } from '@botpulse/sdk';

init({ flushOnExit: true });
const bot = new Bot(resolveBotToken(), { client: { apiRoot: process.env.TELEGRAM_API_ROOT } });
instrumentGrammy(bot);
const slowMs = Number(process.env.SLOW_MS ?? 1200);
bot.on('message:text', async (ctx) => {
  if (ctx.message.text === 'slow-crash') {
    await new Promise((resolve) => setTimeout(resolve, slowMs));
    throw new Error('report generation failed after the deadline');
  }
  await ctx.reply(`echo: ${ctx.message.text}`);
});

const app = express();
const callback = webhookCallback(bot, 'express', { timeoutMilliseconds: Number(process.env.GRAMMY_TIMEOUT_MS ?? 10_000) });
app.post('/telegram', guardWebhook(callback, { timeoutMs: Number(process.env.GUARD_TIMEOUT_MS ?? 8000) }));
// An app that parses JSON everywhere: body-parser answers a malformed body before any route.
app.post('/telegram-json', express.json(), guardWebhook(callback));
app.use(expressErrorHandler());

const server = app.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  await bot.api.setWebhook(`http://127.0.0.1:${port}/telegram`);
  process.stdout.write(`listening ${port}\n`);
});

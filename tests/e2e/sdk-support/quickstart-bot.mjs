// The docs' quick starts (docs/sdk.md), as a bot author writes them, run with plain node against
// the BUILT SDK (packages/sdk/dist through the workspace's @botpulse/sdk), the fake Telegram
// (TELEGRAM_API_ROOT: the one line the docs do not have) and a real Botpulse (BOTPULSE_DSN).
// No bot.catch, no process handlers of its own: what kills the process is what the SDK must
// report. SCENARIO picks how the bot dies:
//   grammy-throw        a grammY handler throws
//   grammy-reject       a grammY handler starts a promise that rejects and nobody awaits it
//   grammy-startup      bot.start() with a token Telegram refuses (getMe 401)
//   module-throw        module code throws after init()
//   telegraf-throw      a Telegraf command throws (no bot.catch)
//   timeout-throw       a setTimeout callback throws
//   interval-send       a setInterval job's sendMessage fails (chat not found) and is not caught
//   fire-and-forget     a fire-and-forget rejection outside any handler
//   shared-error        two updates fail with the same memoised Error object, handled by bot.catch
//   capture-then-exit   captureException(e) then process.exit(1) at once
//   stop                bot.stop() after the first message, the process lives on
//   idle                just polls (a later start that sends what the disk queue kept)
import { Bot } from 'grammy';
import { Telegraf } from 'telegraf';
import { captureException, init, instrumentGrammy, instrumentTelegraf, resolveBotToken } from '@botpulse/sdk';

const scenario = process.env.SCENARIO ?? 'grammy-throw';
const apiRoot = process.env.TELEGRAM_API_ROOT;

init({ flushOnExit: true }); // as in docs/sdk.md; SENTRY_RELEASE names the release

if (scenario === 'telegraf-throw') {
  const bot = new Telegraf(resolveBotToken(), { telegram: { apiRoot } });
  instrumentTelegraf(bot, { heartbeat: { monitorSlug: 'quickstart-telegraf' } }); // before any other bot.use
  bot.command('pay', async (ctx) => {
    await ctx.reply('charging…');
    throw new Error(`Telegraf payment failed for chat ${ctx.chat.id}`);
  });
  bot.launch();
} else {
  const bot = new Bot(resolveBotToken(), { client: { apiRoot } });
  instrumentGrammy(bot, { heartbeat: { monitorSlug: process.env.MONITOR_SLUG ?? 'quickstart-grammy' } }); // before any other bot.use

  const memoised = Promise.reject(new Error('exchange rates unavailable (memoised)'));
  memoised.catch(() => undefined); // handled here; each update awaits it again below

  bot.on('message:text', async (ctx) => {
    const text = ctx.message.text;
    if (text === 'crash') throw new Error(`order ${ctx.message.message_id} failed`);
    if (text === 'later') {
      void settleInvoiceLater(ctx.chat.id); // not awaited: its rejection is unhandled
      await ctx.reply('will do');
      return;
    }
    if (text === 'rates') {
      await ctx.reply('looking up rates');
      await memoised;
    }
    if (text === 'stop') {
      await ctx.reply('stopping');
      setTimeout(() => void bot.stop(), 10);
      return;
    }
    await ctx.reply(`echo: ${text}`);
  });

  if (scenario === 'shared-error') {
    bot.catch((err) => console.error(`handled: ${err.error.message}`));
  }
  if (scenario === 'module-throw') {
    throw new Error('config file has no PAYMENT_URL');
  }
  if (scenario === 'timeout-throw') {
    setTimeout(() => {
      throw new Error('cache warm-up failed');
    }, 300);
  }
  if (scenario === 'interval-send') {
    const job = setInterval(async () => {
      clearInterval(job);
      await bot.api.sendMessage(Number(process.env.REPORT_CHAT_ID), 'daily report'); // rejects: chat not found
    }, 300);
  }
  if (scenario === 'fire-and-forget') {
    setTimeout(() => void refreshExchangeRates(), 300);
  }
  if (scenario === 'capture-then-exit') {
    captureException(new Error('migration failed, exiting'));
    process.exit(1);
  }
  if (scenario === 'stop') {
    // The process lives on after bot.stop() (a web server, a queue worker...).
    setInterval(() => undefined, 60_000);
  }
  bot.start();
}

async function settleInvoiceLater(chatId) {
  await new Promise((resolve) => setTimeout(resolve, 20));
  throw new Error(`invoice for chat ${chatId} could not be settled`);
}

async function refreshExchangeRates() {
  throw new TypeError('rates provider returned no body');
}

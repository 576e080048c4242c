// A real Telegraf bot against the fake: launch() polling, a handler reply, errors, webhook replies.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Telegraf, TelegramError } from 'telegraf';
import { FakeTelegram } from './fake-telegram.js';

describe('a real Telegraf bot', () => {
  let tg: FakeTelegram;
  let token: string;
  let bot: Telegraf;

  beforeEach(async () => {
    tg = await FakeTelegram.start();
    token = tg.createBot({ username: 'telegraf_test_bot' }).token;
    bot = new Telegraf(token, { telegram: { apiRoot: tg.apiRoot } });
  });
  afterEach(() => tg.stop());

  it('launches long polling and replies from a handler', async () => {
    bot.start((ctx) => ctx.replyWithHTML(`Hi <i>${ctx.from.first_name}</i>`));
    bot.command('status', (ctx) => ctx.reply('all good', { disable_notification: true }));
    const launched = bot.launch();
    await tg.waitFor(() => tg.isPolling(token), { what: 'Telegraf to start polling' });

    tg.sendCommand(token, 'start');
    tg.sendCommand(token, 'status');
    const [hi, status] = await tg.waitForMessages(token, tg.defaultUser.id, 2);
    assert.equal(hi?.text, 'Hi Test');
    assert.deepEqual(hi?.entities, [{ type: 'italic', offset: 3, length: 4 }]);
    assert.equal(status?.text, 'all good');
    assert.equal(status?.disableNotification, true);
    // Telegraf long-polls with timeout=50.
    assert.equal(tg.calls({ method: 'getUpdates' })[0]?.params['timeout'], 50);

    bot.stop('test over');
    await launched;
    assert.deepEqual(tg.pendingUpdates(token), []);
  });

  it('handles commands in a group addressed as /command@botname', async () => {
    bot.command('ping', (ctx) => ctx.reply('pong'));
    const launched = bot.launch();
    await tg.waitFor(() => tg.isPolling(token));
    const group = tg.createChat({ type: 'supergroup', title: 'Team' });
    const { update } = tg.sendCommand(token, 'ping', { chatId: group.id, mention: true });
    assert.equal(update.message?.text, '/ping@telegraf_test_bot');
    const [pong] = await tg.waitForMessages(token, group.id, 1);
    assert.equal(pong?.text, 'pong');
    bot.stop();
    await launched;
  });

  it('surfaces API errors as TelegramError with the code and description', async () => {
    tg.blockChat(token, 555);
    const error = await bot.telegram.sendMessage(555, 'hi').catch((e: unknown) => e);
    assert.ok(error instanceof TelegramError);
    assert.equal(error.code, 403);
    assert.equal(error.description, 'Forbidden: bot was blocked by the user');
  });

  it('executes a call sent back in the webhook answer (Telegraf\'s webhookReply)', async () => {
    // Telegraf 4.16 answers inside the webhook response only for a few methods (sendChatAction,
    // answerCallbackQuery, deleteMessage, ...); other calls go over HTTP as usual.
    bot.on('text', async (ctx) => {
      await ctx.sendChatAction('typing');
      await ctx.reply(`got: ${ctx.message.text}`);
    });
    const server = http.createServer(bot.webhookCallback('/telegraf', { secretToken: 'tf-secret' }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/telegraf`;
      await bot.telegram.setWebhook(url, { secret_token: 'tf-secret' });
      tg.sendMessage(token, 'hello');
      const [reply] = await tg.waitForMessages(token, tg.defaultUser.id, 1);
      assert.equal(reply?.text, 'got: hello');
      assert.equal(tg.calls({ method: 'sendMessage' })[0]?.via, 'http');
      const [action] = await tg.waitForCalls({ method: 'sendChatAction' });
      assert.equal(action?.via, 'webhook-reply');
      assert.equal(tg.chat(token, tg.defaultUser.id).actions[0]?.action, 'typing');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

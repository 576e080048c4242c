// A real grammY bot against the fake: polling, replies, buttons, errors, conflicts, webhooks, uploads.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Bot, GrammyError, HttpError, InlineKeyboard, InputFile, webhookCallback } from 'grammy';
import { CONFLICT_OTHER_POLLER, MESSAGE_NOT_MODIFIED } from './errors.js';
import { FakeTelegram } from './fake-telegram.js';
import { Faults } from './state/faults.js';

describe('a real grammY bot', () => {
  let tg: FakeTelegram;
  let token: string;
  let bot: Bot;
  let running: Promise<void> | undefined;
  const chatId = () => tg.defaultUser.id;

  beforeEach(async () => {
    tg = await FakeTelegram.start();
    token = tg.createBot({ username: 'grammy_test_bot' }).token;
    bot = new Bot(token, { client: { apiRoot: tg.apiRoot } });
    running = undefined;
  });
  afterEach(async () => {
    if (bot.isRunning()) await bot.stop();
    await running?.catch(() => undefined);
    await tg.stop();
  });

  /**
   * Starts long polling and resolves once the first getUpdates is waiting. The promise of
   * bot.start() is returned wrapped, since an async function would otherwise await it.
   */
  async function startPolling(): Promise<{ done: Promise<void> }> {
    const done = bot.start({ timeout: 30 });
    done.catch(() => undefined); // observed by the test that expects a rejection
    await tg.waitFor(() => tg.isPolling(token), { what: 'grammY to start polling' });
    return { done };
  }

  it('long-polls, answers /start with HTML and a keyboard, and handles a button press', async () => {
    bot.command('start', (ctx) =>
      ctx.reply(`Hello, <b>${ctx.from?.first_name}</b> &amp; welcome`, {
        parse_mode: 'HTML',
        reply_markup: new InlineKeyboard().text('Resolve', 'resolve:42').text('Mute', 'mute:42'),
      }),
    );
    bot.callbackQuery(/^resolve:(\d+)$/, async (ctx) => {
      await ctx.answerCallbackQuery({ text: `Resolved #${ctx.match[1]}` });
      await ctx.editMessageText('✅ Resolved', { reply_markup: undefined });
    });
    running = (await startPolling()).done;

    const { update } = tg.sendCommand(token, 'start');
    assert.deepEqual(update.message?.entities, [{ type: 'bot_command', offset: 0, length: 6 }]);
    const [welcome] = await tg.waitForMessages(token, chatId(), 1);
    assert.equal(welcome?.text, 'Hello, Test & welcome');
    assert.deepEqual(welcome?.entities, [{ type: 'bold', offset: 7, length: 4 }]);
    assert.equal(welcome?.parseMode, 'HTML');

    const { queryId } = tg.pressButton(token, { chatId: chatId(), text: 'Resolve' });
    const answer = await tg.waitForCallbackAnswer(token, queryId);
    assert.equal(answer.text, 'Resolved #42');
    await tg.waitFor(() => tg.chat(token, chatId()).lastMessage?.text === '✅ Resolved');
    const edited = tg.chat(token, chatId()).lastMessage;
    assert.deepEqual(edited?.versions.map((v) => v.text), ['Hello, Test & welcome', '✅ Resolved']);
    assert.equal(edited?.replyMarkup, undefined);
  });

  it('confirms handled updates, so a restarted bot does not see them again', async () => {
    const seen: string[] = [];
    bot.on('message:text', (ctx) => {
      seen.push(ctx.message.text);
    });
    running = (await startPolling()).done;
    tg.sendMessage(token, 'first');
    await tg.waitFor(() => seen.length === 1);
    await bot.stop();
    await running;
    assert.deepEqual(tg.pendingUpdates(token), []);
  });

  it('surfaces API errors as GrammyError with the Bot API error_code and description', async () => {
    const error = await bot.api.sendMessage(chatId(), 'x'.repeat(4097)).catch((e: unknown) => e);
    assert.ok(error instanceof GrammyError);
    assert.equal(error.error_code, 400);
    assert.equal(error.description, 'Bad Request: message is too long');
    assert.equal(error.method, 'sendMessage');

    const sent = await bot.api.sendMessage(chatId(), 'same');
    const notModified = await bot.api.editMessageText(chatId(), sent.message_id, 'same').catch((e: unknown) => e);
    assert.ok(notModified instanceof GrammyError);
    assert.equal(notModified.description, `Bad Request: ${MESSAGE_NOT_MODIFIED}`);

    const tooLongData = await bot.api
      .sendMessage(chatId(), 'k', { reply_markup: new InlineKeyboard().text('x', 'd'.repeat(65)) })
      .catch((e: unknown) => e);
    assert.ok(tooLongData instanceof GrammyError);
    assert.equal(tooLongData.description, 'Bad Request: BUTTON_DATA_INVALID');
  });

  it('surfaces an injected 429 with parameters.retry_after (no auto-retry installed)', async () => {
    tg.fail(token, 'sendMessage', Faults.tooManyRequests(3));
    const error = await bot.api.sendMessage(chatId(), 'hi').catch((e: unknown) => e);
    assert.ok(error instanceof GrammyError);
    assert.equal(error.error_code, 429);
    assert.equal(error.description, 'Too Many Requests: retry after 3');
    assert.deepEqual(error.parameters, { retry_after: 3 });
    assert.equal((await bot.api.sendMessage(chatId(), 'hi')).text, 'hi');
  });

  it('surfaces a blocked chat as 403 and a dropped connection as HttpError', async () => {
    tg.blockChat(token, chatId());
    const blocked = await bot.api.sendMessage(chatId(), 'hi').catch((e: unknown) => e);
    assert.ok(blocked instanceof GrammyError);
    assert.equal(blocked.error_code, 403);
    assert.equal(blocked.description, 'Forbidden: bot was blocked by the user');

    tg.fail(token, 'getMe', Faults.drop());
    const dropped = await bot.api.getMe().catch((e: unknown) => e);
    assert.ok(dropped instanceof HttpError);
  });

  it('makes the first of two polling instances fail with 409 Conflict', async () => {
    running = (await startPolling()).done;
    const second = new Bot(token, { client: { apiRoot: tg.apiRoot } });
    second.on('message', (ctx) => ctx.reply('from the second instance'));
    const secondRunning = second.start({ timeout: 30 });
    try {
      const error = await running.then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof GrammyError, `expected a GrammyError, got ${String(error)}`);
      assert.equal(error.error_code, 409);
      assert.equal(error.description, CONFLICT_OTHER_POLLER);
      assert.equal(bot.isRunning(), false);
      // The second instance keeps working.
      tg.sendMessage(token, 'ping');
      const [reply] = await tg.waitForMessages(token, chatId(), 1);
      assert.equal(reply?.text, 'from the second instance');
    } finally {
      await second.stop();
      await secondRunning;
    }
  });

  it('uploads a file as multipart/form-data', async () => {
    const doc = await bot.api.sendDocument(chatId(), new InputFile(Buffer.from('report body'), 'report.txt'), { caption: 'Weekly <i>report</i>', parse_mode: 'HTML' });
    assert.equal(doc.document?.file_name, 'report.txt');
    assert.equal(doc.document?.file_size, 11);
    assert.equal(doc.caption, 'Weekly report');
    assert.deepEqual(doc.caption_entities, [{ type: 'italic', offset: 7, length: 6 }]);
    const file = await bot.api.getFile(doc.document?.file_id ?? '');
    assert.equal(file.file_size, 11);
  });

  it('runs in webhook mode behind webhookCallback with a secret token', async () => {
    bot.on('message:text', (ctx) => ctx.reply(`echo: ${ctx.message.text}`));
    const server = http.createServer(webhookCallback(bot, 'http', { secretToken: 'hook-secret' }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      await bot.api.setWebhook(url, { secret_token: 'hook-secret' });
      tg.sendMessage(token, 'over webhook');
      const [reply] = await tg.waitForMessages(token, chatId(), 1);
      assert.equal(reply?.text, 'echo: over webhook');
      await tg.waitFor(() => tg.pendingUpdates(token).length === 0);

      // A wrong secret is refused by grammY with 401, so the fake keeps the update and retries.
      await bot.api.setWebhook(url, { secret_token: 'wrong-secret' });
      tg.sendMessage(token, 'refused');
      await tg.waitFor(() => tg.webhook(token).lastErrorMessage?.startsWith('Wrong response from the webhook: 401'));
      assert.equal(tg.pendingUpdates(token).length, 1);
      await bot.api.deleteWebhook();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

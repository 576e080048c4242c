import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeTelegram } from './fake-telegram.js';
import { MESSAGE_NOT_MODIFIED, QUERY_TOO_OLD } from './errors.js';
import { callApi, type Encoding } from './test-support/http.js';

describe('Bot API surface', () => {
  let tg: FakeTelegram;
  let token: string;
  let chatId: number;
  const call = (method: string, params: Record<string, unknown> = {}, encoding?: Encoding) =>
    callApi(tg.apiRoot, token, method, params, { encoding });

  before(async () => {
    tg = await FakeTelegram.start();
    token = tg.createBot({ username: 'alerts_bot' }).token;
    chatId = tg.defaultUser.id;
  });
  after(() => tg.stop());

  it('issues realistic tokens and answers getMe with the bot account', async () => {
    assert.match(token, /^\d+:[A-Za-z0-9_-]{35}$/);
    const { status, body } = await call('getMe');
    assert.equal(status, 200);
    assert.deepEqual(body.result, tg.bot(token).user);
    assert.equal(body.result.is_bot, true);
    assert.equal(body.result.username, 'alerts_bot');
    assert.equal(body.result.id, Number(token.split(':')[0]));
  });

  it('serves several bots at once, each with its own identity', async () => {
    const other = tg.createBot();
    const me = await callApi(tg.apiRoot, other.token, 'getMe');
    assert.equal(me.body.result.id, other.id);
    assert.notEqual(other.id, tg.bot(token).id);
  });

  it('answers an unknown token with 401 Unauthorized and an unknown method with 404 Not Found', async () => {
    const unknownToken = await callApi(tg.apiRoot, '123:nope', 'getMe');
    assert.equal(unknownToken.status, 401);
    assert.deepEqual(unknownToken.body, { ok: false, error_code: 401, description: 'Unauthorized' });
    const unknownMethod = await call('sendTelepathy');
    assert.equal(unknownMethod.status, 404);
    assert.deepEqual(unknownMethod.body, { ok: false, error_code: 404, description: 'Not Found' });
  });

  it('matches method names case-insensitively, as Telegram does', async () => {
    assert.equal((await call('getme')).body.ok, true);
  });

  for (const encoding of ['json', 'form', 'multipart', 'query'] as const) {
    it(`reads ${encoding} parameters, including JSON-serialized reply_markup`, async () => {
      const { body } = await call(
        'sendMessage',
        { chat_id: chatId, text: `via ${encoding}`, disable_notification: true, reply_markup: { inline_keyboard: [[{ text: 'A', callback_data: 'a' }]] } },
        encoding,
      );
      assert.equal(body.ok, true, JSON.stringify(body));
      assert.equal(body.result.text, `via ${encoding}`);
      assert.deepEqual(body.result.reply_markup, { inline_keyboard: [[{ text: 'A', callback_data: 'a' }]] });
      const stored = tg.chat(token, chatId).message(body.result.message_id);
      assert.equal(stored?.disableNotification, true);
    });
  }

  it('returns a full Message with increasing message_id, date, chat, from = the bot, and entities', async () => {
    const first = (await call('sendMessage', { chat_id: chatId, text: '<b>one</b>', parse_mode: 'HTML' })).body.result;
    const second = (await call('sendMessage', { chat_id: chatId, text: 'two' })).body.result;
    assert.equal(second.message_id, first.message_id + 1);
    assert.deepEqual(first.from, tg.bot(token).user);
    assert.deepEqual(first.chat, { id: chatId, type: 'private', first_name: 'Test', last_name: 'User', username: 'test_user' });
    assert.ok(Math.abs(first.date - Date.now() / 1000) < 5);
    assert.deepEqual(first.entities, [{ type: 'bold', offset: 0, length: 3 }]);
    assert.equal(second.entities, undefined);
    const stored = tg.chat(token, chatId).message(first.message_id);
    assert.equal(stored?.parseMode, 'HTML');
    assert.equal(stored?.sourceText, '<b>one</b>');
  });

  it('refuses text over 4096 characters after parsing, and accepts exactly 4096 escaped ones', async () => {
    const ok = await call('sendMessage', { chat_id: chatId, text: `<i>${'&amp;'.repeat(4096)}</i>`, parse_mode: 'HTML' });
    assert.equal(ok.body.ok, true);
    assert.equal(ok.body.result.text.length, 4096);
    const tooLong = await call('sendMessage', { chat_id: chatId, text: 'x'.repeat(4097) });
    assert.deepEqual(tooLong.body, { ok: false, error_code: 400, description: 'Bad Request: message is too long' });
  });

  it('refuses empty text and unparsable HTML with the Bot API wording', async () => {
    assert.equal((await call('sendMessage', { chat_id: chatId, text: '' })).body.description, 'Bad Request: message text is empty');
    assert.equal((await call('sendMessage', { chat_id: chatId })).body.description, 'Bad Request: message text is empty');
    const bad = await call('sendMessage', { chat_id: chatId, text: 'a <foo> b', parse_mode: 'HTML' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.description, 'Bad Request: can\'t parse entities: Unsupported start tag "foo" at byte offset 2');
  });

  it('parses MarkdownV2 and refuses its unescaped reserved characters', async () => {
    const ok = await call('sendMessage', { chat_id: chatId, text: '*Error* in `main\\.ts` \\(3 events\\)', parse_mode: 'MarkdownV2' });
    assert.equal(ok.body.result.text, 'Error in main.ts (3 events)');
    assert.deepEqual(ok.body.result.entities.map((e: { type: string }) => e.type), ['bold', 'code']);
    const bad = await call('sendMessage', { chat_id: chatId, text: 'Done.', parse_mode: 'MarkdownV2' });
    assert.equal(bad.body.description, "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'");
  });

  it('refuses callback_data longer than 64 bytes (counted in UTF-8) with BUTTON_DATA_INVALID', async () => {
    const markup = (data: string) => ({ inline_keyboard: [[{ text: 'x', callback_data: data }]] });
    const ok = await call('sendMessage', { chat_id: chatId, text: 'k', reply_markup: markup('a'.repeat(64)) });
    assert.equal(ok.body.ok, true);
    for (const data of ['a'.repeat(65), 'é'.repeat(33), '']) {
      const refused = await call('sendMessage', { chat_id: chatId, text: 'k', reply_markup: markup(data) });
      assert.deepEqual(refused.body, { ok: false, error_code: 400, description: 'Bad Request: BUTTON_DATA_INVALID' });
    }
  });

  it('checks message_thread_id against the topics of a forum', async () => {
    const forum = tg.createChat({ type: 'supergroup', title: 'Ops', topics: ['Alerts'] });
    const alerts = forum.topics['Alerts'] as number;
    const sent = await call('sendMessage', { chat_id: forum.id, text: 'in topic', message_thread_id: alerts });
    assert.equal(sent.body.result.message_thread_id, alerts);
    assert.equal(sent.body.result.is_topic_message, true);
    assert.deepEqual(tg.chat(token, forum.id).inThread(alerts).map((m) => m.text), ['in topic']);
    const missing = await call('sendMessage', { chat_id: forum.id, text: 'x', message_thread_id: 999_999 });
    assert.equal(missing.body.description, 'Bad Request: message thread not found');
    tg.deleteTopic(forum.id, alerts);
    const deleted = await call('sendMessage', { chat_id: forum.id, text: 'x', message_thread_id: alerts });
    assert.equal(deleted.body.description, 'Bad Request: message thread not found');
  });

  it('embeds the replied-to message and refuses a reply to a missing one', async () => {
    const original = (await call('sendMessage', { chat_id: chatId, text: 'original' })).body.result;
    const reply = await call('sendMessage', { chat_id: chatId, text: 'reply', reply_parameters: { message_id: original.message_id } });
    assert.equal(reply.body.result.reply_to_message.text, 'original');
    const legacy = await call('sendMessage', { chat_id: chatId, text: 'reply', reply_to_message_id: original.message_id });
    assert.equal(legacy.body.result.reply_to_message.message_id, original.message_id);
    const missing = await call('sendMessage', { chat_id: chatId, text: 'reply', reply_parameters: { message_id: 987654 } });
    assert.equal(missing.body.description, 'Bad Request: message to be replied not found');
    const allowed = await call('sendMessage', {
      chat_id: chatId, text: 'reply', reply_parameters: { message_id: 987654, allow_sending_without_reply: true },
    });
    assert.equal(allowed.body.ok, true);
  });

  it('edits text, keeps the edit history, and refuses an edit that changes nothing', async () => {
    const keyboard = { inline_keyboard: [[{ text: 'Resolve', callback_data: 'r:1' }]] };
    const sent = (await call('sendMessage', { chat_id: chatId, text: 'v1', reply_markup: keyboard })).body.result;
    const edited = await call('editMessageText', { chat_id: chatId, message_id: sent.message_id, text: '<b>v2</b>', parse_mode: 'HTML', reply_markup: keyboard });
    assert.equal(edited.body.result.text, 'v2');
    assert.ok(edited.body.result.edit_date >= sent.date);
    const same = await call('editMessageText', { chat_id: chatId, message_id: sent.message_id, text: '<b>v2</b>', parse_mode: 'HTML', reply_markup: keyboard });
    assert.deepEqual(same.body, { ok: false, error_code: 400, description: `Bad Request: ${MESSAGE_NOT_MODIFIED}` });
    // Same text without the keyboard is a change: the keyboard goes away.
    const withoutKeyboard = await call('editMessageText', { chat_id: chatId, message_id: sent.message_id, text: '<b>v2</b>', parse_mode: 'HTML' });
    assert.equal(withoutKeyboard.body.result.reply_markup, undefined);
    const stored = tg.chat(token, chatId).message(sent.message_id);
    assert.deepEqual(stored?.versions.map((v) => [v.text, v.replyMarkup !== undefined]), [['v1', true], ['v2', true], ['v2', false]]);
    assert.equal(stored?.text, 'v2');
    assert.equal(stored?.edited, true);
  });

  it('refuses to edit a message that does not exist or is not the bot\'s', async () => {
    const missing = await call('editMessageText', { chat_id: chatId, message_id: 555_555, text: 'x' });
    assert.equal(missing.body.description, 'Bad Request: message to edit not found');
    const userMessage = tg.sendMessage(token, 'hello bot').message;
    const foreign = await call('editMessageText', { chat_id: chatId, message_id: userMessage.messageId, text: 'x' });
    assert.equal(foreign.body.description, "Bad Request: message can't be edited");
  });

  it('edits and clears reply markup, with the same not-modified rule', async () => {
    const sent = (await call('sendMessage', { chat_id: chatId, text: 'markup' })).body.result;
    const keyboard = { inline_keyboard: [[{ text: 'Mute', callback_data: 'm:1' }]] };
    const set = await call('editMessageReplyMarkup', { chat_id: chatId, message_id: sent.message_id, reply_markup: keyboard });
    assert.deepEqual(set.body.result.reply_markup, keyboard);
    const again = await call('editMessageReplyMarkup', { chat_id: chatId, message_id: sent.message_id, reply_markup: keyboard });
    assert.equal(again.body.description, `Bad Request: ${MESSAGE_NOT_MODIFIED}`);
    const cleared = await call('editMessageReplyMarkup', { chat_id: chatId, message_id: sent.message_id });
    assert.equal(cleared.body.result.reply_markup, undefined);
  });

  it('deletes a message once and marks it deleted', async () => {
    const sent = (await call('sendMessage', { chat_id: chatId, text: 'bye' })).body.result;
    assert.equal((await call('deleteMessage', { chat_id: chatId, message_id: sent.message_id })).body.result, true);
    assert.equal(tg.chat(token, chatId).message(sent.message_id)?.deleted, true);
    const again = await call('deleteMessage', { chat_id: chatId, message_id: sent.message_id });
    assert.equal(again.body.description, 'Bad Request: message to delete not found');
    const edit = await call('editMessageText', { chat_id: chatId, message_id: sent.message_id, text: 'x' });
    assert.equal(edit.body.description, 'Bad Request: message to edit not found');
  });

  it('lets a callback query be answered once, and refuses unknown ids', async () => {
    await call('sendMessage', { chat_id: chatId, text: 'press', reply_markup: { inline_keyboard: [[{ text: 'Go', callback_data: 'go' }]] } });
    const { queryId, update } = tg.pressButton(token, { chatId, data: 'go' });
    assert.equal(update.callback_query?.data, 'go');
    const first = await call('answerCallbackQuery', { callback_query_id: queryId, text: 'Done', show_alert: true });
    assert.equal(first.body.result, true);
    assert.deepEqual(
      { text: tg.callbackAnswer(token, queryId)?.text, showAlert: tg.callbackAnswer(token, queryId)?.showAlert },
      { text: 'Done', showAlert: true },
    );
    const second = await call('answerCallbackQuery', { callback_query_id: queryId });
    assert.deepEqual(second.body, { ok: false, error_code: 400, description: `Bad Request: ${QUERY_TOO_OLD}` });
    const unknown = await call('answerCallbackQuery', { callback_query_id: '42' });
    assert.equal(unknown.body.description, `Bad Request: ${QUERY_TOO_OLD}`);
  });

  it('answers the side methods bots commonly call', async () => {
    assert.equal((await call('sendChatAction', { chat_id: chatId, action: 'typing' })).body.result, true);
    assert.equal(tg.chat(token, chatId).actions.at(-1)?.action, 'typing');
    const commands = [{ command: 'start', description: 'Start' }];
    assert.equal((await call('setMyCommands', { commands })).body.result, true);
    assert.deepEqual((await call('getMyCommands')).body.result, commands);
    assert.equal((await call('deleteMyCommands')).body.result, true);
    assert.deepEqual((await call('getMyCommands')).body.result, []);
    assert.equal((await call('getChat', { chat_id: chatId })).body.result.id, chatId);
    const photo = await call('sendPhoto', { chat_id: chatId, photo: 'https://example.com/a.jpg', caption: '<b>pic</b>', parse_mode: 'HTML' }, 'multipart');
    assert.equal(photo.body.result.caption, 'pic');
    assert.equal(photo.body.result.photo.length, 2);
    const doc = await call('sendDocument', { chat_id: chatId, document: 'https://example.com/report.pdf' });
    assert.equal(doc.body.result.document.file_name, 'report.pdf');
    assert.equal((await call('sendChatAction', { chat_id: chatId, action: 'dancing' })).body.description, 'Bad Request: wrong parameter action in request');
  });

  it('finds chats by @username and refuses unknown usernames', async () => {
    const channel = tg.createChat({ type: 'channel', title: 'News', username: 'news_channel' });
    const sent = await call('sendMessage', { chat_id: '@news_channel', text: 'hi' });
    assert.equal(sent.body.result.chat.id, channel.id);
    assert.equal((await call('sendMessage', { chat_id: '@nobody_here', text: 'hi' })).body.description, 'Bad Request: chat not found');
  });

  it('logs every call with token, method, params, time and status', async () => {
    tg.clearCalls();
    const before = Date.now();
    await call('sendMessage', { chat_id: chatId, text: 'logged' });
    await callApi(tg.apiRoot, 'bad:token', 'getMe');
    const [sent] = tg.calls({ token, method: 'sendmessage' });
    assert.equal(sent?.params['text'], 'logged');
    assert.equal(sent?.status, 200);
    assert.equal(sent?.ok, true);
    assert.ok((sent?.at ?? 0) >= before);
    const [unauthorized] = tg.calls({ token: 'bad:token' });
    assert.equal(unauthorized?.status, 401);
    assert.equal(unauthorized?.description, 'Unauthorized');
  });

  it('answers 401 for a bot whose token was revoked, ending its long poll too', async () => {
    const doomed = tg.createBot();
    assert.equal((await callApi(tg.apiRoot, doomed.token, 'getMe')).status, 200);
    const polling = callApi(tg.apiRoot, doomed.token, 'getUpdates', { timeout: 30 });
    await tg.waitFor(() => tg.isPolling(doomed.token));
    tg.deleteBot(doomed.token);
    assert.deepEqual((await polling).body, { ok: false, error_code: 401, description: 'Unauthorized' });
    assert.equal((await callApi(tg.apiRoot, doomed.token, 'getMe')).status, 401);
  });
});

describe('unknown chats', () => {
  it('are refused with "chat not found" when unknownChats is "not_found"', async () => {
    const tg = await FakeTelegram.start({ unknownChats: 'not_found' });
    try {
      const { token } = tg.createBot();
      const refused = await callApi(tg.apiRoot, token, 'sendMessage', { chat_id: 777, text: 'hi' });
      assert.deepEqual(refused.body, { ok: false, error_code: 400, description: 'Bad Request: chat not found' });
      tg.createChat({ id: 777, type: 'private' });
      assert.equal((await callApi(tg.apiRoot, token, 'sendMessage', { chat_id: 777, text: 'hi' })).body.ok, true);
    } finally {
      await tg.stop();
    }
  });

  it('are created with the type their id implies by default', async () => {
    const tg = await FakeTelegram.start();
    try {
      const { token } = tg.createBot();
      const sent = await callApi(tg.apiRoot, token, 'sendMessage', { chat_id: -1001234567890, text: 'hi' });
      assert.equal(sent.body.result.chat.type, 'supergroup');
      const group = await callApi(tg.apiRoot, token, 'sendMessage', { chat_id: -4242, text: 'hi' });
      assert.equal(group.body.result.chat.type, 'group');
    } finally {
      await tg.stop();
    }
  });
});

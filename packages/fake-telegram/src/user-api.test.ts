import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { QUERY_TOO_OLD } from './errors.js';
import { FakeTelegram } from './fake-telegram.js';
import { callApi } from './test-support/http.js';

describe('user-side API', () => {
  let tg: FakeTelegram;
  let token: string;

  beforeEach(async () => {
    tg = await FakeTelegram.start({ callbackQueryTtlMs: 300 });
    token = tg.createBot({ username: 'helper_bot' }).token;
  });
  afterEach(() => tg.stop());

  const sendWithButtons = async (chatId: number, ...data: string[]) =>
    (await callApi(tg.apiRoot, token, 'sendMessage', {
      chat_id: chatId,
      text: 'choose',
      reply_markup: { inline_keyboard: [data.map((d) => ({ text: d.toUpperCase(), callback_data: d }))] },
    })).body.result;

  it('builds a realistic private-chat message update with bot_command entities', () => {
    const { update, message } = tg.sendCommand(token, 'start', { args: 'ref_42' });
    const sent = update.message;
    assert.equal(typeof update.update_id, 'number');
    assert.equal(sent?.text, '/start ref_42');
    assert.deepEqual(sent?.entities, [{ type: 'bot_command', offset: 0, length: 6 }]);
    assert.deepEqual(sent?.from, tg.defaultUser);
    assert.deepEqual(sent?.chat, { id: tg.defaultUser.id, type: 'private', first_name: 'Test', last_name: 'User', username: 'test_user' });
    assert.ok(Math.abs((sent?.date ?? 0) - Date.now() / 1000) < 5);
    assert.equal(message.fromBot, false);
    assert.deepEqual(tg.pendingUpdates(token), [update]);
  });

  it('sends from other users and into groups, supergroups and forum topics', () => {
    const ann = tg.createUser({ first_name: 'Ann', username: 'ann' });
    const inGroup = tg.sendMessage(token, 'hello @helper_bot', { from: ann, chatType: 'group' }).update.message;
    assert.equal(inGroup?.chat.type, 'group');
    assert.equal(inGroup?.from?.first_name, 'Ann');
    assert.deepEqual(inGroup?.entities, [{ type: 'mention', offset: 6, length: 11 }]);

    const forum = tg.createChat({ type: 'supergroup', title: 'Ops', topics: ['Incidents'] });
    const thread = forum.topics['Incidents'] as number;
    const inTopic = tg.sendMessage(token, 'in topic', { chatId: forum.id, threadId: thread, from: 99 }).update.message;
    assert.equal(inTopic?.message_thread_id, thread);
    assert.equal(inTopic?.is_topic_message, true);
    assert.equal(inTopic?.from?.id, 99);
    assert.throws(() => tg.sendMessage(token, 'x', { chatId: forum.id, threadId: 12345 }), /has no topic 12345/);
  });

  it('shares message ids between the user and the bot in a chat, and embeds replies', async () => {
    const first = tg.sendMessage(token, 'question').message;
    const botReply = (await callApi(tg.apiRoot, token, 'sendMessage', { chat_id: tg.defaultUser.id, text: 'answer' })).body.result;
    assert.equal(botReply.message_id, first.messageId + 1);
    const followUp = tg.sendMessage(token, 'thanks', { replyTo: botReply.message_id }).update.message;
    assert.equal(followUp?.reply_to_message?.text, 'answer');
    assert.deepEqual(tg.chat(token, tg.defaultUser.id).history.map((m) => m.text), ['question', 'answer', 'thanks']);
    assert.deepEqual(tg.chat(token, tg.defaultUser.id).messages.map((m) => m.text), ['answer']);
  });

  it('presses an inline button: a callback_query with a fresh id, the bot\'s message, data and chat_instance', async () => {
    const chatId = tg.defaultUser.id;
    const sent = await sendWithButtons(chatId, 'r:1', 'm:1');
    const first = tg.pressButton(token, { chatId, data: 'm:1' });
    const second = tg.pressButton(token, { chatId, messageId: sent.message_id, text: 'R:1' });
    const query = first.update.callback_query;
    assert.equal(query?.id, first.queryId);
    assert.notEqual(first.queryId, second.queryId);
    assert.match(first.queryId, /^\d+$/);
    assert.equal(query?.data, 'm:1');
    assert.equal(second.update.callback_query?.data, 'r:1');
    assert.deepEqual(query?.from, tg.defaultUser);
    assert.equal(query?.message?.message_id, sent.message_id);
    assert.equal(query?.message?.from?.username, 'helper_bot', 'the message is the bot\'s');
    assert.equal(query?.chat_instance, second.update.callback_query?.chat_instance);
    assert.match(query?.chat_instance ?? '', /^-?\d+$/);
  });

  it('refuses to press a button that does not exist or sits on a deleted message', async () => {
    const chatId = tg.defaultUser.id;
    const sent = await sendWithButtons(chatId, 'ok');
    assert.throws(() => tg.pressButton(token, { chatId, data: 'nope' }), /no message .*callback_data "nope"/);
    await callApi(tg.apiRoot, token, 'deleteMessage', { chat_id: chatId, message_id: sent.message_id });
    assert.throws(() => tg.pressButton(token, { chatId, data: 'ok' }));
  });

  it('expires callback queries after the configured time', async () => {
    const chatId = tg.defaultUser.id;
    await sendWithButtons(chatId, 'late');
    const { queryId } = tg.pressButton(token, { chatId, data: 'late' });
    await new Promise((resolve) => setTimeout(resolve, 350));
    const late = await callApi(tg.apiRoot, token, 'answerCallbackQuery', { callback_query_id: queryId });
    assert.equal(late.body.description, `Bad Request: ${QUERY_TOO_OLD}`);
    assert.equal(tg.callbackAnswer(token, queryId), undefined);
  });

  it('injects raw updates with a fresh update_id, dropping opt-in types unless allowed', async () => {
    const poll = tg.injectUpdate(token, { my_chat_member: { chat: { id: 1, type: 'private' } } });
    const member = tg.injectUpdate(token, { chat_member: { chat: { id: 1, type: 'private' } } });
    assert.equal(member.update_id, poll.update_id + 1);
    assert.deepEqual(tg.pendingUpdates(token).map((u) => u.update_id), [poll.update_id], 'chat_member needs allowed_updates');
    await callApi(tg.apiRoot, token, 'getUpdates', { offset: poll.update_id + 1, allowed_updates: ['chat_member'] });
    const allowed = tg.injectUpdate(token, { chat_member: { chat: { id: 1, type: 'private' } } });
    assert.deepEqual(tg.pendingUpdates(token), [allowed]);
  });

  it('waits for messages by event and explains a timeout with what the chat holds', async () => {
    const chatId = tg.defaultUser.id;
    const waiting = tg.waitForMessages(token, chatId, 2, { timeoutMs: 2000 });
    await callApi(tg.apiRoot, token, 'sendMessage', { chat_id: chatId, text: 'one' });
    await callApi(tg.apiRoot, token, 'sendMessage', { chat_id: chatId, text: 'two' });
    assert.deepEqual((await waiting).map((m) => m.text), ['one', 'two']);
    await assert.rejects(tg.waitForMessages(token, chatId, 3, { timeoutMs: 100 }), /timed out after 100 ms waiting for 3 message\(s\).*"one","two"/);
  });

  it('rejects pending waits when the fake stops', async () => {
    const waiting = tg.waitForMessages(token, tg.defaultUser.id, 1, { timeoutMs: 10_000 });
    await tg.stop();
    await assert.rejects(waiting, /stopped/);
  });
});

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeTelegram } from './fake-telegram.js';
import { Faults } from './state/faults.js';
import { callApi } from './test-support/http.js';

describe('fault injection', () => {
  let tg: FakeTelegram;
  let token: string;
  let chatId: number;
  const send = (text = 'hi', chat: number | string = chatId) => callApi(tg.apiRoot, token, 'sendMessage', { chat_id: chat, text });

  beforeEach(async () => {
    tg = await FakeTelegram.start();
    token = tg.createBot().token;
    chatId = tg.defaultUser.id;
  });
  afterEach(() => tg.stop());

  it('answers 429 with parameters.retry_after for the next call only', async () => {
    tg.fail(token, 'sendMessage', Faults.tooManyRequests(7));
    const limited = await send();
    assert.equal(limited.status, 429);
    assert.deepEqual(limited.body, {
      ok: false, error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 },
    });
    assert.equal((await send()).status, 200);
    assert.equal(tg.chat(token, chatId).messages.length, 1, 'the refused message was not stored');
    assert.equal(tg.calls({ method: 'sendMessage' })[0]?.fault, 'error');
  });

  it('repeats a fault for N calls, or until cleared with times: Infinity', async () => {
    tg.fail(token, 'sendMessage', Faults.internalError(), { times: 2 });
    assert.deepEqual([(await send()).status, (await send()).status, (await send()).status], [500, 500, 200]);
    tg.fail(token, 'sendMessage', Faults.badGateway(), { times: Infinity });
    for (let i = 0; i < 3; i++) assert.equal((await send()).body.description, 'Bad Gateway');
    tg.clearFaults(token, 'sendMessage');
    assert.equal((await send()).status, 200);
  });

  it('applies a "*" fault to any method, and only for that bot', async () => {
    const other = tg.createBot();
    tg.fail(token, '*', Faults.blocked(), { times: 2 });
    assert.equal((await callApi(tg.apiRoot, other.token, 'getMe')).status, 200);
    assert.equal((await callApi(tg.apiRoot, token, 'getMe')).body.description, 'Forbidden: bot was blocked by the user');
    assert.equal((await send()).status, 403);
    assert.equal((await send()).status, 200);
  });

  it('reports a group upgrade with parameters.migrate_to_chat_id', async () => {
    tg.fail(token, 'sendMessage', Faults.migrated(-1001234567890));
    const { body } = await send('x', -4001);
    assert.deepEqual(body, {
      ok: false, error_code: 400, description: 'Bad Request: group chat was upgraded to a supergroup chat',
      parameters: { migrate_to_chat_id: -1001234567890 },
    });
  });

  it('delays an answer', async () => {
    tg.fail(token, 'sendMessage', Faults.delay(300));
    const started = Date.now();
    assert.equal((await send()).status, 200);
    assert.ok(Date.now() - started >= 290);
  });

  it('drops the connection without an answer', async () => {
    tg.fail(token, 'sendMessage', Faults.drop());
    await assert.rejects(send(), (error: NodeJS.ErrnoException) => error.code === 'ECONNRESET' || /socket hang up/.test(error.message));
    const [call] = tg.calls({ method: 'sendMessage' });
    assert.equal(call?.status, 0);
    assert.equal(call?.fault, 'drop');
    assert.equal(tg.chat(token, chatId).messages.length, 0);
  });

  it('can answer with nginx\'s HTML 502 page instead of JSON', async () => {
    tg.fail(token, 'getUpdates', Faults.badGatewayHtml());
    const answer = await callApi(tg.apiRoot, token, 'getUpdates');
    assert.equal(answer.status, 502);
    assert.match(answer.text, /<title>502 Bad Gateway<\/title>/);
  });

  it('makes a chat permanently blocked or not found until cleared', async () => {
    const group = tg.createChat({ type: 'group' }).id;
    tg.blockChat(token, chatId);
    tg.loseChat(token, group);
    for (let i = 0; i < 2; i++) {
      assert.deepEqual((await send()).body, { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' });
      assert.equal((await send('x', String(group))).body.description, 'Bad Request: chat not found');
    }
    assert.equal((await callApi(tg.apiRoot, token, 'sendChatAction', { chat_id: chatId, action: 'typing' })).status, 403);
    const otherBot = tg.createBot();
    assert.equal((await callApi(tg.apiRoot, otherBot.token, 'sendMessage', { chat_id: chatId, text: 'hi' })).status, 200);
    tg.setChatFault(token, chatId, null);
    assert.equal((await send()).status, 200);
  });

  it('refuses connections while down and serves again on the same port when up', async () => {
    const port = tg.port;
    await tg.down();
    assert.equal(tg.isUp, false);
    await assert.rejects(send(), (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED');
    await tg.up();
    assert.equal(tg.port, port);
    assert.equal((await send()).status, 200);
  });

  it('cuts a waiting long poll when going down', async () => {
    const pending = callApi(tg.apiRoot, token, 'getUpdates', { timeout: 30 });
    await tg.waitFor(() => tg.isPolling(token));
    await tg.down();
    await assert.rejects(pending);
    assert.equal(tg.isPolling(token), false);
    await tg.up();
  });
});

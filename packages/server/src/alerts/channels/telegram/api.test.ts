import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeTelegram, Faults } from '@botpulse/fake-telegram';
import { BotApi, TelegramApiError, scrubToken, toDeliveryError } from './api.js';
import { TelegramChannel } from './sender.js';
import type { IssueAlertItem } from '../../items.js';

describe('the alert bot client against the fake Telegram', () => {
  let tg: FakeTelegram;
  let token: string;
  let channel: TelegramChannel;
  const item = { kind: 'issue', tier: 'alert', reasons: ['new'], project: { id: 1, slug: 'p', name: 'P' }, issueId: 1, shortId: 'P-001', title: 'boom', culprit: null, level: 'error', status: 'new', environment: null, release: null, eventsSince: 1, usersSince: 0, totalEvents: 1, totalUsers: 0, firstSeen: 0, lastSeen: 0, frames: [], telegram: null, url: 'http://x/issues/1' } as IssueAlertItem;
  const send = (target: string) => channel.send({ id: 1, target, items: [item], threadId: null, silent: false });

  before(async () => {
    tg = await FakeTelegram.start();
    token = tg.createBot().token;
    channel = new TelegramChannel(new BotApi(token, tg.apiRoot));
  });
  after(async () => tg.stop());

  it('classifies what Telegram says for the outbox', async () => {
    const chat = tg.createChat({ type: 'supergroup' }).id;
    tg.fail(token, 'sendMessage', Faults.tooManyRequests(7));
    await assert.rejects(send(String(chat)), (e: any) => e.retryAfterMs === 7000 && !e.permanent);
    tg.blockChat(token, chat);
    await assert.rejects(send(String(chat)), (e: any) => e.permanent && /blocked/.test(e.message));
    tg.setChatFault(token, -4001, Faults.migrated(-1009876543210));
    await assert.rejects(send('-4001'), (e: any) => e.migrateTo === '-1009876543210');
    tg.fail(token, 'sendMessage', Faults.badGatewayHtml());
    await assert.rejects(send(String(chat + 1)), (e: any) => !e.permanent && !e.rejectsMessage && e.retryAfterMs === undefined);
    tg.fail(token, 'sendMessage', Faults.chatNotFound());
    await assert.rejects(send('-100555'), (e: any) => e.permanent);
  });

  it('sends into a forum topic, silently when asked', async () => {
    const { id, topics } = tg.createChat({ type: 'supergroup', isForum: true, topics: ['alerts'] });
    const sent = await channel.send({ id: 1, target: String(id), items: [item], threadId: topics.alerts!, silent: true });
    const [message] = tg.chat(token, id).messages;
    assert.equal(message!.messageThreadId, topics.alerts);
    assert.equal(message!.disableNotification, true);
    assert.equal(sent.messageId, String(message!.messageId));
  });

  it('never lets the token out in an error', async () => {
    const down = new BotApi(token, 'http://127.0.0.1:1');
    await assert.rejects(down.call('getMe'), (e: Error) => !e.message.includes(token));
    const revoked = new BotApi('123456:' + 'A'.repeat(35), tg.apiRoot);
    await assert.rejects(revoked.call('getMe'), (e: Error) => e instanceof TelegramApiError && e.code === 401 && !e.message.includes('AAAA'));
    assert.equal(scrubToken(`fetch https://api.telegram.org/bot${token}/sendMessage failed`, null), 'fetch https://api.telegram.org/bot<token>/sendMessage failed');
    assert.equal(toDeliveryError(new TelegramApiError('sendMessage', 400, "Bad Request: can't parse entities")).rejectsMessage, true);
  });
});

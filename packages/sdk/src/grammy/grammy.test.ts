// The grammY plugin with `bot.handleUpdate` and a stubbed Bot API (a transformer answering
// locally): fast, no HTTP. The HTTP paths are covered by tests/e2e/sdk-grammy.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bot } from 'grammy';
import type { Update } from 'grammy/types';
import type { Breadcrumb } from '../scope.js';
import { memoryClient } from '../test-support/memory.js';
import { instrumentGrammy } from './index.js';

const BOT_INFO = { id: 1, is_bot: true as const, first_name: 'B', username: 'b_bot', can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false, can_connect_to_business: false, has_main_web_app: false };
const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';

function message(updateId: number, text: string, chatType: 'private' | 'supergroup' = 'private'): Update {
  const chat = chatType === 'private' ? { id: 5, type: 'private' as const, first_name: 'U' } : { id: -1001, type: 'supergroup' as const, title: 'G' };
  return { update_id: updateId, message: { message_id: updateId, date: 0, chat, from: { id: 5, is_bot: false, first_name: 'U', username: 'u5' }, text } } as Update;
}

function stubbedBot(options: Parameters<typeof memoryClient>[0] = {}, answer: (method: string) => unknown = () => ({ ok: true, result: true })) {
  const bot = new Bot(TOKEN, { botInfo: BOT_INFO });
  const { client, transport } = memoryClient(options);
  // The stub must be installed first so the SDK transformer (installed later) wraps it.
  bot.api.config.use((_prev, method) => Promise.resolve(answer(method) as any));
  const pulse = instrumentGrammy(bot, { client });
  return { bot, client, transport, pulse };
}

describe('grammY plugin (stubbed API)', () => {
  it('records API calls as breadcrumbs with method, latency and error code', async () => {
    const { bot, transport } = stubbedBot({}, (method) =>
      method === 'sendMessage' ? { ok: false, error_code: 400, description: "Bad Request: can't parse entities" } : { ok: true, result: true },
    );
    bot.on('message', async (ctx) => {
      await ctx.api.sendChatAction(ctx.chat.id, 'typing');
      await ctx.reply('<b', { parse_mode: 'HTML' });
    });
    await assert.rejects(bot.handleUpdate(message(1, 'hi')));
    const [event] = transport.payloads('event');
    const api = event.breadcrumbs.values.filter((b: any) => b.category === 'telegram.api');
    assert.deepEqual(api.map((b: any) => [b.message, b.level, b.data.error_code]), [['sendChatAction', 'info', undefined], ['sendMessage', 'warning', 400]]);
    assert.equal(typeof api[0].data.duration_ms, 'number');
    assert.equal(api[1].data.chat_id, 5);
    assert.equal(event.exception.values.at(-1).type, 'GrammyError');
    assert.equal(event.contexts.telegram_api.method, 'sendMessage');
    assert.equal(event.contexts.telegram_api.payload.text, '[text omitted]');
  });

  it('records retry_after of a 429 and keeps it out of the issues', async () => {
    const crumbs: Breadcrumb[] = [];
    const beforeBreadcrumb = (b: Breadcrumb) => (crumbs.push(b), b);
    const { bot, client, transport } = stubbedBot({ beforeBreadcrumb }, () => ({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } }));
    bot.on('message', (ctx) => ctx.reply('x'));
    await assert.rejects(bot.handleUpdate(message(2, 'hi')));
    assert.equal(transport.payloads('event').length, 0);
    assert.equal(client.counters().noise['rate_limited'], 1);
    assert.equal(crumbs.find((b) => b.category === 'telegram.api')?.data?.['retry_after'], 7);
    assert.equal(crumbs.find((b) => b.category === 'telegram.noise')?.data?.['retry_after'], 7);
  });

  it('flags a repeated update_id (breadcrumb, counter, tag) and can skip it', async () => {
    const { bot, client, transport } = stubbedBot();
    let runs = 0;
    bot.on('message', () => {
      runs += 1;
      throw new Error('handler failed');
    });
    await assert.rejects(bot.handleUpdate(message(3, 'hi')));
    await assert.rejects(bot.handleUpdate(message(3, 'hi')));
    assert.equal(runs, 2);
    assert.equal(client.counters().duplicateUpdates, 1);
    const [first, second] = transport.payloads('event');
    assert.equal(first.tags.duplicate_update, undefined);
    assert.equal(second.tags.duplicate_update, 'true');
    assert.equal(second.contexts.telegram.duplicate, true);
    assert.ok(second.breadcrumbs.values.some((b: any) => /Duplicate update_id 3/.test(b.message)));

    const skipping = stubbedBot({ skipDuplicateUpdates: true });
    let handled = 0;
    skipping.bot.on('message', () => void (handled += 1));
    await skipping.bot.handleUpdate(message(4, 'hi'));
    await skipping.bot.handleUpdate(message(4, 'hi'));
    assert.equal(handled, 1);
    assert.equal(skipping.client.counters().duplicateUpdates, 1);
  });

  it('sends the update transaction with an API span when sampled, and user text only on opt-in', async () => {
    const { bot, transport } = stubbedBot({ captureMessageText: true });
    bot.on('message', async (ctx) => {
      await ctx.reply('ok');
      throw new Error('after reply');
    });
    await assert.rejects(bot.handleUpdate(message(5, 'my secret plan', 'supergroup')));
    const [transaction] = transport.payloads('transaction');
    assert.equal(transaction.transaction, 'update message');
    assert.equal(transaction.contexts.trace.status, 'internal_error');
    assert.deepEqual(transaction.spans.map((s: any) => s.description), ['telegram.api sendMessage']);
    assert.equal(transaction.tags.chat_type, 'supergroup');
    const [event] = transport.payloads('event');
    assert.equal(event.breadcrumbs.values[0].data.text, 'my secret plan');
    assert.equal(event.contexts.telegram.group_id, -1001);
    assert.ok(!JSON.stringify(transport.items.map((i) => i.payload.toString())).includes(TOKEN.slice(10)));
  });
});

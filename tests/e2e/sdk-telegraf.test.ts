// A real Telegraf bot with @botpulse/sdk against the fake Telegram and a real Botpulse server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Telegraf } from 'telegraf';
import { instrumentTelegraf } from '../../packages/sdk/src/index.js';
import { Faults } from '../../packages/fake-telegram/src/index.js';
import { startHarness, type Harness } from './sdk-support/harness.js';

const CAROL = { id: 515151, first_name: 'Carol', username: 'carol_c', language_code: 'de' };

describe('@botpulse/sdk with a real Telegraf bot', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.stop());

  async function launch(bot: Telegraf, token: string): Promise<{ launched: Promise<void> }> {
    const launched = bot.launch();
    await h.tg.waitFor(() => h.tg.isPolling(token), { what: 'Telegraf polling' });
    return { launched };
  }

  it('a throwing handler gives one stored event with the update context; bot.catch still runs; no token', async () => {
    const { token } = h.tg.createBot();
    const bot = new Telegraf(token, { telegram: { apiRoot: h.tg.apiRoot } });
    const { client, transport } = h.newClient();
    instrumentTelegraf(bot, { client });
    const handled: string[] = [];
    bot.catch((err) => void handled.push((err as Error).message));
    bot.on('text', async (ctx) => {
      await ctx.sendChatAction('typing');
      throw new RangeError(`quota exceeded for ${ctx.from.id}`);
    });
    const { launched } = await launch(bot, token);
    const { update } = h.tg.sendMessage(token, 'generate', { from: CAROL });
    await h.tg.waitFor(() => handled.length === 1, { what: "the bot's own catch handler" });
    bot.stop('test over');
    await launched;

    const events = await h.waitForEvents(1);
    const stored = events.find((e) => e.payload.contexts?.['telegram']?.['update_id'] === update.update_id);
    assert.ok(stored);
    const payload = stored.payload as any;
    assert.equal(payload.contexts.telegram.user_id, CAROL.id);
    assert.equal(payload.contexts.telegram.username, 'carol_c');
    assert.equal(payload.contexts.telegram.language_code, 'de');
    assert.equal(payload.contexts.telegram.chat_type, 'private');
    assert.equal(payload.exception.values.at(-1).type, 'RangeError');
    assert.equal(payload.exception.values.at(-1).mechanism.type, 'telegraf.middleware');
    const crumbs = payload.breadcrumbs.values.map((b: any) => `${b.category}:${b.message}`);
    assert.deepEqual(crumbs, ['telegram.update:update message', 'telegram.api:sendChatAction']);
    assert.equal(client.counters().eventsCaptured, 1, 'captured once although both the middleware and bot.catch saw it');
    assert.ok(!transport.allText().includes(token.split(':')[1]!));
    assert.ok(!JSON.stringify(stored).includes(token.split(':')[1]!));
  });

  it('a 403 "bot was blocked" is a counter, not an event', async () => {
    const { token } = h.tg.createBot();
    const bot = new Telegraf(token, { telegram: { apiRoot: h.tg.apiRoot } });
    const { client, transport } = h.newClient();
    instrumentTelegraf(bot, { client });
    const handled: unknown[] = [];
    bot.catch((err) => void handled.push(err));
    bot.on('text', (ctx) => ctx.reply('hello'));
    h.tg.blockChat(token, CAROL.id);
    const { launched } = await launch(bot, token);
    h.tg.sendMessage(token, 'hi', { from: CAROL });
    await h.tg.waitFor(() => handled.length === 1);
    bot.stop('test over');
    await launched;
    await client.flush(2000);
    assert.equal(transport.payloads('event').length, 0);
    assert.equal(client.counters().noise['bot_blocked'], 1);
    assert.equal(client.counters().apiErrors['403'], 1);
  });

  it("bot signals: an update's lag and a 429 on the update's own ctx.telegram are counted per minute", async () => {
    const { token } = h.tg.createBot();
    const bot = new Telegraf(token, { telegram: { apiRoot: h.tg.apiRoot } });
    const { client } = h.newClient();
    let now = Date.now();
    const pulse = instrumentTelegraf(bot, { client, signals: { now: () => now } });
    const handled: unknown[] = [];
    bot.catch((err) => void handled.push(err));
    bot.on('text', (ctx) => ctx.reply('hello'));
    h.tg.fail(token, 'sendMessage', Faults.tooManyRequests(17), { times: 1 });
    const { launched } = await launch(bot, token);
    const { update } = h.tg.sendMessage(token, 'hi', { from: CAROL });
    now = (update.message!.date + 42) * 1000; // handled 42 s after Telegram got it, by the bot's clock
    await h.tg.waitFor(() => handled.length === 1, { what: 'the 429 reaching bot.catch' });
    bot.stop('test over');
    await launched;
    now += 60_000;
    const [minute] = pulse.signals.report().minutes.filter((m) => m.updates > 0);
    assert.equal(minute?.lag_max_s, 42);
    assert.equal(minute?.throttled, 1);
    assert.equal(minute?.retry_after_s, 17);
    assert.deepEqual(minute?.throttled_methods, { sendMessage: 1 });
    assert.deepEqual(client.counters().throttled, { sendMessage: 1 });
  });
});

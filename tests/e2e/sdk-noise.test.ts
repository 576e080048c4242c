// Noise by origin, end to end: real grammY and Telegraf bots polling the fake Telegram, reporting to
// a real Botpulse server. An application error that says "timeout" is an issue (checked through
// the JSON API); a Bot API call that loses its connection, or a user who blocked the bot, is not.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Bot } from 'grammy';
import { Telegraf } from 'telegraf';
import { Faults } from '../../packages/fake-telegram/src/index.js';
import { instrumentGrammy, instrumentTelegraf, type BotpulseClient } from '../../packages/sdk/src/index.js';
import { startHarness, type Harness } from './sdk-support/harness.js';

const DORA = { id: 616161, first_name: 'Dora', username: 'dora_d' };
const EVE = { id: 717171, first_name: 'Eve', username: 'eve_e' };

describe('noise by origin with real bots', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.stop());

  /** The project's issues as the JSON API lists them, once everything sent is digested. */
  async function issuesFromApi(clients: BotpulseClient[]): Promise<{ title: string; count: number; id: number }[]> {
    await Promise.all(clients.map((c) => c.flush(5000)));
    await h.server.digested();
    const response = await fetch(`${h.server.url}/api/v1/projects/${h.server.project.slug}/issues?limit=100`, { headers: { authorization: `Bearer ${h.server.token}` } });
    assert.equal(response.status, 200);
    return ((await response.json()) as { issues: { title: string; count: number; id: number }[] }).issues;
  }

  async function latestEvent(issueId: number): Promise<any> {
    const response = await fetch(`${h.server.url}/api/v1/issues/${issueId}`, { headers: { authorization: `Bearer ${h.server.token}` } });
    assert.equal(response.status, 200);
    return ((await response.json()) as { latestEvent: { payload: unknown } }).latestEvent.payload;
  }

  for (const library of ['grammY', 'Telegraf'] as const) {
    it(`${library}: "Payment provider timeout" thrown by a handler is an issue; a dropped Bot API call and a blocked user are noise`, async () => {
      const { token } = h.tg.createBot();
      const { client } = h.newClient();
      const failures: unknown[] = [];
      const handler = async (ctx: { reply(text: string): Promise<unknown> }, text: string) => {
        if (text === 'pay') throw new Error(`Payment provider timeout after 3000 ms (${library})`);
        await ctx.reply('hello'); // fails: a dropped connection for "hi", a blocked user for Eve
      };
      let stop: () => Promise<void>;
      if (library === 'grammY') {
        const bot = new Bot(token, { client: { apiRoot: h.tg.apiRoot } });
        instrumentGrammy(bot, { client });
        bot.catch((err) => void failures.push(err.error));
        bot.on('message:text', (ctx) => handler(ctx, ctx.message.text));
        const running = bot.start({ timeout: 1 });
        stop = async () => {
          await bot.stop();
          await running;
        };
      } else {
        const bot = new Telegraf(token, { telegram: { apiRoot: h.tg.apiRoot } });
        instrumentTelegraf(bot, { client });
        bot.catch((err) => void failures.push(err));
        bot.on('text', (ctx) => handler(ctx, ctx.message.text));
        const launched = bot.launch();
        stop = async () => {
          bot.stop('test over');
          await launched;
        };
      }
      await h.tg.waitFor(() => h.tg.isPolling(token), { what: `${library} polling` });

      h.tg.fail(token, 'sendMessage', Faults.drop(), { times: 1 });
      h.tg.sendMessage(token, 'hi', { from: DORA });
      await h.tg.waitFor(() => failures.length === 1, { what: 'the dropped sendMessage to fail the handler' });
      h.tg.blockChat(token, EVE.id);
      h.tg.sendMessage(token, 'hi', { from: EVE });
      await h.tg.waitFor(() => failures.length === 2, { what: 'the 403 to fail the handler' });
      const { update: payUpdate } = h.tg.sendMessage(token, 'pay', { from: DORA });
      await h.tg.waitFor(() => failures.length === 3, { what: 'the payment error to reach the catch handler' });
      await stop();

      const issues = (await issuesFromApi([client])).filter((i) => i.title.includes(`(${library})`));
      assert.equal(issues.length, 1, 'one issue');
      assert.match(issues[0]!.title, /Payment provider timeout after 3000 ms/);
      assert.equal(issues[0]!.count, 1);
      const event = await latestEvent(issues[0]!.id);
      assert.equal(event.contexts.telegram.update_id, payUpdate.update_id);
      assert.equal(event.exception.values.at(-1).mechanism.handled, false);
      assert.equal(client.counters().eventsCaptured, 1, 'nothing else was sent');
      assert.equal(client.counters().noise['network'], 1, 'the dropped Bot API call is noise');
      assert.equal(client.counters().noise['bot_blocked'], 1, 'the blocked user is noise');
    });
  }
});

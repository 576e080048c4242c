// The heartbeat from inside the polling loop: "ok" check-ins while getUpdates delivers, "error"
// when the fake Telegram stalls getUpdates (updates pile up, polls come back empty) or when
// getUpdates keeps failing; check-ins reach the Botpulse server as raw `check_in` items.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Bot } from 'grammy';
import { Faults } from '../../packages/fake-telegram/src/index.js';
import { instrumentGrammy, type CheckIn } from '../../packages/sdk/src/index.js';
import { startHarness, type Harness } from './sdk-support/harness.js';

describe('polling heartbeat', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.stop());

  function beatingBot(options: { maxSilenceMs?: number } = {}) {
    const { token } = h.tg.createBot();
    const bot = new Bot(token, { client: { apiRoot: h.tg.apiRoot } });
    const { client, transport } = h.newClient();
    const beats: CheckIn[] = [];
    const pulse = instrumentGrammy(bot, { client, heartbeat: { monitorSlug: `bot-${token.split(':')[0]}`, intervalMs: 250, onBeat: (c) => void beats.push(c), ...options } });
    bot.catch(() => undefined);
    return { token, bot, client, transport, beats, pulse };
  }

  /** The first beat with `status` at or after index `from`, and its index. */
  async function waitForBeat(beats: CheckIn[], status: string, from = 0): Promise<{ beat: CheckIn; index: number }> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const index = beats.findIndex((b, i) => i >= from && b.status === status);
      if (index >= 0) return { beat: beats[index]!, index };
      if (Date.now() > deadline) throw new Error(`no "${status}" beat; got ${beats.map((b) => b.status).join(',')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('beats ok while polling works, reports error while getUpdates is stalled, recovers after', async () => {
    const { token, bot, beats, transport } = beatingBot();
    const handled: string[] = [];
    bot.on('message:text', (ctx) => void handled.push(ctx.message.text));
    const running = bot.start({ timeout: 1 });
    await waitForBeat(beats, 'ok');

    h.tg.stallUpdates(token);
    h.tg.sendMessage(token, 'stuck in Telegram');
    const { beat: errorBeat, index: errorAt } = await waitForBeat(beats, 'error');
    assert.equal(errorBeat.status, 'error');
    assert.match(String(errorBeat.contexts?.['polling']?.['reason']), /pending updates/);
    assert.ok(errorBeat.contexts?.['polling']?.['last_get_updates_ok_at'], 'carries the time of the last successful getUpdates');
    assert.deepEqual(handled, []);

    h.tg.stallUpdates(token, false);
    await h.tg.waitFor(() => handled.length === 1, { what: 'the held update to arrive' });
    await waitForBeat(beats, 'ok', errorAt);
    await bot.stop();
    await running;

    // The check-ins reached the server as raw check_in items, scrubbed of the token.
    await h.storedEvents();
    const stored = await h.server.botpulse.store.listRawItems('check_in', { projectId: h.server.project.id, limit: 1000 });
    const slugs = stored.map((row) => JSON.parse(row.payload.toString('utf8'))).filter((c) => c.monitor_slug === `bot-${token.split(':')[0]}`);
    assert.ok(slugs.some((c) => c.status === 'error'));
    assert.ok(slugs.some((c) => c.status === 'ok'));
    assert.equal(slugs[0].environment, 'test');
    assert.ok(!transport.allText().includes(token.split(':')[1]!));
  });

  it('reports error when getUpdates keeps failing, and stops beating when the bot stops', async () => {
    const { token, bot, beats, client } = beatingBot({ maxSilenceMs: 600 });
    const running = bot.start({ timeout: 1 });
    await waitForBeat(beats, 'ok');
    h.tg.fail(token, 'getUpdates', Faults.badGateway(), { times: Infinity });
    const { beat: errorBeat } = await waitForBeat(beats, 'error');
    assert.match(String(errorBeat.contexts?.['polling']?.['reason']), /no successful getUpdates .*502/);
    assert.ok(client.counters().apiErrors['502']! >= 1);
    h.tg.clearFaults(token);
    await bot.stop();
    await running;
    const count = beats.length;
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(beats.length, count, 'a stopped bot sends no heartbeat');
  });
});

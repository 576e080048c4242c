// A real grammY bot with @botpulse/sdk, polling the fake Telegram and reporting to a real
// Botpulse server: errors become one event with the update's context and no token; expected
// Telegram errors become counters; the same holds under webhooks and @grammyjs/runner.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Bot, webhookCallback } from 'grammy';
import { run } from '@grammyjs/runner';
import { guardWebhook, instrumentGrammy } from '../../packages/sdk/src/index.js';
import { startHarness, sleep, type Harness } from './sdk-support/harness.js';

const ALICE = { id: 424242, first_name: 'Alice', last_name: 'Liddell', username: 'alice_l', language_code: 'en' };

describe('@botpulse/sdk with a real grammY bot', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.stop());

  function newBot() {
    const { token } = h.tg.createBot();
    const bot = new Bot(token, { client: { apiRoot: h.tg.apiRoot } });
    return { token, bot };
  }

  /** Starts polling; resolves (with the start() promise wrapped, so it is not awaited) once a poll waits. */
  async function startPolling(bot: Bot, token: string): Promise<{ running: Promise<void> }> {
    const running = bot.start({ timeout: 1 });
    await h.tg.waitFor(() => h.tg.isPolling(token), { what: 'grammY polling' });
    return { running };
  }

  it('polling: a throwing handler gives one event with the update context and no token', async () => {
    const { token, bot } = newBot();
    const { client, transport } = h.newClient();
    instrumentGrammy(bot, { client, role: () => 'dispatcher' });
    const caught: unknown[] = [];
    bot.catch((err) => void caught.push(err));
    bot.on('message:text', async (ctx) => {
      await ctx.reply('working on it');
      throw new Error(`order failed for bot ${token}`);
    });
    const { running } = await startPolling(bot, token);
    const { update } = h.tg.sendMessage(token, 'please pay', { from: ALICE });
    await h.tg.waitFor(() => caught.length === 1, { what: 'bot.catch to see the error' });
    await bot.stop();
    await running;

    const events = await h.waitForEvents(1);
    const stored = events.find((e) => e.payload.contexts?.['telegram']?.['update_id'] === update.update_id);
    assert.ok(stored, 'the event is stored with the update id');
    const payload = stored.payload as any;
    assert.deepEqual(payload.contexts.telegram, {
      update_id: update.update_id,
      update_type: 'message',
      chat_id: ALICE.id,
      chat_type: 'private',
      user_id: ALICE.id,
      username: 'alice_l',
      first_name: 'Alice',
      last_name: 'Liddell',
      language_code: 'en',
      role: 'dispatcher',
    });
    assert.equal(payload.user.id, String(ALICE.id));
    assert.equal(payload.tags.update_type, 'message');
    assert.equal(payload.tags.chat_type, 'private');
    assert.equal(payload.sdk.name, 'botpulse.javascript.node');
    assert.equal(payload.platform, 'node');
    const exception = payload.exception.values.at(-1);
    assert.equal(exception.type, 'Error');
    assert.equal(exception.mechanism.handled, false);
    assert.equal(exception.mechanism.type, 'grammy.middleware');
    const top = exception.stacktrace.frames.at(-1);
    assert.match(top.filename, /sdk-grammy\.test\.ts$/);
    assert.equal(top.in_app, true);
    assert.match(top.context_line, /order failed for bot/);
    // Breadcrumbs of this update: the update itself, then the sendMessage call.
    const crumbs = payload.breadcrumbs.values.map((b: any) => `${b.category}:${b.message}`);
    assert.deepEqual(crumbs, ['telegram.update:update message', 'telegram.api:sendMessage']);
    assert.equal(payload.breadcrumbs.values[0].data.text, undefined, 'message text is not sent by default');
    // No token anywhere: not in what the SDK sent, not in what the server stored.
    assert.ok(!transport.allText().includes(token.split(':')[1]!), 'the SDK never sent the token');
    assert.ok(!JSON.stringify(stored).includes(token.split(':')[1]!), 'the stored event has no token');
    assert.match(exception.value, /order failed for bot \[bot-token\]/);
    assert.equal(client.counters().eventsCaptured, 1);
  });

  it('a 403 "bot was blocked" from sendMessage is a counter and a breadcrumb, not an event', async () => {
    const { token, bot } = newBot();
    const { client, transport } = h.newClient();
    instrumentGrammy(bot, { client });
    const caught: unknown[] = [];
    bot.catch((err) => void caught.push(err));
    bot.on('message:text', (ctx) => ctx.reply('hello'));
    h.tg.blockChat(token, ALICE.id);
    const { running } = await startPolling(bot, token);
    h.tg.sendMessage(token, 'hi', { from: ALICE });
    await h.tg.waitFor(() => caught.length === 1);
    await bot.stop();
    await running;
    await client.flush(2000);
    assert.equal(transport.payloads('event').length, 0, 'no event was sent');
    const counters = client.counters();
    assert.equal(counters.noise['bot_blocked'], 1);
    assert.equal(counters.apiErrors['403'], 1);
    assert.equal(counters.eventsCaptured, 0);
  });

  it('webhooks: grammY webhookCallback on node:http captures the error (bot.catch alone would not)', async () => {
    const { token, bot } = newBot();
    const { client, transport } = h.newClient();
    instrumentGrammy(bot, { client });
    bot.on('message:text', () => {
      throw new TypeError('cannot read properties of undefined (reading "balance")');
    });
    // guardWebhook answers 200 even when the bot throws (so Telegram does not re-send the update).
    const server = http.createServer(guardWebhook(webhookCallback(bot, 'http'), { client }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await bot.api.setWebhook(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const { update } = h.tg.sendMessage(token, 'balance?', { from: ALICE });
      await h.tg.waitFor(() => transport.payloads('event').length === 1, { what: 'the event to be captured' });
      const [event] = transport.payloads('event');
      assert.equal(event.contexts.telegram.update_id, update.update_id);
      // Answered 200: the fake confirmed the update instead of re-sending it.
      await h.tg.waitFor(() => h.tg.pendingUpdates(token).length === 0, { what: 'the update to be confirmed' });
      assert.equal(h.tg.webhookDeliveries(token).length, 1);
      assert.equal(transport.payloads('event').length, 1, 'captured once (middleware and guard both saw it)');
      assert.equal(event.exception.values.at(-1).type, 'TypeError');
      assert.equal(event.exception.values.at(-1).mechanism.handled, false);
      await bot.api.deleteWebhook();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("webhooks: Telegram's re-send of a failed update is flagged as a duplicate", async () => {
    const { token, bot } = newBot();
    const { client, transport } = h.newClient();
    instrumentGrammy(bot, { client });
    bot.on('message:text', () => {
      throw new Error('database restarting');
    });
    // errorStatus 500 asks Telegram to retry: the fake re-sends the same update_id.
    const server = http.createServer(guardWebhook(webhookCallback(bot, 'http'), { client, errorStatus: 500 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    let updateId = 0;
    try {
      await bot.api.setWebhook(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      updateId = h.tg.sendMessage(token, 'retry me', { from: ALICE }).update.update_id;
      await h.tg.waitFor(() => transport.payloads('event').length >= 2, { what: 'the re-sent update to fail again', timeoutMs: 60_000 });
      await bot.api.deleteWebhook({ drop_pending_updates: true });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const [first, second] = transport.payloads('event');
    assert.equal(first.contexts.telegram.update_id, updateId);
    assert.equal(second.contexts.telegram.update_id, updateId);
    assert.equal(first.tags.duplicate_update, undefined);
    assert.equal(second.tags.duplicate_update, 'true');
    assert.ok(client.counters().duplicateUpdates >= 1);
  });

  it('runner: trackRunner sends the final paused check-in when the handle is stopped, delivered before stop() resolves', async () => {
    const { token, bot } = newBot();
    const { client, transport } = h.newClient();
    const pulse = instrumentGrammy(bot, { client, heartbeat: { monitorSlug: 'runner-bot', intervalMs: 60_000 } });
    await bot.init();
    const handle = pulse.trackRunner(run(bot, { runner: { fetch: { timeout: 1 } } }));
    h.tg.sendMessage(token, 'hello', { from: ALICE });
    // The first answered getUpdates starts the heartbeat; its first beat comes a period later, so
    // the only check-in in this test is the final one.
    await h.tg.waitFor(() => pulse.heartbeat?.running === true, { what: 'the heartbeat to start with the runner' });
    await handle.stop();
    const checkIns = transport.payloads('check_in');
    assert.deepEqual(checkIns.map((c: any) => c.status), ['paused'], 'one final check-in, sent before stop() resolved');
    assert.equal(checkIns[0].monitor_slug, 'runner-bot');
    assert.equal(checkIns[0].contexts.polling.stopped, true);
    assert.equal(pulse.heartbeat?.running, false);
  });

  it('runner: a task that ends on an error sends an error check-in', async () => {
    const { bot } = newBot();
    const { client, transport } = h.newClient();
    const pulse = instrumentGrammy(bot, { client, heartbeat: { monitorSlug: 'runner-broken', intervalMs: 60_000 } });
    pulse.heartbeat!.start(); // as the runner's first getUpdates would
    let fail!: (error: Error) => void;
    const task = new Promise<void>((_, reject) => (fail = reject));
    task.catch(() => undefined); // the application's own handling of its runner's end
    pulse.trackRunner({ stop: async () => undefined, task: () => task });
    fail(new Error('getUpdates kept failing: 401 Unauthorized'));
    // No Telegram traffic to wake the fake's waitFor: poll, with a deadline that only stops a broken run.
    for (const deadline = Date.now() + 30_000; transport.payloads('check_in').length === 0; await sleep(5)) {
      if (Date.now() > deadline) assert.fail('no final check-in');
    }
    const [checkIn] = transport.payloads('check_in');
    assert.equal(checkIn.status, 'error');
    assert.match(checkIn.contexts.polling.reason, /runner ended on an error: Error: getUpdates kept failing/);
  });

  it('runner: concurrent updates keep their own breadcrumbs', async () => {
    const { token, bot } = newBot();
    const { client, transport } = h.newClient();
    instrumentGrammy(bot, { client });
    const gate = { open: false, started: 0 };
    bot.on('message:text', async (ctx) => {
      const label = ctx.message.text;
      addBreadcrumbFor(label, 'start');
      gate.started += 1;
      // Both updates are in flight at once: each waits until the other has started.
      while (!gate.open) await sleep(5);
      addBreadcrumbFor(label, 'end');
      throw new Error(`failed ${label}`);
    });
    function addBreadcrumbFor(label: string, step: string): void {
      client.addBreadcrumb({ category: 'test', message: `${label}:${step}` });
    }
    bot.catch(() => undefined);
    await bot.init();
    const handle = run(bot, { runner: { fetch: { timeout: 1 } } });
    try {
      h.tg.sendMessage(token, 'first', { from: ALICE });
      h.tg.sendMessage(token, 'second', { from: { id: 777, first_name: 'Bob' } });
      while (gate.started < 2) await sleep(5);
      gate.open = true;
      await h.tg.waitFor(() => transport.payloads('event').length === 2, { what: 'two events' });
    } finally {
      await handle.stop();
    }
    for (const event of transport.payloads('event')) {
      const label = /failed (\w+)/.exec(event.exception.values.at(-1).value)![1];
      const tests = event.breadcrumbs.values.filter((b: any) => b.category === 'test').map((b: any) => b.message);
      assert.deepEqual(tests, [`${label}:start`, `${label}:end`], `breadcrumbs of ${label} only`);
      assert.equal(event.contexts.telegram.user_id, label === 'first' ? ALICE.id : 777);
    }
  });

  it('one Error object shared by several updates (a memoised rejected promise): one event per update, each with its context', async () => {
    const { token, bot } = newBot();
    const { client } = h.newClient();
    instrumentGrammy(bot, { client });
    const rates = Promise.reject(new Error('exchange rates unavailable'));
    rates.catch(() => undefined); // memoised: every update awaits the same rejected promise
    bot.on('message:text', async (ctx) => {
      await ctx.reply('looking up rates');
      await rates;
    });
    const caught: unknown[] = [];
    bot.catch((err) => void caught.push(err.error));
    const { running } = await startPolling(bot, token);
    const BOB = { id: 535353, first_name: 'Bob', username: 'bob_r' };
    const first = h.tg.sendMessage(token, 'rates?', { from: ALICE });
    await h.tg.waitFor(() => caught.length === 1, { what: 'the first failure' });
    const second = h.tg.sendMessage(token, 'rates please', { from: BOB });
    await h.tg.waitFor(() => caught.length === 2, { what: 'the second failure' });
    assert.equal(caught[0], caught[1], 'the very same Error object');
    await bot.stop();
    await running;

    const events = (await h.waitForEvents(2)).filter((e) => (e.payload as any).exception.values.at(-1).value === 'exchange rates unavailable');
    assert.deepEqual(
      events.map((e) => (e.payload as any).contexts.telegram.update_id).sort(),
      [first.update.update_id, second.update.update_id].sort(),
      'one event per update that met the error',
    );
    const bob = events.find((e) => (e.payload as any).contexts.telegram.update_id === second.update.update_id)!;
    assert.equal((bob.payload as any).contexts.telegram.user_id, BOB.id);
    assert.equal((bob.payload as any).user.id, String(BOB.id));
    assert.equal(client.counters().eventsCaptured, 2);
  });
});

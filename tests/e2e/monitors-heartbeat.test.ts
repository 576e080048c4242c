// Heartbeat monitors end to end: a real grammY bot process with the Botpulse SDK beating every
// 250 ms, Botpulse's alert bot on the fake Telegram. Periods are a second here (the keys and the
// API take decimals), so the whole file runs in seconds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Bot } from 'grammy';
import { BotpulseClient, HttpTransport, instrumentGrammy } from '../../packages/sdk/src/index.js';
import { MonitorHarness, sleep } from './monitors-support/harness.js';

describe('heartbeat monitors', () => {
  let h: MonitorHarness;
  before(async () => {
    h = await MonitorHarness.start();
  });
  after(async () => h.close());

  it('sends exactly one down alert after period + grace when the bot is killed, and one recovery with the downtime', async () => {
    await h.createMonitor({ slug: 'killed-bot', periodSeconds: 1, graceSeconds: 1 });
    const { token } = h.tg.createBot();
    const bot = h.startBot(token, 'killed-bot');
    await h.waitForStatus('killed-bot', 'up', 60_000);
    const lastBeatBeforeKill = (await h.monitor('killed-bot'))!.lastPingAt!;
    await h.kill(bot.child);

    const [down] = await h.waitForAlerts(1, 60_000);
    assert.match(down!.text, /Bot down/);
    assert.match(down!.text, /killed-bot/);
    assert.ok(down!.sentAt - lastBeatBeforeKill >= 2000, `not before period + grace (${down!.sentAt - lastBeatBeforeKill} ms after the last beat)`);
    const m = await h.waitForStatus('killed-bot', 'down');
    assert.equal(m.alertSent, true);
    await sleep(1500);
    assert.equal(h.alerts().length, 1, 'exactly one down alert');

    h.startBot(token, 'killed-bot');
    const messages = await h.waitForAlerts(2, 60_000);
    assert.match(messages[1]!.text, /Bot recovered/);
    assert.match(messages[1]!.text, /Down for \d+ s/);
    const up = await h.waitForStatus('killed-bot', 'up');
    assert.equal(up.alertSent, false);
    await sleep(1000);
    assert.equal(h.alerts().length, 2, 'exactly one recovery message');

    const { json } = await h.api('GET', `/monitors/${up.id}`);
    assert.deepEqual(
      json.flips.map((f: { from: string; to: string }) => `${f.from}>${f.to}`).reverse(),
      ['new>up', 'up>late', 'late>down', 'down>up'],
    );
  });

  it('alerts "deaf" when getUpdates stalls while the process lives', async () => {
    await h.createMonitor({ slug: 'deaf-bot', periodSeconds: 30, graceSeconds: 30 });
    const { token } = h.tg.createBot();
    const client = new BotpulseClient({ dsn: h.server.dsn, environment: 'test', env: {}, transport: new HttpTransport({ dsn: h.server.dsn, retryBaseMs: 50 }) });
    const bot = new Bot(token, { client: { apiRoot: h.tg.apiRoot } });
    instrumentGrammy(bot, { client, heartbeat: { monitorSlug: 'deaf-bot', intervalMs: 250, monitorConfig: false } });
    bot.catch(() => undefined);
    const running = bot.start({ timeout: 1 });
    try {
      await h.waitForStatus('deaf-bot', 'up', 60_000);
      const before = h.alerts().length;
      h.tg.stallUpdates(token);
      h.tg.sendMessage(token, 'nobody hears this');
      const messages = await h.waitForAlerts(before + 1, 60_000);
      const deaf = messages[before]!;
      assert.match(deaf.text, /Bot deaf/);
      assert.match(deaf.text, /deaf-bot/);
      const m = await h.waitForStatus('deaf-bot', 'down');
      assert.match(m.downReason ?? '', /^deaf: /);

      h.tg.stallUpdates(token, false);
      const after = await h.waitForAlerts(before + 2, 60_000);
      assert.match(after[before + 1]!.text, /Bot recovered/);
    } finally {
      await bot.stop();
      await running;
      await client.close(1000);
    }
  });
});

describe('Botpulse itself down', () => {
  let h: MonitorHarness;
  before(async () => {
    h = await MonitorHarness.start();
  });
  after(async () => h.close());

  it('does not blame the bot for Botpulse being stopped for 3 periods', async () => {
    await h.createMonitor({ slug: 'patient-bot', periodSeconds: 1, graceSeconds: 0.5 });
    const { token } = h.tg.createBot();
    h.startBot(token, 'patient-bot');
    await h.waitForStatus('patient-bot', 'up', 60_000);

    await h.stopServer();
    await sleep(3500); // three periods and more without Botpulse
    await h.startServer();
    const monitors = h.server.botpulse.monitoring.service;
    assert.ok(monitors.previousAliveAt !== null && monitors.startedAt - monitors.previousAliveAt >= 3000, 'the server knows how long it was away');

    await sleep(3000);
    const m = await h.monitor('patient-bot');
    assert.equal(m?.status, 'up');
    assert.deepEqual(h.alerts(), [], 'no down alert');
    const flips = await h.server.botpulse.monitoring.store.flips(m!.id);
    assert.ok(!flips.some((f) => f.to === 'down'), `no down flip: ${JSON.stringify(flips)}`);
  });
});

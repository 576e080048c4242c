// Seed 001's heartbeat rule end to end, on a manual server clock: a grammY bot with the SDK's
// default heartbeat options (a beat every 20 s) makes its first check-in create a monitor that goes
// down, with one alert, exactly 5 minutes after the last beat, not a minute later; a user's
// shorter `downAfterMinutes` moves that point. The bot "dies" by closing its client (nothing more
// is sent), then the clock is stepped to just before and just at the limit.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Bot } from 'grammy';
import { ManualClock } from '../../packages/server/src/monitors/clock.js';
import { BotpulseClient, HttpTransport, instrumentGrammy } from '../../packages/sdk/src/index.js';
import { MonitorHarness, sleep } from './monitors-support/harness.js';

describe('SDK heartbeat defaults (seed 001)', () => {
  const clock = new ManualClock(Date.now());
  let h: MonitorHarness;
  before(async () => {
    h = await MonitorHarness.start({}, clock);
  });
  after(async () => h.close());

  /** Waits until the monitor evaluator has run `n` full ticks from now (it reads the manual clock). */
  async function ticks(n: number): Promise<void> {
    const service = h.server.botpulse.monitoring.service;
    const target = service.stats.ticks + n;
    const deadline = Date.now() + 10_000;
    while (service.stats.ticks < target) {
      if (Date.now() > deadline) throw new Error(`the monitor evaluator did not tick ${n} times`);
      await sleep(20);
    }
  }

  /** A bot that polls and sends ONE check-in with the heartbeat options given, then falls silent. */
  async function beatOnceThenDie(slug: string, heartbeat: { downAfterMinutes?: number } = {}): Promise<number> {
    const { token } = h.tg.createBot();
    const client = new BotpulseClient({ dsn: h.server.dsn, environment: 'test', env: {}, transport: new HttpTransport({ dsn: h.server.dsn, retryBaseMs: 50 }) });
    const bot = new Bot(token, { client: { apiRoot: h.tg.apiRoot } });
    const pulse = instrumentGrammy(bot, { client, heartbeat: { monitorSlug: slug, ...heartbeat } });
    bot.catch(() => undefined);
    const running = bot.start({ timeout: 1 });
    await h.tg.waitFor(() => pulse.polling.state.lastSuccessAt !== undefined, { what: 'a successful getUpdates' });
    assert.equal(pulse.heartbeat!.intervalMs, 20_000);
    const checkIn = await pulse.heartbeat!.beat();
    assert.equal(checkIn?.status, 'ok');
    await client.close(5000); // the process is gone: nothing it does later reaches Botpulse
    await bot.stop();
    await running;
    const monitor = await h.waitForStatus(slug, 'up');
    return monitor.lastPingAt!;
  }

  /** Steps the clock to `limit - 1 ms` (still late, no alert), then to `limit` (down). */
  async function downExactlyAt(slug: string, limit: number, alertsBefore: number): Promise<void> {
    clock.set(limit - 1);
    await ticks(2);
    assert.equal((await h.monitor(slug))!.status, 'late', `not down 1 ms before ${slug}'s limit`);
    assert.equal(h.alerts().length, alertsBefore);
    clock.set(limit);
    const down = await h.waitForStatus(slug, 'down');
    assert.equal(down.downSince, limit, 'down at the limit');
    const alerts = await h.waitForAlerts(alertsBefore + 1);
    assert.match(alerts[alertsBefore]!.text, /Bot down/);
    assert.match(alerts[alertsBefore]!.text, new RegExp(slug));
  }

  it('default options: the monitor goes down exactly 5 minutes after the last beat, with one alert', async () => {
    const lastBeat = await beatOnceThenDie('default-bot');
    const created = (await h.monitor('default-bot'))!;
    assert.equal(created.periodMs + created.graceMs, 5 * 60_000, 'down after 5 minutes of silence');
    assert.equal(created.polling?.['interval_seconds'], 20, 'the monitor knows the bot beats every 20 s');
    clock.set(lastBeat + created.periodMs);
    await h.waitForStatus('default-bot', 'late');
    await downExactlyAt('default-bot', lastBeat + 5 * 60_000, 0);
  });

  it('a user shortens it from the SDK options: downAfterMinutes 2 means down 2 minutes after the last beat', async () => {
    const lastBeat = await beatOnceThenDie('impatient-bot', { downAfterMinutes: 2 });
    const created = (await h.monitor('impatient-bot'))!;
    assert.equal(created.periodMs + created.graceMs, 2 * 60_000);
    clock.set(lastBeat + created.periodMs);
    await h.waitForStatus('impatient-bot', 'late');
    await downExactlyAt('impatient-bot', lastBeat + 2 * 60_000, h.alerts().length);
  });
});

// What only the bot can see, end to end: a grammY bot with the real SDK, the fake Telegram and a
// real Botpulse server (its alerts going to a fake Telegram chat). Webhook health from
// getWebhookInfo, update lag on a compressed bot clock (a minute per real second), and sustained
// 429s each raise exactly one alert and, once cleared, one recovery; check-ins whose bot signals
// are junk are applied anyway. Counts are read from the monitor's notifications (the record the
// alert outbox is fed from), after enough further check-ins that a second alert would exist.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Bot } from 'grammy';
import { Faults } from '../../packages/fake-telegram/src/index.js';
import { hashPassword } from '../../packages/server/src/lib/password.js';
import { monitorStatusLines } from '../../packages/server/src/monitors/status.js';
import { BotpulseClient, HttpTransport, instrumentGrammy } from '../../packages/sdk/src/index.js';
import { MonitorHarness, sleep } from './monitors-support/harness.js';

/** A clock that runs a minute per real second from now on (the bot's, for its per-minute signals). */
function compressedClock(): () => number {
  const origin = Date.now();
  return () => origin + (Date.now() - origin) * 60;
}

describe('bot signals: webhook health, update lag and 429s reach Botpulse and alert once', () => {
  let h: MonitorHarness;
  const clients: BotpulseClient[] = [];
  const stops: (() => Promise<void> | void)[] = [];
  before(async () => {
    h = await MonitorHarness.start();
  });
  after(async () => {
    for (const stop of stops) await stop();
    await Promise.all(clients.map((c) => c.close(2000)));
    await h.close();
  });

  function client(): BotpulseClient {
    const c = new BotpulseClient({ dsn: h.server.dsn, environment: 'production', env: {}, transport: new HttpTransport({ dsn: h.server.dsn, retryBaseMs: 50 }) });
    clients.push(c);
    return c;
  }

  let userAdded = false;
  /** The dashboard's monitors page, logged in as a person would. */
  async function monitorsPageHtml(): Promise<string> {
    if (!userAdded) await h.server.botpulse.store.addUser('ann', await hashPassword('correct horse battery'));
    userAdded = true;
    const form = await fetch(`${h.server.url}/login`);
    const csrf = /bp_login_csrf=([^;]+)/.exec(form.headers.get('set-cookie') ?? '')![1]!;
    const login = await fetch(`${h.server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `bp_login_csrf=${csrf}` },
      body: new URLSearchParams({ _csrf: csrf, login: 'ann', password: 'correct horse battery' }).toString(),
    });
    const session = /bp_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
    assert.ok(session, `logged in (${login.status})`);
    const page = await fetch(`${h.server.url}/monitors`, { headers: { cookie: `bp_session=${session}` } });
    assert.equal(page.status, 200);
    return page.text();
  }

  /** The kinds of the monitor's notifications, oldest first. */
  async function kinds(slug: string): Promise<string[]> {
    const m = await h.monitor(slug);
    if (!m) return [];
    return (await h.server.botpulse.monitoring.store.notifications({ monitorId: m.id, limit: 100 })).map((n) => n.kind).reverse();
  }

  async function waitForKinds(slug: string, wanted: string[], timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await kinds(slug);
      if (wanted.every((k) => got.includes(k))) return;
      if (Date.now() > deadline) throw new Error(`monitor ${slug}: wanted ${wanted.join(', ')}, got ${got.join(', ') || 'nothing'}`);
      await sleep(25);
    }
  }

  /** Waits until the server applied `n` more check-ins of this monitor. */
  async function moreCheckIns(slug: string, n: number): Promise<void> {
    const start = (await h.monitor(slug))?.updatedAt ?? 0;
    let seen = 0;
    let last = start;
    const deadline = Date.now() + 20_000;
    while (seen < n) {
      const m = await h.monitor(slug);
      if (m && m.updatedAt > last) {
        seen += 1;
        last = m.updatedAt;
      }
      if (Date.now() > deadline) throw new Error(`monitor ${slug}: only ${seen} of ${n} more check-ins`);
      await sleep(10);
    }
  }

  it('Telegram cannot reach the webhook: one alert naming the error and the waiting updates; cleared: one recovery', async () => {
    const { token } = h.tg.createBot();
    const bot = new Bot(token, { client: { apiRoot: h.tg.apiRoot } });
    await bot.api.setWebhook('http://127.0.0.1:9/telegram');
    const errorDate = Math.floor(Date.now() / 1000) - 20;
    h.tg.setWebhookInfo(token, { pending_update_count: 57, last_error_date: errorDate, last_error_message: 'Connection refused' });
    const pulse = instrumentGrammy(bot, { client: client(), heartbeat: { monitorSlug: 'hook-bot', mode: 'webhook', intervalMs: 150, webhookInfoIntervalMs: 100 } });
    stops.push(() => pulse.dispose());

    await waitForKinds('hook-bot', ['webhook_failing']);
    const alerts = await h.waitForAlerts(1);
    const failing = alerts.find((a) => /Webhook failing/.test(a.text))!;
    assert.match(failing.text, /hook-bot/);
    assert.match(failing.text, /Telegram could not reach your webhook: Connection refused; 57 updates waiting/);
    await moreCheckIns('hook-bot', 4);
    assert.deepEqual(await kinds('hook-bot'), ['webhook_failing'], 'one alert for one problem, however many check-ins repeat it');
    assert.equal((await h.monitor('hook-bot'))!.status, 'up', 'the process is alive: the monitor itself is up');

    // While it fails, it shows: the API, the dashboard's card, /status and /metrics.
    const { json } = await h.api('GET', '/monitors?project=pay-bot');
    const presented = json.monitors.find((m: { slug: string }) => m.slug === 'hook-bot');
    assert.deepEqual(presented.signalsFiring, ['webhook']);
    assert.equal(presented.signals.webhook.pendingUpdateCount, 57);
    assert.deepEqual(presented.signalRules.updateLag, { seconds: 60, minutes: 5 });
    const card = await monitorsPageHtml();
    assert.match(card, /data-signal-firing="webhook"/);
    assert.match(card, /<th>Webhook<\/th><td><span class="badge mon-down"[^>]*>alerting<\/span> <span class="num">57<\/span> updates waiting · last delivery error <time[^>]*>[^<]*<\/time>: Connection refused/);
    const status = (await monitorStatusLines(h.server.botpulse.store, h.server.botpulse.monitoring.store, Date.now())).join('\n');
    assert.match(status, /🟡 <b>Pay Bot<\/b>: .*webhook failing: <code>hook-bot<\/code> \(production\) \(57 waiting\)/);
    const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
    assert.match(metrics, /botpulse_bot_signal_alert\{bot="pay-bot",monitor="hook-bot",signal="webhook"\} 1/);
    assert.match(metrics, /botpulse_bot_signal_alert\{bot="pay-bot",monitor="hook-bot",signal="update_lag"\} 0/);
    assert.match(metrics, /botpulse_bot_webhook_pending_updates\{bot="pay-bot",monitor="hook-bot"\} 57/);

    h.tg.setWebhookInfo(token, { pending_update_count: 0, last_error_date: errorDate, last_error_message: 'Connection refused' });
    await waitForKinds('hook-bot', ['webhook_ok']);
    await moreCheckIns('hook-bot', 4);
    assert.deepEqual(await kinds('hook-bot'), ['webhook_failing', 'webhook_ok'], 'one recovery');
    await h.tg.waitFor(() => h.alerts().some((a) => /Webhook delivering again/.test(a.text)), { what: 'the recovery in the alert chat' });
  });

  it('updates handled 90 s after Telegram got them, for 5 minutes (a minute per second): one update-lag alert', async () => {
    const { token } = h.tg.createBot();
    const chat = h.tg.createChat({ type: 'private' });
    const now = compressedClock();
    const bot = new Bot(token, { client: { apiRoot: h.tg.apiRoot } });
    const pulse = instrumentGrammy(bot, { client: client(), heartbeat: { monitorSlug: 'slow-bot', intervalMs: 150 }, signals: { now } });
    bot.catch(() => undefined);
    const handled: number[] = [];
    bot.on('message', (ctx) => void handled.push(ctx.update.update_id));
    const running = bot.start({ timeout: 1 });
    stops.push(async () => {
      await bot.stop();
      await running;
    });

    // Every 150 ms (9 s of the bot's clock) an update dated 90 s of the bot's clock ago.
    let lagSeconds = 90;
    let feeding = true;
    const feeder = (async () => {
      while (feeding) {
        h.tg.injectUpdate(token, { message: { message_id: handled.length + 1, date: Math.floor(now() / 1000) - lagSeconds, chat: { id: chat.id, type: 'private' }, from: h.tg.defaultUser, text: 'late' } } as never);
        await sleep(150);
      }
    })();
    stops.push(async () => {
      feeding = false;
      await feeder;
    });

    await waitForKinds('slow-bot', ['update_lag']);
    await h.tg.waitFor(() => h.alerts().some((a) => /Updates late/.test(a.text) && /slow-bot/.test(a.text) && /waited 9\d s/.test(a.text)), { what: 'the lag alert in the alert chat' });
    const status = (await monitorStatusLines(h.server.botpulse.store, h.server.botpulse.monitoring.store, Date.now())).join('\n');
    assert.match(status, /updates late: <code>slow-bot<\/code> \(production\) \(p95 9\d s\)/);
    assert.match(await monitorsPageHtml(), /<th>Update lag<\/th><td><span class="badge mon-down"[^>]*>alerting<\/span> p50 <b class="num">9\d s<\/b>/);
    const fired = (await h.monitor('slow-bot'))!;
    assert.ok((fired.signals?.minutes.filter((m) => (m.lagP95 ?? 0) > 60).length ?? 0) >= 5, 'five late minutes before it fired');
    assert.ok(handled.length > 20, 'the bot kept handling updates');
    await moreCheckIns('slow-bot', 8); // more late minutes (≈ 1.2 of the bot's minutes)
    assert.deepEqual(await kinds('slow-bot'), ['update_lag'], 'exactly one update-lag alert');

    lagSeconds = 0;
    await waitForKinds('slow-bot', ['update_lag_ok']);
    assert.deepEqual(await kinds('slow-bot'), ['update_lag', 'update_lag_ok']);
  });

  it('Telegram answers 429 with retry_after 45 to every sendMessage for minutes: one throttling alert', async () => {
    const { token } = h.tg.createBot();
    const chat = h.tg.createChat({ type: 'private' });
    const now = compressedClock();
    const bot = new Bot(token, { client: { apiRoot: h.tg.apiRoot } });
    const c = client();
    instrumentGrammy(bot, { client: c, heartbeat: { monitorSlug: 'busy-bot', intervalMs: 150 }, signals: { now } });
    bot.catch(() => undefined);
    const running = bot.start({ timeout: 1 });
    stops.push(async () => {
      await bot.stop();
      await running;
    });
    h.tg.fail(token, 'sendMessage', Faults.tooManyRequests(45), { times: Infinity });
    let sending = true;
    const sender = (async () => {
      while (sending) {
        await bot.api.sendMessage(chat.id, 'broadcast').catch(() => undefined);
        await sleep(200); // 12 s of the bot's clock: ≥ 4 answers of 45 s a minute
      }
    })();
    stops.push(async () => {
      sending = false;
      await sender;
    });

    await waitForKinds('busy-bot', ['throttled']);
    await h.tg.waitFor(() => h.alerts().some((a) => /Telegram throttling the bot/.test(a.text) && /sendMessage/.test(a.text)), { what: 'the throttling alert in the alert chat' });
    assert.ok((c.counters().throttled['sendMessage'] ?? 0) >= 10, "the SDK's own counter");
    await moreCheckIns('busy-bot', 8);
    assert.deepEqual(await kinds('busy-bot'), ['throttled'], 'one alert while the 429s go on');
    const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
    assert.match(metrics, /botpulse_bot_signal_alert\{bot="pay-bot",monitor="busy-bot",signal="throttled"\} 1/);
    const throttledTotal = Number(/botpulse_bot_telegram_throttled_total\{bot="pay-bot",monitor="busy-bot"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(throttledTotal >= 3, `429s counted per monitor (${throttledTotal})`);
    assert.doesNotMatch(metrics, /botpulse_bot_[a-z_]+\{[^}]*method=/, 'no per-method series on the server');
    assert.match(await monitorsPageHtml(), /<th>Telegram 429s<\/th><td><span class="badge mon-down"[^>]*>alerting<\/span> <span class="num">\d+<\/span> in the last minute \(sendMessage \d+\), retry_after \d+ s/);
    h.tg.clearFaults(token);
    await waitForKinds('busy-bot', ['throttled_ok']);
  });

  it("a monitor's own update-lag rule: set through the API, refused when impossible, given back with null", async () => {
    const m = await h.createMonitor({ slug: 'tuned-bot', updateLagSeconds: 120, updateLagMinutes: 2 });
    assert.deepEqual([m.updateLagSeconds, m.updateLagMinutes], [120, 2]);
    assert.deepEqual(m.signalRules.updateLag, { seconds: 120, minutes: 2 });
    assert.deepEqual(m.setByHand.filter((f: string) => f.startsWith('updateLag')).sort(), ['updateLagMinutes', 'updateLagSeconds']);
    for (const bad of [{ updateLagSeconds: -1 }, { updateLagMinutes: 0 }, { updateLagSeconds: 'soon' }]) {
      const { status, json } = await h.api('PATCH', `/monitors/${m.id}`, bad);
      assert.equal(status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(json)}`);
    }
    const off = await h.api('PATCH', `/monitors/${m.id}`, { updateLagSeconds: 0 });
    assert.equal(off.json.monitor.signalRules.updateLag, null, '0 turns the lag alert off for this monitor');
    const back = await h.api('PATCH', `/monitors/${m.id}`, { updateLagSeconds: null, updateLagMinutes: null });
    assert.deepEqual(back.json.monitor.setByHand.filter((f: string) => f.startsWith('updateLag')), [], 'given back');
    assert.deepEqual(back.json.monitor.signalRules.updateLag, { seconds: 60, minutes: 5 }, "given back: the server's default rule again");
  });

  it('check-ins whose bot signals are junk are applied anyway: counted, never refused, never a 5xx', async () => {
    const c = client();
    const junk: unknown[] = ['x', 7, [], { minutes: 'soon' }, { minutes: [null, { start: 'never' }, { start: Date.now(), updates: 'many', lag_p95_s: -5 }] }, { webhook: [1, 2] }, { webhook: { pending_update_count: {}, last_error_date: 'x' } }, { minutes: [{ start: new Date().toISOString(), throttled_methods: { '../../etc': 1 } }] }];
    for (const [i, signals] of junk.entries()) {
      c.sendItem('check_in', { check_in_id: `${i}`.padStart(32, '0'), monitor_slug: 'junk-bot', status: 'ok', environment: 'production', contexts: { bot_signals: signals } });
    }
    assert.equal(await c.flush(5000), true);
    assert.deepEqual(c.counters().transportDropped, { queue_overflow: 0, send_error: 0, rejected: 0, rate_limited: 0, closed: 0 }, 'every envelope accepted');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const m = await h.monitor('junk-bot');
      if (m?.signals && m.signals.ignored.count >= junk.length - 1) break;
      if (Date.now() > deadline) throw new Error(`junk not counted: ${JSON.stringify(m?.signals?.ignored)}`);
      await sleep(25);
    }
    const m = (await h.monitor('junk-bot'))!;
    assert.equal(m.status, 'up', 'every junk check-in still counted as a beat');
    assert.ok(h.server.botpulse.monitoring.service.stats.signalPartsIgnored >= junk.length - 1);
    assert.deepEqual(await kinds('junk-bot'), [], 'junk alerts nobody');
    const page = await fetch(`${h.server.url}/metrics`);
    assert.equal(page.status, 200);
  });
});

// Inhibition and 409 conflicts end to end, on a real Botpulse server with the fake Telegram as the
// alert channel (tick 0.1 s, periods of a second).
// 1. While a bot's heartbeat monitor is down, its uptime-probe and threshold notifications are held
//    (`inhibited`, not sent); after the heartbeat recovers, later alerts flow again.
// 2. 409 Conflicts reported the SDK's way (check-ins whose `contexts.polling.conflicts` grows,
//    through the envelope endpoint): a streak longer than BOTPULSE_LOCK_CONFLICT_ALERT_SECONDS
//    alerts once; a shorter one (a deploy overlap) does not.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { BotpulseClient, HttpTransport } from '../../packages/sdk/src/index.js';
import type { Notification } from '../../packages/server/src/store/monitors.js';
import { MonitorHarness, sleep } from './monitors-support/harness.js';

/** Polls `check` until it returns a value (not undefined/false) or the deadline passes. */
async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A bot's heartbeat: a plain ping of the monitor's URL every 150 ms between start() and stop(). */
function heartbeatPinger(h: () => MonitorHarness, slug: string) {
  let pinging = false;
  let loop: Promise<void> = Promise.resolve();
  return {
    start(): void {
      const server = h().server;
      const url = `${server.url}/api/${server.projectId}/heartbeat/${slug}?sentry_key=${new URL(server.dsn).username}`;
      pinging = true;
      loop = (async () => {
        while (pinging) {
          const response = await fetch(url).catch(() => null);
          await response?.arrayBuffer().catch(() => undefined);
          if (response && response.status !== 200) throw new Error(`ping answered ${response.status}`);
          await sleep(150);
        }
      })();
    },
    async stop(): Promise<void> {
      pinging = false;
      await loop;
    },
  };
}

describe('inhibition: a down heartbeat holds the bot\'s probe and threshold alerts', () => {
  let h: MonitorHarness;
  let health: Server;
  let failing = false;
  const pinger = heartbeatPinger(() => h, 'pay-bot-heartbeat');
  before(async () => {
    h = await MonitorHarness.start({
      BOTPULSE_THRESHOLD_ERRORS: 'off',
      BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '0',
      BOTPULSE_THRESHOLD_QUEUE: '80/0.2s',
    });
    // A failing /health still answers its JSON, with a deep queue: the queue rule fires too.
    health = createServer((_req, res) => {
      if (failing) return void res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'broken', queue_size: 500 }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', queue_size: 0 }));
    });
    await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await pinger.stop();
    await h.close();
    health.close();
  });

  const notifications = async (filter: { monitorId?: number } = {}): Promise<Notification[]> =>
    h.server.botpulse.monitoring.store.notifications({ projectId: h.server.projectId, limit: 500, ...filter });
  const withStatus = async (kind: string, status: string, monitorId?: number): Promise<Notification | undefined> =>
    (await notifications(monitorId === undefined ? {} : { monitorId })).find((n) => n.kind === kind && n.status === status);

  it('sends only the heartbeat down while the probe fails, records the probe alert as inhibited, and lets alerts through after recovery', async () => {
    const heartbeat = await h.createMonitor({ slug: 'pay-bot-heartbeat', periodSeconds: 1, graceSeconds: 1 });
    pinger.start();
    await h.waitForStatus('pay-bot-heartbeat', 'up');
    const { port } = health.address() as { port: number };
    const probe = await h.createMonitor({ slug: 'pay-bot-health', kind: 'uptime', url: `http://127.0.0.1:${port}/health`, periodSeconds: 0.2, timeoutSeconds: 2 });
    await h.waitForStatus('pay-bot-health', 'up');
    assert.equal(h.alerts().length, 0);

    // The bot dies: the heartbeat stops, then its /health fails 3 times in a row.
    await pinger.stop();
    const [down] = await h.waitForAlerts(1, 60_000);
    assert.match(down!.text, /Bot down/);
    assert.match(down!.text, /pay-bot-heartbeat/);
    await h.waitForStatus('pay-bot-heartbeat', 'down');

    failing = true;
    await h.waitForStatus('pay-bot-health', 'down');
    const probeDown = await until('the probe\'s down notification to be inhibited', () => withStatus('uptime_down', 'inhibited', probe.id));
    assert.match(probeDown.text, /Health check failing/);
    const queueFiring = await until('the queue rule\'s firing notification to be inhibited', () => withStatus('threshold_firing', 'inhibited'));
    assert.match(queueFiring.text, /queue depth 500/);

    // /health answers again while the heartbeat is still down: its recovery is held too.
    failing = false;
    await h.waitForStatus('pay-bot-health', 'up');
    await until('the probe\'s recovery to be inhibited', () => withStatus('uptime_up', 'inhibited', probe.id));
    await until('the queue rule\'s resolution to be inhibited', () => withStatus('threshold_resolved', 'inhibited'));
    assert.equal(h.alerts().length, 1, `only the heartbeat down reached the chat: ${JSON.stringify(h.alerts().map((a) => a.text))}`);
    const { json } = await h.api('GET', `/monitors/${probe.id}`);
    assert.deepEqual(
      json.notifications.map((n: { kind: string; status: string }) => `${n.kind}:${n.status}`).sort(),
      ['uptime_down:inhibited', 'uptime_up:inhibited'],
      'the API shows the held notifications',
    );

    // The heartbeat comes back: one recovery message.
    pinger.start();
    const afterRecovery = await h.waitForAlerts(2, 60_000);
    assert.match(afterRecovery[1]!.text, /Bot recovered/);
    await h.waitForStatus('pay-bot-heartbeat', 'up');
    assert.equal((await h.api('GET', `/monitors/${heartbeat.id}`)).json.notifications.filter((n: { status: string }) => n.status === 'forwarded').length, 2);

    // Later alerts flow again: the probe failing now pages (and so does the queue rule). Both are
    // due at about the same time, so the outbox sends them as one message of two alerts or as two.
    failing = true;
    const laterText = () => h.alerts().slice(2).map((m) => m.text).join('\n=====\n');
    await until('the probe and queue alerts', () => /Health check failing/.test(laterText()) && /Threshold exceeded/.test(laterText()), 60_000);
    await until('the second probe down to be recorded as forwarded', () => withStatus('uptime_down', 'forwarded', probe.id));
    await sleep(1500); // more than the outbox's pacing: anything else would have arrived
    const later = laterText();
    assert.equal(later.split('Health check failing').length - 1, 1, later);
    assert.equal(later.match(/Threshold exceeded[^\n]*\n[^\n]*queue depth 500/g)?.length, 1, later);
    assert.ok(h.alerts().length <= 4, `nothing else reached the chat: ${later}`);
    failing = false;
  });
});

describe('409 conflicts from SDK check-ins', () => {
  const ALERT_AFTER_SECONDS = 2;
  let h: MonitorHarness;
  let client: BotpulseClient;
  before(async () => {
    h = await MonitorHarness.start({
      BOTPULSE_LOCK_CONFLICT_ALERT_SECONDS: String(ALERT_AFTER_SECONDS),
      BOTPULSE_THRESHOLD_ERRORS: 'off',
      BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '0',
    });
    client = new BotpulseClient({ dsn: h.server.dsn, environment: 'test', env: {}, transport: new HttpTransport({ dsn: h.server.dsn, retryBaseMs: 50 }) });
  });
  after(async () => {
    await client.close(1000);
    await h.close();
  });

  /** One heartbeat check-in as the SDK sends it (packages/sdk/src/heartbeat.ts), delivered now. */
  async function checkIn(slug: string, pid: number, conflicts: number, startedAt: number): Promise<void> {
    client.sendItem('check_in', {
      check_in_id: Math.random().toString(16).slice(2).padEnd(32, '0'),
      monitor_slug: slug,
      status: 'ok',
      environment: 'test',
      contexts: {
        polling: {
          last_get_updates_ok_at: new Date(startedAt).toISOString(),
          last_updates_at: null,
          consecutive_failures: conflicts,
          conflicts,
          interval_seconds: 0.2,
          host: 'bot-box',
          pid,
        },
      },
    });
    assert.ok(await client.flush(5000), 'check-in delivered');
  }

  it('a short streak (a deploy overlap) sends nothing', async () => {
    const m = await h.createMonitor({ slug: 'overlap-bot', periodSeconds: 60, graceSeconds: 60 });
    const startedAt = Date.now();
    await checkIn('overlap-bot', 4242, 0, startedAt);
    await until('the first check-in', async () => (await h.monitor('overlap-bot'))?.status === 'up');
    // Two growing beats back to back (a few hundred ms of conflicts), then quiet beats.
    await checkIn('overlap-bot', 4242, 2, startedAt);
    await checkIn('overlap-bot', 4242, 3, startedAt);
    await until('the streak to be seen', async () => (await h.monitor('overlap-bot'))?.conflictsTotal === 3);
    await checkIn('overlap-bot', 4242, 3, startedAt);
    await until('the streak to end', async () => {
      const now = await h.monitor('overlap-bot');
      return now?.conflictSince === null && (now.polling as { conflicts?: number } | null)?.conflicts === 3;
    });
    // Quiet beats for longer than the alert threshold.
    const quietUntil = Date.now() + ALERT_AFTER_SECONDS * 1000 + 1000;
    while (Date.now() < quietUntil) {
      await checkIn('overlap-bot', 4242, 3, startedAt);
      await sleep(200);
    }
    await sleep(300);
    const after = (await h.monitor('overlap-bot'))!;
    assert.equal(after.conflictsTotal, 3);
    assert.equal(after.conflictAlerted, false);
    assert.equal(h.alerts().length, 0, 'no alert for a deploy overlap');
    assert.deepEqual((await h.server.botpulse.monitoring.store.notifications({ monitorId: m.id })).map((n) => n.kind), []);
  });

  it('a streak longer than BOTPULSE_LOCK_CONFLICT_ALERT_SECONDS sends exactly one alert', async () => {
    const m = await h.createMonitor({ slug: 'fight-bot', periodSeconds: 60, graceSeconds: 60 });
    const startedAt = Date.now();
    let conflicts = 0;
    await checkIn('fight-bot', 777, conflicts, startedAt);
    await until('the first check-in', async () => (await h.monitor('fight-bot'))?.status === 'up');
    // Two processes fight: every beat shows more 409s, until the alert arrives (and a while after).
    let fighting = true;
    const fight = (async () => {
      while (fighting) {
        conflicts += 2;
        await checkIn('fight-bot', 777, conflicts, startedAt);
        await sleep(200);
      }
    })();
    try {
      const [alert] = await h.waitForAlerts(1, 60_000);
      assert.match(alert!.text, /Polling conflict/);
      assert.match(alert!.text, /fight-bot/);
      assert.match(alert!.text, /host bot-box pid 777/);
      await sleep(1000); // the streak goes on: no second alert
    } finally {
      fighting = false;
      await fight;
    }
    await checkIn('fight-bot', 777, conflicts, startedAt); // a quiet beat ends the streak
    await until('the streak to end', async () => (await h.monitor('fight-bot'))?.conflictSince === null);
    await sleep(500);
    assert.equal(h.alerts().length, 1, `exactly one conflict alert: ${JSON.stringify(h.alerts().map((a) => a.text))}`);
    const sent = await h.server.botpulse.monitoring.store.notifications({ monitorId: m.id });
    assert.deepEqual(sent.map((n) => `${n.kind}:${n.status}`), ['conflict:forwarded']);
    const flipped = (await h.monitor('fight-bot'))!;
    assert.ok(flipped.conflictsTotal >= 4);
    assert.equal(flipped.status, 'up', 'conflicts alone do not take the monitor down');
  });
});

describe('inhibition: a probe recovery whose failure was held stays held', () => {
  let h: MonitorHarness;
  let health: Server;
  let failing = false;
  const pinger = heartbeatPinger(() => h, 'shop-bot-heartbeat');
  before(async () => {
    h = await MonitorHarness.start({ BOTPULSE_THRESHOLD_ERRORS: 'off', BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '0', BOTPULSE_THRESHOLD_QUEUE: 'off' });
    health = createServer((_req, res) => void res.writeHead(failing ? 503 : 200, { 'content-type': 'application/json' }).end('{}'));
    await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await pinger.stop();
    await h.close();
    health.close();
  });

  const probeNotification = async (probeId: number, kind: string) =>
    (await h.server.botpulse.monitoring.store.notifications({ monitorId: probeId, limit: 50 })).find((n) => n.kind === kind && n.status !== 'pending');

  it('holds "Health check OK" when the bot came back before its /health did, since "failing" was never sent', async () => {
    await h.createMonitor({ slug: 'shop-bot-heartbeat', periodSeconds: 1, graceSeconds: 1 });
    pinger.start();
    await h.waitForStatus('shop-bot-heartbeat', 'up');
    const { port } = health.address() as { port: number };
    const probe = await h.createMonitor({ slug: 'shop-bot-health', kind: 'uptime', url: `http://127.0.0.1:${port}/health`, periodSeconds: 0.2, timeoutSeconds: 2 });
    await h.waitForStatus('shop-bot-health', 'up');

    await pinger.stop();
    await h.waitForAlerts(1, 60_000); // "Bot down"
    failing = true;
    await h.waitForStatus('shop-bot-health', 'down');
    assert.equal((await until('the probe down to be finished', () => probeNotification(probe.id, 'uptime_down'))).status, 'inhibited');

    // The bot is back (its recovery is sent), and only then does /health answer again.
    pinger.start();
    const messages = await h.waitForAlerts(2, 60_000);
    assert.match(messages[1]!.text, /Bot recovered/);
    await h.waitForStatus('shop-bot-heartbeat', 'up');
    failing = false;
    await h.waitForStatus('shop-bot-health', 'up');
    assert.equal((await until('the probe recovery to be finished', () => probeNotification(probe.id, 'uptime_up'))).status, 'inhibited');
    await sleep(500);
    assert.deepEqual(h.alerts().map((a) => (/Bot down/.test(a.text) ? 'down' : /Bot recovered/.test(a.text) ? 'recovered' : a.text)), ['down', 'recovered']);
  });
});

// Uptime probes and threshold rules end to end. The latency rule's 5 minutes run on a clock 60×
// faster than the wall (a minute per second), with a real grammY bot whose handlers are slow.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Bot } from 'grammy';
import { BotpulseClient, HttpTransport, instrumentGrammy } from '../../packages/sdk/src/index.js';
import { scaledClock } from '../../packages/server/src/monitors/clock.js';
import { MonitorHarness, sleep } from './monitors-support/harness.js';

describe('uptime probes', () => {
  let h: MonitorHarness;
  let health: Server;
  let failing = false;
  let probes = 0;
  before(async () => {
    h = await MonitorHarness.start();
    health = createServer((req, res) => {
      probes += 1;
      if (failing) return void res.writeHead(503).end('{"status":"broken"}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', queue_size: 12, db_connections: 3 }));
    });
    await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await h.close();
    health.close();
  });
  /** Waits until the health endpoint has been probed `count` more times. */
  async function waitForProbes(count: number): Promise<void> {
    const target = probes + count;
    for (const deadline = Date.now() + 60_000; probes < target; await sleep(25)) {
      if (Date.now() > deadline) throw new Error(`only ${probes - target + count} of ${count} probes in 60 s`);
    }
  }

  it('goes down after 3 consecutive failures (one alert), recovers after one success (one message), records gauges', async () => {
    const { port } = health.address() as { port: number };
    const created = await h.createMonitor({ slug: 'health', kind: 'uptime', url: `http://127.0.0.1:${port}/health`, periodSeconds: 0.2, timeoutSeconds: 1 });
    assert.equal(created.failureThreshold, 3);
    await h.waitForStatus('health', 'up');
    assert.deepEqual((await h.monitor('health'))!.gauges, { queue_size: 12, db_connections: 3 });

    failing = true;
    const probesAtFailure = probes;
    const [down] = await h.waitForAlerts(1);
    assert.match(down!.text, /Health check failing/);
    assert.match(down!.text, /3 times in a row: HTTP 503/);
    assert.ok(probes - probesAtFailure >= 3);
    // A window counted in probes, not in time: four more failures would each have had their chance to alert again.
    await waitForProbes(4);
    assert.equal(h.alerts().length, 1, 'one down alert while it keeps failing');

    failing = false;
    const messages = await h.waitForAlerts(2);
    assert.match(messages[1]!.text, /Health check OK/);
    await waitForProbes(4);
    assert.equal(h.alerts().length, 2, 'one recovery');
  });
});

describe('latency threshold (p95 > 1 s for 5 min, clock ×60)', () => {
  let h: MonitorHarness;
  before(async () => {
    h = await MonitorHarness.start({ BOTPULSE_THRESHOLD_ERRORS: 'off', BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '0' }, scaledClock(60));
  });
  after(async () => h.close());

  it('fires once after 5 (compressed) minutes of slow updates and resolves when they are fast again', async () => {
    const { token } = h.tg.createBot();
    const client = new BotpulseClient({ dsn: h.server.dsn, environment: 'test', env: {}, tracesSampleRate: 1, transport: new HttpTransport({ dsn: h.server.dsn, retryBaseMs: 50 }) });
    const bot = new Bot(token, { client: { apiRoot: h.tg.apiRoot } });
    instrumentGrammy(bot, { client });
    let delayMs = 1500;
    bot.on('message', async () => {
      await sleep(delayMs);
    });
    bot.catch(() => undefined);
    const running = bot.start({ timeout: 1 });
    let feeding = true;
    const feeder = (async () => {
      while (feeding) {
        h.tg.sendMessage(token, 'work');
        await sleep(delayMs > 100 ? delayMs : 50);
      }
    })();
    try {
      const [firing] = await h.waitForAlerts(1, 60_000);
      assert.match(firing!.text, /Threshold exceeded/);
      // The handlers sleep 1.5 s: never faster, slower on a loaded machine.
      const p95 = Number(/latency p95 (\d+(?:\.\d+)?) s/.exec(firing!.text)?.[1]);
      assert.ok(p95 >= 1.4, `latency p95 ${p95} s in: ${firing!.text}`);
      const state = await h.server.botpulse.monitoring.store.getRuleState(`rule:${h.server.projectId}:latency_p95`);
      assert.equal(state?.state, 'firing');
      assert.ok(state!.updatedAt - state!.since! >= 5 * 60_000, 'held for 5 (clock) minutes before firing');

      delayMs = 5;
      const messages = await h.waitForAlerts(2, 60_000);
      assert.match(messages[1]!.text, /Threshold back to normal/);
      assert.equal(messages.filter((m) => /Threshold exceeded/.test(m.text)).length, 1, 'one latency alert');
    } finally {
      feeding = false;
      await feeder;
      await bot.stop();
      await running;
      await client.close(1000);
    }
  });
});

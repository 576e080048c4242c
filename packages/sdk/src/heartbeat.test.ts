import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DOWN_AFTER_MINUTES, DEFAULT_HEARTBEAT_INTERVAL_MS, Heartbeat, heartbeatMonitorConfig, PollingMonitor } from './heartbeat.js';
import { memoryClient } from './test-support/memory.js';

const CONFLICT = { errorCode: 409, description: 'Conflict: terminated by other getUpdates request', network: false };

describe('PollingMonitor', () => {
  it('counts 409 Conflicts and reports an event only when they outlast the allowance', async () => {
    const { client, transport } = memoryClient();
    const monitor = new PollingMonitor(client, { conflictEventAfterMs: 50 });
    monitor.started({ timeout: 30 });
    monitor.failed(CONFLICT);
    assert.equal(client.counters().pollingConflicts, 1);
    assert.equal(transport.payloads('event').length, 0, 'a deploy overlap is not an issue');
    await new Promise((r) => setTimeout(r, 60));
    monitor.failed(CONFLICT);
    monitor.failed(CONFLICT);
    const events = transport.payloads('event');
    assert.equal(events.length, 1, 'reported once per streak');
    assert.match(events[0].message, /Polling conflict/);
    monitor.succeeded(0);
    monitor.failed(CONFLICT);
    assert.equal(transport.payloads('event').length, 1, 'a new streak starts over');
    assert.equal(monitor.state.conflicts, 4);
  });
});

describe('Heartbeat', () => {
  it('sends ok check-ins with the last getUpdates time, error once polling goes silent', async () => {
    const { client, transport } = memoryClient();
    const monitor = new PollingMonitor(client);
    const heartbeat = new Heartbeat({ client, monitor, monitorSlug: 'bot', intervalMs: 1000, maxSilenceMs: 100, monitorConfig: false });
    assert.equal(await heartbeat.beat(), undefined, 'nothing before polling starts');
    monitor.started({ timeout: 0 });
    monitor.succeeded(2);
    const ok = await heartbeat.beat();
    assert.equal(ok?.status, 'ok');
    assert.equal(ok?.monitor_slug, 'bot');
    assert.equal(ok?.environment, 'test');
    assert.ok(ok?.contexts?.['polling']?.['last_get_updates_ok_at']);
    assert.ok(client.counters().lastHeartbeatTimestamp > 0);
    await new Promise((r) => setTimeout(r, 150));
    const error = await heartbeat.beat();
    assert.equal(error?.status, 'error');
    assert.deepEqual(transport.payloads('check_in').map((c) => c.status), ['ok', 'error']);
  });

  it('stays silent when deaf if asked to', async () => {
    const { client, transport } = memoryClient();
    const monitor = new PollingMonitor(client);
    const heartbeat = new Heartbeat({ client, monitor, monitorSlug: 'bot', maxSilenceMs: 0, whenDeaf: 'silent' });
    monitor.succeeded(0);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await heartbeat.beat())?.status, 'error');
    assert.equal(transport.items.length, 0);
    assert.equal(client.counters().heartbeatsError, 1);
  });
});

describe('Heartbeat failure paths (counted and logged, never thrown at the bot)', () => {
  function running(options: Partial<ConstructorParameters<typeof Heartbeat>[0]>) {
    const logged: string[] = [];
    const { client, transport } = memoryClient({ logger: { warn: (_obj, msg) => logged.push(msg) } });
    const monitor = new PollingMonitor(client);
    monitor.started({ timeout: 0 });
    monitor.succeeded(1);
    const heartbeat = new Heartbeat({ client, monitor, monitorSlug: 'bot', maxSilenceMs: 60_000, monitorConfig: false, ...options });
    return { client, transport, heartbeat, logged, monitor };
  }

  it('an onBeat that throws: the check-in is sent, the failure counted and logged, the next beat runs', async () => {
    const { client, transport, heartbeat, logged } = running({
      onBeat: () => {
        throw new Error('dashboard push failed');
      },
    });
    assert.equal((await heartbeat.beat())?.status, 'ok');
    assert.equal((await heartbeat.beat())?.status, 'ok');
    assert.equal(transport.payloads('check_in').length, 2);
    assert.equal(client.counters().failures['on_beat'], 2);
    assert.ok(logged.some((m) => /onBeat callback threw/.test(m)));
  });

  it('the timer\'s beats never become an unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const { client, heartbeat } = running({ intervalMs: 5, onBeat: () => { throw new Error('boom'); } });
      heartbeat.start();
      while ((client.counters().failures['on_beat'] ?? 0) < 3) await new Promise((r) => setTimeout(r, 5));
      heartbeat.stop();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(rejections, []);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('a failing Redis write and a failing pending-updates probe are counted and logged', async () => {
    const redis = { set: () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')) };
    const { client, heartbeat, logged, monitor } = running({ redis: redis as never, pendingUpdates: () => Promise.reject(new Error('getWebhookInfo 502')) });
    // Empty polls and no update for an hour: the beat asks the probe whether Telegram holds updates.
    monitor.state.emptyPollsInARow = 3;
    monitor.state.lastUpdatesAt = Date.now() - 3_600_000;
    assert.equal((await heartbeat.beat())?.status, 'ok');
    await new Promise((r) => setImmediate(r));
    assert.equal(client.counters().failures['pending_updates_probe'], 1);
    assert.equal(client.counters().failures['redis_heartbeat'], 1);
    assert.ok(logged.some((m) => /Redis heartbeat key/.test(m)));
    assert.ok(logged.some((m) => /pending updates failed/.test(m)));
  });
});

describe('Heartbeat monitor_config (seed 001: a beat every 20 s, down after 5 minutes of silence)', () => {
  /**
   * What a server reads from monitor_config, after checking it fits Sentry's schema (Relay drops a
   * check-in whose interval unit is not year..minute or whose numbers are not whole): the
   * interval and the margin after it, in minutes.
   */
  function declared(config: Record<string, any> | undefined): { intervalMinutes: number; marginMinutes: number } {
    assert.equal(config?.['schedule']?.type, 'interval');
    assert.equal(config?.['schedule']?.unit, 'minute');
    assert.ok(Number.isInteger(config?.['schedule']?.value) && config?.['schedule']?.value >= 1, 'a whole number of minutes');
    assert.ok(Number.isInteger(config?.['checkin_margin']) && config?.['checkin_margin'] >= 1, 'a whole margin');
    return { intervalMinutes: config!['schedule'].value, marginMinutes: config!['checkin_margin'] };
  }

  async function firstCheckIn(options: Partial<ConstructorParameters<typeof Heartbeat>[0]> = {}) {
    const { client } = memoryClient();
    const monitor = new PollingMonitor(client);
    const heartbeat = new Heartbeat({ client, monitor, monitorSlug: 'bot', ...options });
    monitor.started({ timeout: 30 });
    monitor.succeeded(1);
    return (await heartbeat.beat())!;
  }

  it('beats every 20 s and declares a monitor that is down exactly 5 minutes after the last beat', async () => {
    assert.equal(DEFAULT_HEARTBEAT_INTERVAL_MS, 20_000);
    assert.equal(DEFAULT_DOWN_AFTER_MINUTES, 5);
    const checkIn = await firstCheckIn();
    const { intervalMinutes, marginMinutes } = declared(checkIn.monitor_config);
    assert.equal(intervalMinutes + marginMinutes, 5, 'down 5 minutes after the last beat, not 6');
    assert.deepEqual(checkIn.monitor_config, { schedule: { type: 'interval', value: 1, unit: 'minute' }, checkin_margin: 4 });
    assert.equal(checkIn.contexts?.['polling']?.['interval_seconds'], 20, 'the beat interval travels with every check-in');
  });

  it('a user shortens the silence allowed with downAfterMinutes; a longer interval takes whole-minute slots', async () => {
    assert.deepEqual(declared((await firstCheckIn({ downAfterMinutes: 2 })).monitor_config), { intervalMinutes: 1, marginMinutes: 1 });
    assert.deepEqual(declared((await firstCheckIn({ intervalMs: 90_000, downAfterMinutes: 3 })).monitor_config), { intervalMinutes: 2, marginMinutes: 1 });
    // A long interval without downAfterMinutes leaves a slot's worth of margin.
    assert.deepEqual(declared((await firstCheckIn({ intervalMs: 600_000 })).monitor_config), { intervalMinutes: 10, marginMinutes: 10 });
    assert.deepEqual(heartbeatMonitorConfig(20_000, 5), { schedule: { type: 'interval', value: 1, unit: 'minute' }, checkin_margin: 4 });
  });

  it('refuses a downAfterMinutes Sentry cannot express, and sends the config it is given, or none', async () => {
    const { client } = memoryClient();
    const monitor = new PollingMonitor(client);
    assert.throws(() => new Heartbeat({ client, monitor, monitorSlug: 'bot', downAfterMinutes: 1 }), /downAfterMinutes must be a whole number of minutes above 1 .* not 1/);
    assert.throws(() => new Heartbeat({ client, monitor, monitorSlug: 'bot', downAfterMinutes: 1.5 }), RangeError);
    assert.throws(() => new Heartbeat({ client, monitor, monitorSlug: 'bot', intervalMs: 180_000, downAfterMinutes: 3 }), /above 3/);
    assert.equal((await firstCheckIn({ monitorConfig: false })).monitor_config, undefined);
    const custom = { schedule: { type: 'crontab', value: '*/5 * * * *' }, checkin_margin: 2 };
    assert.deepEqual((await firstCheckIn({ monitorConfig: custom })).monitor_config, custom);
  });
});

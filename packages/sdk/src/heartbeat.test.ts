import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DOWN_AFTER_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, Heartbeat, heartbeatMonitorConfig, PollingMonitor } from './heartbeat.js';
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

describe('Heartbeat monitor_config (seed 001: a beat every 20 s, down after 5 minutes of silence)', () => {
  /** What the server reads from monitor_config: the expected interval and the margin after it, in ms. */
  function declared(config: Record<string, any> | undefined): { intervalMs: number; marginMs: number } {
    assert.equal(config?.['schedule']?.type, 'interval');
    assert.equal(config?.['schedule']?.unit, 'second');
    return { intervalMs: Math.round(config!['schedule'].value * 1000), marginMs: Math.round(config!['checkin_margin'] * 60_000) };
  }

  async function firstCheckIn(options: Partial<ConstructorParameters<typeof Heartbeat>[0]> = {}) {
    const { client } = memoryClient();
    const monitor = new PollingMonitor(client);
    const heartbeat = new Heartbeat({ client, monitor, monitorSlug: 'bot', ...options });
    monitor.started({ timeout: 30 });
    monitor.succeeded(1);
    return (await heartbeat.beat())!;
  }

  it('declares by default a 20 s interval and a margin that makes it down exactly 5 minutes after the last beat', async () => {
    assert.equal(DEFAULT_HEARTBEAT_INTERVAL_MS, 20_000);
    assert.equal(DEFAULT_DOWN_AFTER_MS, 300_000);
    const { intervalMs, marginMs } = declared((await firstCheckIn()).monitor_config);
    assert.equal(intervalMs, 20_000);
    assert.equal(marginMs, 280_000);
    assert.equal(intervalMs + marginMs, 5 * 60_000, 'down 5 minutes after the last beat, not 6');
  });

  it('a user shortens the silence allowed with downAfterMs, and the interval follows intervalMs', async () => {
    const shorter = declared((await firstCheckIn({ downAfterMs: 90_000 })).monitor_config);
    assert.deepEqual(shorter, { intervalMs: 20_000, marginMs: 70_000 });
    const faster = declared((await firstCheckIn({ intervalMs: 10_000, downAfterMs: 60_000 })).monitor_config);
    assert.deepEqual(faster, { intervalMs: 10_000, marginMs: 50_000 });
    // A long interval without downAfterMs still leaves a beat's worth of margin.
    assert.deepEqual(declared((await firstCheckIn({ intervalMs: 600_000 })).monitor_config), { intervalMs: 600_000, marginMs: 600_000 });
    assert.deepEqual(heartbeatMonitorConfig(20_000, 300_000), { schedule: { type: 'interval', value: 20, unit: 'second' }, checkin_margin: 280_000 / 60_000 });
  });

  it('refuses a downAfterMs that is not longer than the interval, and sends no config when told not to', async () => {
    const { client } = memoryClient();
    const monitor = new PollingMonitor(client);
    assert.throws(() => new Heartbeat({ client, monitor, monitorSlug: 'bot', downAfterMs: 20_000 }), /downAfterMs \(20000 ms\) must be longer than intervalMs \(20000 ms\)/);
    assert.equal((await firstCheckIn({ monitorConfig: false })).monitor_config, undefined);
    const custom = { schedule: { type: 'crontab', value: '*/5 * * * *' }, checkin_margin: 2 };
    assert.deepEqual((await firstCheckIn({ monitorConfig: custom })).monitor_config, custom);
  });
});

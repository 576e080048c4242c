import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Heartbeat, PollingMonitor } from './heartbeat.js';
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

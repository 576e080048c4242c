// Monitors declared in the configuration (BOTPULSE_MONITORS, here through a BOTPULSE_CONFIG JSON
// file as an operator would write it): created at start, kept as declared across restarts, and
// judged with their failure threshold counting missed check-ins.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../packages/server/src/config/load.js';
import { openStore } from '../../packages/server/src/main.js';
import type { Project } from '../../packages/server/src/store/model.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

describe('monitors declared in the config file', () => {
  let dataDir: string;
  let configFile: string;
  let project: Project;
  let server: TestServer | null = null;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'botpulse-declared-'));
    configFile = join(dataDir, 'botpulse.json');
    const store = await openStore(loadConfig({ BOTPULSE_DATA_DIR: dataDir }));
    project = await store.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'P' });
    await store.close();
  });
  after(async () => {
    await server?.close({ keepData: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(monitors: unknown): Promise<TestServer> {
    writeFileSync(configFile, JSON.stringify({ BOTPULSE_MONITORS: monitors, BOTPULSE_MONITOR_TICK_SECONDS: 0.1 }));
    return startTestServer({ BOTPULSE_CONFIG: configFile }, { dataDir });
  }

  async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
    const response = await fetch(`${server!.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${server!.token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    return { status: response.status, body: response.status === 204 ? null : await response.json() };
  }

  const listed = async () => Object.fromEntries(((await api('/monitors?project=pay-bot')).body.monitors as any[]).map((m) => [m.slug, m]));

  it('creates the declared monitors at start; the API cannot delete them', async () => {
    server = await start({
      'pay-bot': [
        { slug: 'poller', periodSeconds: 1, graceSeconds: 0.5, failureThreshold: 2 },
        { slug: 'health', kind: 'uptime', url: 'http://127.0.0.1:9/health', periodSeconds: 60, timeoutSeconds: 1 },
      ],
    });
    const monitors = await listed();
    assert.deepEqual(Object.keys(monitors).sort(), ['health', 'poller']);
    assert.equal(monitors['poller'].source, 'config');
    assert.equal(monitors['poller'].periodSeconds, 1);
    assert.equal(monitors['poller'].failureThreshold, 2);
    assert.equal(monitors['health'].kind, 'uptime');
    assert.equal(monitors['health'].failureThreshold, 3, 'the probe default');
    const refused = await api(`/monitors/${monitors['poller'].id}`, { method: 'DELETE' });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error ?? refused.body.message, /BOTPULSE_MONITORS/);
  });

  it('counts a missed check-in as one failure: with threshold 2 the monitor is late after one miss, down after two', async () => {
    const ping = await fetch(`${server!.url}/api/pay-bot/heartbeat/poller?sentry_key=${project.publicKey}`);
    assert.equal(ping.status, 200);
    let poller: any;
    // A condition wait: the deadline only keeps a broken run from hanging.
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
      poller = (await listed())['poller'];
      if (poller.status === 'down') break;
    }
    assert.equal(poller.status, 'down');
    assert.match(poller.downReason, /2 check-ins missed or failed in a row/);
    const { flips } = (await api(`/monitors/${poller.id}`)).body as { flips: { to: string; at: number }[] };
    const late = flips.find((f) => f.to === 'late')!;
    const down = flips.find((f) => f.to === 'down')!;
    assert.ok(late && down, JSON.stringify(flips));
    // Measured from the ping as the server stamped it (lastPingAt), not from this process's clock
    // after the answer came back: a scheduler can only be late, so these bounds hold on any load.
    // Late at the deadline (1 s); the first miss (deadline + grace, 1.5 s after the ping) did not
    // take it down; the second (one period later, 2.5 s) did.
    const pingedAt = poller.lastPingAt as number;
    assert.ok(late.at - pingedAt >= 1000, `late ${late.at - pingedAt} ms after the ping`);
    assert.ok(down.at - pingedAt >= 2500, `down ${down.at - pingedAt} ms after the ping: not at the first miss`);
    assert.ok(down.at > late.at, 'late first, then down');
  });

  it('applies a changed file at the next start: settings updated in place, removed monitors deleted, new ones created', async () => {
    const before = await listed();
    await server!.close({ keepData: true });
    server = await start({ 'pay-bot': [{ slug: 'poller', periodSeconds: 5, graceSeconds: 2, failureThreshold: 1 }, { slug: 'nightly', schedule: '0 3 * * *', timezone: 'Europe/Moscow', graceSeconds: 1800 }] });
    const now = await listed();
    assert.deepEqual(Object.keys(now).sort(), ['nightly', 'poller']);
    assert.equal(now['poller'].id, before['poller'].id, 'the same monitor, with its history');
    assert.equal(now['poller'].periodSeconds, 5);
    assert.equal(now['poller'].failureThreshold, 1);
    assert.equal(now['poller'].status, 'down', 'its state is kept');
    assert.equal(now['nightly'].schedule, '0 3 * * *');
    assert.equal(now['nightly'].timezone, 'Europe/Moscow');
  });

  it('an API monitor of a declared slug is taken over; an undeclared project stops the start with the fix', async () => {
    const made = await api('/monitors', { method: 'POST', body: JSON.stringify({ project: 'pay-bot', slug: 'cron-job', periodSeconds: 60 }) });
    assert.equal(made.status, 201);
    assert.equal(made.body.monitor.source, 'api');
    await server!.close({ keepData: true });
    server = await start({ 'pay-bot': [{ slug: 'poller' }, { slug: 'cron-job', periodSeconds: 120 }] });
    const now = await listed();
    assert.equal(now['cron-job'].id, made.body.monitor.id);
    assert.equal(now['cron-job'].source, 'config');
    assert.equal(now['cron-job'].periodSeconds, 120);
    assert.equal(now['nightly'], undefined, 'no longer declared: deleted');
    await server!.close({ keepData: true });
    server = null;

    await assert.rejects(start({ 'pay-bott': [{ slug: 'poller' }] }), /BOTPULSE_MONITORS names project "pay-bott".*project create/);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createAlerting } from '../alerts/alerting.js';
import { loadConfig } from '../config/load.js';
import { openStore } from '../main.js';
import type { Project } from '../store/model.js';
import type { SqliteStore } from '../store/sqlite/index.js';
import { ManualClock } from './clock.js';
import { alertStoreFor, monitorStoreFor } from '../main.js';
import { Monitors } from './service.js';

describe('heartbeat age rule', () => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  let dir: string;
  let store: SqliteStore;
  let monitors: Monitors;
  let project: Project;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'botpulse-thresholds-'));
    const config = loadConfig({ BOTPULSE_DATA_DIR: dir, BOTPULSE_LOG_LEVEL: 'silent', BOTPULSE_THRESHOLD_HEARTBEAT_AGE_SECONDS: '60', BOTPULSE_MONITOR_PERIOD_SECONDS: '600' });
    store = (await openStore(config)) as SqliteStore;
    const logger = pino({ level: 'silent' });
    monitors = new Monitors({ config, store, monitors: monitorStoreFor(store), alerting: createAlerting(config, store, alertStoreFor(store), logger), logger, clock });
    project = await store.createProject({ name: 'Age Bot', slug: 'age-bot', shortIdPrefix: 'A' });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const states = async () =>
    Object.fromEntries((await monitors.deps.monitors.ruleStates({ projectId: project.id, rule: 'heartbeat_age' })).map((s) => [s.fingerprint.split(':').pop(), s.state]));

  it('fires for a stale heartbeat only, resolves when it pings again, and never sends', async () => {
    const quiet = await monitors.ping(project.id, 'quiet', { at: clock.now(), status: 'ok' });
    const chatty = await monitors.ping(project.id, 'chatty', { at: clock.now(), status: 'ok' });
    clock.advance(61_000);
    await monitors.ping(project.id, 'chatty', { at: clock.now(), status: 'ok' });
    await monitors.thresholds.evaluate();
    assert.deepEqual(await states(), { [quiet.stateId]: 'firing' });

    await monitors.ping(project.id, 'quiet', { at: clock.now(), status: 'ok' });
    clock.advance(1000);
    await monitors.thresholds.evaluate();
    assert.deepEqual(await states(), { [quiet.stateId]: 'inactive' }, 'resolved once it pinged');
    assert.equal((await states())[chatty.stateId], undefined, 'a fresh monitor never gets a state row');
    const sent = await monitors.deps.monitors.notifications({ projectId: project.id });
    assert.deepEqual(sent, [], 'heartbeat age is recorded and shown, never sent');
  });
});

// The monitor evaluator with three `botpulse serve` processes on one PostgreSQL database (issue 12):
// a heartbeat monitor whose bot stops beating while the evaluating process is killed -9 gives one
// "Bot down" alert.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FakeTelegram } from '../../packages/fake-telegram/src/index.js';
import { PostgresStore } from '../../packages/server/src/store/postgres/index.js';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../../packages/server/src/test-support/postgres.js';
import { ALERT_CHAT, alertEnv, startFakeTelegram } from './alerts-support/harness.js';
import { outboxSettled } from './postgres-support/alerts.js';
import { CLI, firstProject, leaseHolderPid, query, startServe, waitUntil, type ServeProcess } from './postgres-support/processes.js';

const skip = !existsSync(CLI) ? 'run `npm run build` first (npm test does)' : await postgresUnavailable();

describe('a heartbeat monitor watched by three processes on PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  let tg: FakeTelegram;
  let token: string;
  const processes: ServeProcess[] = [];
  const configDir = mkdtempSync(join(tmpdir(), 'botpulse-pg-monitors-'));

  before(async () => {
    schema = await createTestSchema('e2e_monitors');
    // The project the config's monitor names exists before any process starts (else the start stops).
    const store = await PostgresStore.open(schema.options());
    await store.createProject({ name: 'Pay Bot', slug: 'pay-bot', shortIdPrefix: 'P' });
    await store.close();
    ({ tg, token } = await startFakeTelegram());
    const configFile = join(configDir, 'botpulse.json');
    writeFileSync(configFile, JSON.stringify({ BOTPULSE_MONITORS: { 'pay-bot': [{ slug: 'poller', periodSeconds: 1, graceSeconds: 1 }] }, BOTPULSE_MONITOR_TICK_SECONDS: 0.1 }));
    const env = { ...alertEnv(tg, token), BOTPULSE_TELEGRAM_UPDATES: 'off', BOTPULSE_CONFIG: configFile } as Record<string, string>;
    for (let i = 0; i < 3; i++) processes.push(await startServe(schema, env));
  });
  after(async () => {
    for (const p of processes) await p.stop();
    await tg?.stop();
    await schema?.drop();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('sends one "Bot down" alert when the bot stops beating and the evaluator is killed -9', async () => {
    const project = await firstProject(schema);
    const state = async () => (await query<{ status: string }>(schema, `SELECT s.status FROM monitor_states s JOIN monitors m ON m.id = s.monitor_id WHERE m.slug = 'poller'`)).map((r) => r.status);
    // The bot beats through every process in turn until the monitor is up.
    let beat = 0;
    await waitUntil(async () => {
      const res = await fetch(`${processes[beat++ % 3]!.url}/api/${project.id}/heartbeat/poller?sentry_key=${project.publicKey}`);
      assert.equal(res.status, 200);
      return (await state()).includes('up');
    }, 'the monitor up');
    // The bot dies; so does the process evaluating the monitors.
    const evaluator = async () => leaseHolderPid(schema, 'monitors:evaluator');
    const holderPid = await evaluator();
    const victim = processes.find((p) => p.pid === holderPid);
    assert.ok(victim, `the evaluator ${holderPid} is one of the processes`);
    await victim.kill9();

    await tg.waitForMessages(token, ALERT_CHAT, 1, { timeoutMs: 120_000 });
    // "Exactly one": wait until a surviving evaluator has run on well past the flip (its lease
    // renewed again and again) with nothing left in the outbox, then count.
    await waitUntil(async () => (await state()).every((s) => s === 'down'), 'the monitor down');
    const renewedUntil = async () => Number((await query<{ until: string }>(schema, `SELECT until FROM alert_leases WHERE name = 'monitors:evaluator'`))[0]!.until);
    const seen = await renewedUntil();
    await waitUntil(async () => (await renewedUntil()) > seen + 2_000 && (await outboxSettled(schema, 0)), 'the survivor to evaluate on for 20 ticks');
    const texts = tg.chat(token, ALERT_CHAT).messages.map((m) => m.text ?? '');
    assert.equal(texts.filter((t) => /Bot down/.test(t)).length, 1, `one down alert; the chat:\n${texts.join('\n---\n')}`);
    assert.match(texts.find((t) => /Bot down/.test(t))!, /poller/);
    const survivor = await evaluator();
    assert.ok(survivor !== null && survivor !== holderPid, 'a survivor evaluates');
  });
});

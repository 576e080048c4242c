// Two Botpulse processes on one SQLite file, each ingesting, digesting and running its own outbox
// sender and alert bot: every alert reaches the chat exactly once, and only one process polls.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { ALERT_CHAT, alertEnv, errorEvent, postEvent, sleep, startFakeTelegram } from './alerts-support/harness.js';
import type { FakeTelegram } from '../../packages/fake-telegram/src/index.js';

async function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('two server processes on one database', () => {
  let tg: FakeTelegram;
  let token: string;
  let dataDir: string;
  const servers: TestServer[] = [];
  before(async () => {
    ({ tg, token } = await startFakeTelegram());
    dataDir = mkdtempSync(join(tmpdir(), 'botpulse-alerts-2p-'));
    const env = alertEnv(tg, token, { BOTPULSE_ALERT_GROUP_WINDOW_SECONDS: '0.3' });
    servers.push(await startTestServer(env, { dataDir }));
    servers.push(await startTestServer(env, { dataDir }));
  });
  after(async () => {
    for (const s of servers) await s.close({ keepData: true });
    await tg.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends each alert once although both processes claim from the same outbox', async () => {
    assert.equal(servers[0]!.project.id, servers[1]!.project.id);
    const names = Array.from({ length: 24 }, (_, i) => `twice-${String(i).padStart(2, '0')}`);
    await Promise.all(names.map((name, i) => postEvent(servers[i % 2]!, errorEvent(name))));
    // Not server.digested(): each process counts only the rows its own digest took, and here
    // either process may digest the other's rows. Wait on the database instead.
    const store = servers[0]!.botpulse.store;
    await waitUntil(async () => (await store.listIssues({ projectId: servers[0]!.project.id, limit: 100 })).total === names.length, 'every issue digested');

    const alerts = servers[0]!.botpulse.alerting.alerts;
    await waitUntil(async () => (await alerts.outbox({ status: 'sent' })).length === names.length, 'every alert sent');
    await sleep(500);
    const text = tg.chat(token, ALERT_CHAT).messages.map((m) => m.text ?? '').join('\n');
    for (const name of names) assert.equal(text.split(`${name}:`).length - 1, 1, `${name} exactly once`);
    const rows = await alerts.outbox({});
    assert.equal(rows.filter((r) => r.status === 'sent').length, names.length);
    assert.equal(rows.filter((r) => r.status === 'pending').length, 0);
    const conflicts = tg.calls({ token, method: 'getUpdates' }).filter((c) => c.errorCode === 409);
    assert.deepEqual(conflicts, [], 'a single poller: no 409 Conflict');
  });
});

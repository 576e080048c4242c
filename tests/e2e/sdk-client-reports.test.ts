// Nothing a bot drops goes unseen (issue 10): during a server outage the SDK keeps what does not
// fit its memory queue on disk and sends it once the server answers; what it cannot keep (or
// chooses not to send) it counts and tells the server in Sentry client reports, which Botpulse
// stores per project and shows on the project page and in /metrics. @sentry/node and
// sentry-python send client reports too: theirs show up the same way.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BotpulseClient } from '../../packages/sdk/src/index.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { eventually, newDiskQueueDir } from './sdk-support/bot-process.js';
import { startFlakyRelay, type FlakyRelay } from './sdk-support/flaky-relay.js';

const run = promisify(execFile);
const python = '/usr/bin/python3';
const hasSentryPython = existsSync(python) && (await run(python, ['-c', 'import sentry_sdk']).then(() => true, () => false));
if (!hasSentryPython && process.env['CI']) throw new Error('CI must have python3-sentry-sdk (apt-get install python3-sentry-sdk)');

describe('an outage, the disk queue and client reports', () => {
  let server: TestServer;
  let relay: FlakyRelay;
  const clients: BotpulseClient[] = [];

  before(async () => {
    server = await startTestServer();
    relay = await startFlakyRelay(server.dsn, { failFirst: 0, down: true });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close(1000)));
    await relay.close();
    await server.close();
  });

  function outageClient(diskQueue: { dir: string; maxFiles?: number; maxBytes?: number }) {
    const client = new BotpulseClient({
      dsn: relay.dsn,
      environment: 'test',
      release: 'outage@1.0.0',
      env: {},
      errorStorm: false, // every error distinct and wanted: the storm guard is tested elsewhere
      diskQueue,
      transportOptions: { maxQueueItems: 100, maxRetries: 1, retryBaseMs: 20, retryMaxMs: 40 },
    });
    clients.push(client);
    return client;
  }

  /** Events stored in issues titled `Error: <prefix>...` (cheap: the issues' counts). */
  async function storedCount(prefix: string): Promise<number> {
    await server.digested();
    const { issues } = await server.botpulse.store.listIssues({ projectId: server.project.id, limit: 1000 });
    return issues.filter((i) => i.title.includes(prefix)).reduce((sum, i) => sum + i.eventCount, 0);
  }

  async function storedMessages(prefix: string): Promise<Set<string>> {
    await server.digested();
    const { issues } = await server.botpulse.store.listIssues({ projectId: server.project.id, limit: 1000 });
    const values = new Set<string>();
    for (const issue of issues) {
      // 500 a page, newest first
      for (let page = await server.botpulse.store.listEvents(issue.id, { limit: 500 }); page.length > 0; page = await server.botpulse.store.listEvents(issue.id, { limit: 500, before: page.at(-1)!.id })) {
        for (const event of page) {
          const value = (event.payload as any).exception?.values?.at(-1)?.value as string | undefined;
          if (value?.startsWith(prefix)) values.add(value);
        }
      }
    }
    return values;
  }

  it('1,200 errors while the server is down: none dropped; the overflow waits on disk and arrives once it is back', async () => {
    const dir = newDiskQueueDir();
    const client = outageClient({ dir });
    for (let i = 0; i < 1200; i++) client.captureException(new Error(`outage error ${i}`));
    await eventually(async () => (client.counters().spilledToDisk >= 1100 ? true : undefined), 'the overflow to reach the disk queue');
    assert.ok(readdirSync(dir).some((f) => f.endsWith('.json')), 'files in the disk queue');
    assert.deepEqual(client.counters().transportDropped, { queue_overflow: 0, send_error: 0, rejected: 0, rate_limited: 0, closed: 0 }, 'nothing dropped');

    relay.setDown(false);
    await eventually(async () => ((await storedCount('outage error ')) >= 1200 ? true : undefined), 'all 1,200 events in Botpulse', 180_000);
    const stored = await storedMessages('outage error ');
    assert.equal(stored.size, 1200, 'each of the 1,200 errors, once');
    assert.ok(client.counters().loadedFromDisk >= 1100);
    assert.deepEqual(client.counters().discarded, {}, 'nothing discarded, so no client report');
    relay.setDown(true);
  });

  it('a disk queue too small for the outage: the oldest files go, and the server is told how many (client report)', async () => {
    const dir = newDiskQueueDir();
    const client = outageClient({ dir, maxFiles: 2 });
    const total = 600;
    for (let i = 0; i < total; i++) {
      client.captureException(new Error(`small disk error ${i}`));
      if (i % 100 === 99) await new Promise((r) => setImmediate(r)); // several spills, so several files
    }
    await eventually(async () => ((client.counters().discarded['cache_overflow:error'] ?? 0) > 0 ? true : undefined), 'the disk queue to overflow');

    relay.setDown(false);
    await eventually(async () => {
      const counted = client.counters().discarded['cache_overflow:error'] ?? 0;
      return (await storedCount('small disk error ')) + counted === total ? true : undefined;
    }, 'every error either stored or counted as dropped', 180_000);
    const stored = await storedMessages('small disk error ');
    const counted = client.counters().discarded['cache_overflow:error'] ?? 0;
    await client.flush(5000); // sends the client report of the last drops too
    const discarded = await eventually(async () => {
      await server.digested();
      const rows = await server.botpulse.store.clientDiscards(server.project.id);
      return rows.find((r) => r.reason === 'cache_overflow' && r.category === 'error' && r.quantity === counted);
    }, `the client report in Botpulse (${counted} dropped)`);
    assert.equal(stored.size + discarded.quantity, total, `stored ${stored.size} + reported dropped ${discarded.quantity} = ${total}`);
    assert.ok(discarded.quantity > 0 && stored.size > 0);
    assert.equal(client.counters().transportDropped.closed, 0);
    relay.setDown(true);
  });

  it('the dashboard project page and /metrics show what the SDKs dropped', async () => {
    // sampleRate 0: every error is left out on purpose, and counted.
    const client = new BotpulseClient({ dsn: server.dsn, env: {}, sampleRate: 0, diskQueue: false });
    clients.push(client);
    for (let i = 0; i < 7; i++) client.captureException(new Error(`sampled out ${i}`));
    await client.flush(5000);
    const sampled = await eventually(async () => {
      await server.digested();
      return (await server.botpulse.store.clientDiscards(server.project.id)).find((r) => r.reason === 'sample_rate');
    }, 'the sample_rate discards');
    assert.equal(sampled.quantity, 7);
    assert.equal(sampled.category, 'error');

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /botpulse_sdk_discarded_events_total\{bot="test-bot",reason="sample_rate",category="error"\} 7/);
    assert.match(metrics, /botpulse_sdk_discarded_events_total\{bot="test-bot",reason="cache_overflow",category="error"\} [1-9]/);

    const page = await dashboardPage(server, `/projects/${server.project.slug}`);
    assert.match(page, /Dropped before sending/);
    assert.match(page, /<code>sample_rate<\/code>[^<]*<span class="faint">left out by sampleRate<\/span><\/td><td class="cat">error<\/td><td>7<\/td>/);
    assert.match(page, /<code>cache_overflow<\/code>/);
  });

  it("@sentry/node's client report (beforeSend dropped 2) shows up", async () => {
    const script = fileURLToPath(new URL('./sdk-support/sentry-node-discards.mjs', import.meta.url));
    const fresh = await startTestServer();
    try {
      const { stdout } = await run(process.execPath, [script, fresh.dsn], { timeout: 60_000 });
      assert.match(stdout, /done/);
      const row = await eventually(async () => {
        await fresh.digested();
        return (await fresh.botpulse.store.clientDiscards(fresh.project.id)).find((r) => r.reason === 'before_send');
      }, 'the @sentry/node client report');
      assert.equal(row.quantity, 2);
      assert.equal(row.category, 'error');
    } finally {
      await fresh.close();
    }
  });

  it("sentry-python's client report (before_send dropped 3) shows up", { skip: !hasSentryPython && 'python3-sentry-sdk is not installed' }, async () => {
    const script = fileURLToPath(new URL('./sdk-support/sentry-python-discards.py', import.meta.url));
    const fresh = await startTestServer();
    try {
      const { stdout } = await run(python, [script, fresh.dsn], { timeout: 60_000 });
      assert.match(stdout, /done/);
      const row = await eventually(async () => {
        await fresh.digested();
        return (await fresh.botpulse.store.clientDiscards(fresh.project.id)).find((r) => r.reason === 'before_send');
      }, 'the sentry-python client report');
      assert.equal(row.quantity, 3);
      assert.equal(row.category, 'error');
    } finally {
      await fresh.close();
    }
  });
});

/** A dashboard page as a logged-in user sees it. */
async function dashboardPage(server: TestServer, path: string): Promise<string> {
  const { hashPassword } = await import('../../packages/server/src/lib/password.js');
  await server.botpulse.store.addUser('reports', await hashPassword('reports-password-1'));
  const form = await fetch(`${server.url}/login`);
  const csrfCookie = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const login = await fetch(`${server.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
    body: new URLSearchParams({ login: 'reports', password: 'reports-password-1', _csrf: csrf }),
    redirect: 'manual',
  });
  assert.equal(login.status, 303, 'logged in');
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const res = await fetch(`${server.url}${path}`, { headers: { cookie } });
  assert.equal(res.status, 200, `GET ${path}`);
  return res.text();
}

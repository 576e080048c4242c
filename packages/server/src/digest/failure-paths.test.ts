import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import type { Spool } from '../ingest/spool.js';
import { hashPassword } from '../lib/password.js';
import { startTestServer, type TestServer } from '../test-support/server.js';
import { digestStatusLines } from '../alerts/digest-status.js';
import { DigestWorker } from './worker.js';

/**
 * The digest's failure paths on a real server (its own thread, its own SQLite connection): a row
 * that cannot be stored is quarantined and the rows behind it are digested; a digest thread that
 * dies is started again, and each shows in /metrics and the bot's /status.
 */
describe('digest failure paths', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  const hexId = () => crypto.randomUUID().replace(/-/g, '');
  const postEvent = async (message: string) => {
    const eventId = hexId();
    const res = await fetch(`${server.url}/api/${server.project.id}/store/`, {
      method: 'POST',
      headers: { 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${server.project.publicKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: eventId, message }),
    });
    assert.equal(res.status, 200);
    return eventId;
  };
  const metric = async (name: string) => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };
  /** Logs in to the dashboard (double-submit CSRF, as a browser does) and fetches a page. */
  const dashboardPage = async (url: string) => {
    const web = server.botpulse.app;
    await server.botpulse.store.addUser('ops', await hashPassword('correct horse battery'));
    const cookie = (res: { headers: Record<string, unknown> }, name: string) =>
      [res.headers['set-cookie']].flat().map(String).find((c) => c.startsWith(`${name}=`))!.split(';')[0]!.split('=')[1]!;
    const form = await web.inject({ method: 'GET', url: '/login' });
    const csrf = cookie(form, 'bp_login_csrf');
    const login = await web.inject({
      method: 'POST',
      url: '/login',
      cookies: { bp_login_csrf: csrf },
      payload: new URLSearchParams({ _csrf: csrf, login: 'ops', password: 'correct horse battery' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(login.statusCode, 303);
    const page = await web.inject({ method: 'GET', url, cookies: { bp_session: cookie(login, 'bp_session') } });
    assert.equal(page.statusCode, 200);
    return page.body;
  };
  const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 1500; i++) {
      if (await ok()) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`gave up waiting: ${what}`);
  };

  it('quarantines a spooled row that cannot be stored; the events around it are stored, and /metrics and /status say so', async () => {
    const { botpulse } = server;
    const first = await postEvent('before the poison row');
    // The poison row: accepted into the spool for a project that does not exist, so its issue
    // violates a constraint and the whole batch's transaction fails with it.
    await botpulse.store.appendToSpool([{ projectId: 987_654, kind: 'event', eventId: hexId(), receivedAt: Date.now(), payload: Buffer.from('{"message":"poison"}') }]);
    await botpulse.spool.resync();
    const last = await postEvent('after the poison row');
    await until('the event after the poison row is stored', async () => (await botpulse.store.getEvent(server.project.id, last)) !== null);
    await server.digested();

    for (const id of [first, last]) assert.ok(await botpulse.store.getEvent(server.project.id, id), `event ${id} stored`);
    assert.equal(await botpulse.store.spoolBacklog(), 0, 'nothing left blocking the spool');
    assert.equal((await botpulse.store.quarantineSummary()).rows, 1, 'the poison row is kept');
    assert.equal(botpulse.digest.health().quarantined, 1);
    assert.equal(await metric('botpulse_digest_quarantined_rows'), 1);
    const status = await digestStatusLines(botpulse.digest.health(), botpulse.store, Date.now());
    assert.ok(status.some((l) => /1 spooled row could not be stored .* digest quarantine/.test(l)), status.join('\n'));
    const page = await dashboardPage('/issues');
    assert.match(page, /1 spooled event could not be stored and is kept in the digest quarantine/, 'the dashboard says so');
  });

  it('starts a digest thread that died again, counts it, and digests what arrived meanwhile', async () => {
    const { botpulse } = server;
    const thread = (botpulse.digest as unknown as { worker: Worker }).worker;
    await thread.terminate();
    await until('the thread is restarted', () => botpulse.digest.health().threadRestarts === 1 && !botpulse.digest.health().threadDown);
    const id = await postEvent('after the restart');
    await server.digested();
    assert.ok(await botpulse.store.getEvent(server.project.id, id));
    assert.equal(await metric('botpulse_digest_thread_restarts_total'), 1);
    assert.equal(await metric('botpulse_digest_thread_up'), 1);
    const status = await digestStatusLines(botpulse.digest.health(), botpulse.store, Date.now());
    assert.ok(status.some((l) => /Digest thread restarted 1 time since start/.test(l)), status.join('\n'));
  });
});

describe('a digest thread that cannot start', () => {
  it('makes DigestWorker.start reject with the reason instead of waiting forever', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-digest-start-'));
    try {
      const config = loadConfig({ BOTPULSE_DATA_DIR: dir, BOTPULSE_LOG_LEVEL: 'silent' });
      mkdirSync(config.databaseFile); // a directory where the database file should be: SQLite cannot open it
      const spool = { backlog: 0 } as Spool; // never asked: the thread does not get as far as a kick
      await assert.rejects(DigestWorker.start(config, spool, { threadEntry: new URL('../digest-thread.ts', import.meta.url), logger: pino({ level: 'silent' }) }), /digest thread exited \(code 1\) before it was ready: .*(directory|open)/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

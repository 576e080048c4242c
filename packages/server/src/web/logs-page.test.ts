// The dashboard's Logs page: a project's lines newest first, filtered by the search box
// (words, field:value, level:…), escaped, a forbidden line linked to its issue.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../lib/password.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

const PASSWORD = 'correct horse battery staple';

describe('the Logs page', () => {
  let server: TestServer;
  let session: string;
  before(async () => {
    server = await startTestServer();
    await server.botpulse.store.addUser('ops', await hashPassword(PASSWORD));
    const form = await fetch(`${server.url}/login`);
    const token = form.headers.getSetCookie().find((c) => c.startsWith('bp_login_csrf='))!.split(';')[0]!.split('=')[1]!;
    const login = await fetch(`${server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `bp_login_csrf=${token}` },
      body: new URLSearchParams({ _csrf: token, login: 'ops', password: PASSWORD }).toString(),
    });
    session = login.headers.getSetCookie().find((c) => c.startsWith('bp_session='))!.split(';')[0]!;
    const body = [
      { msg: 'User balance checked <b>ok</b>', level: 'info', logger: 'bot.balance', user_id: 42, time: Date.now() - 2000 },
      { msg: 'Payment provider timeout', level: 'error', logger: 'bot.pay', user_id: 7, time: Date.now() - 1000 },
      { msg: 'Database connection lost', level: 'critical', logger: 'bot.db', time: Date.now() },
    ].map((r) => JSON.stringify(r)).join('\n');
    const sent = await fetch(`${server.url}/api/${server.project.id}/logs/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
    assert.equal(sent.status, 200);
    const newest = (await server.botpulse.logs.searchLines({ projectId: server.project.id, limit: 1 }))[0]!.id;
    while ((await server.botpulse.logs.ruleCursor()) < newest) await new Promise((r) => setTimeout(r, 20));
    await server.digested();
  });
  after(async () => server.close());

  const get = async (qs: string) => {
    const r = await fetch(`${server.url}/logs${qs}`, { headers: { cookie: session } });
    assert.equal(r.status, 200);
    return r.text();
  };

  it('lists lines newest first, escaped, with their fields; the nav links it', async () => {
    const page = await get('');
    assert.match(page, /<a href="\/logs" aria-current="page">Logs<\/a>/);
    const lost = page.indexOf('Database connection lost');
    const timeout = page.indexOf('Payment provider timeout');
    const balance = page.indexOf('User balance checked');
    assert.ok(lost > 0 && lost < timeout && timeout < balance, 'newest first');
    assert.match(page, /User balance checked &lt;b&gt;ok&lt;\/b&gt;/);
    assert.match(page, /user_id=42/);
  });

  it('filters by words, field:value and level, and links a forbidden line to its issue', async () => {
    const byField = await get('?q=user_id%3A7');
    assert.match(byField, /Payment provider timeout/);
    assert.doesNotMatch(byField, /User balance checked/);
    const byLevel = await get('?min_level=critical');
    assert.match(byLevel, /Database connection lost/);
    assert.doesNotMatch(byLevel, /Payment provider timeout/);
    assert.match(byLevel, /<span class="badge" title="forbidden:Database connection lost">forbidden<\/span> <a href="\/issues\/\d+">issue<\/a>/);
    const none = await get('?q=nothing+like+this');
    assert.match(none, /No log line matches/);
    const bad = await fetch(`${server.url}/logs?min_level=loud`, { headers: { cookie: session } });
    assert.equal(bad.status, 400, 'a bad filter is a 400 page, never a 500');
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { loadConfig } from '../config/load.js';
import { hashPassword } from '../lib/password.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { dashboard } from './plugin.js';
import { encodePayload } from '../store/payload.js';
import { issueLifecycle } from '../digest/lifecycle.js';

const PASSWORD = 'correct horse battery';
let dir: string;
let store: SqliteStore;
let clock = Date.parse('2026-03-10T12:00:00Z');

async function app(publicUrl = 'http://127.0.0.1:8000'): Promise<FastifyInstance> {
  const instance = Fastify();
  const config = loadConfig({ BOTPULSE_DATA_DIR: dir, BOTPULSE_URL: publicUrl });
  await instance.register(dashboard, { config, store, now: () => clock });
  await instance.ready();
  return instance;
}

const cookiesOf = (res: { headers: Record<string, unknown> }): Record<string, string> => {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw ? [String(raw)] : [];
  return Object.fromEntries(list.map((c: string) => c.split(';')[0]!.split('=') as [string, string]));
};

/** GET /login for the double-submit token, then POST it. */
async function logIn(web: FastifyInstance, login: string, password: string, extra: Record<string, string> = {}) {
  const form = await web.inject({ method: 'GET', url: '/login' });
  const token = cookiesOf(form).bp_login_csrf!;
  return web.inject({
    method: 'POST',
    url: '/login',
    cookies: { bp_login_csrf: token },
    payload: new URLSearchParams({ _csrf: token, login, password, ...extra }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

async function sessionCookie(web: FastifyInstance): Promise<{ bp_session: string }> {
  const res = await logIn(web, 'ann', PASSWORD);
  assert.equal(res.statusCode, 303);
  return { bp_session: cookiesOf(res).bp_session! };
}

async function csrfToken(web: FastifyInstance, cookies: Record<string, string>): Promise<string> {
  const page = await web.inject({ method: 'GET', url: '/issues', cookies });
  return /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
}

const post = (web: FastifyInstance, url: string, cookies: Record<string, string>, form: Record<string, string>) =>
  web.inject({ method: 'POST', url, cookies, payload: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'botpulse-web-'));
  store = await SqliteStore.open(join(dir, 'botpulse.db'));
  await store.addUser('ann', await hashPassword(PASSWORD));
  await store.addUser('bob', await hashPassword(PASSWORD));
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard access', () => {
  it('redirects pages to the login page without a session, and serves login and assets', async () => {
    const web = await app();
    for (const url of ['/issues', '/issues/1', '/projects', '/monitors', '/']) {
      const res = await web.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 302, url);
      assert.equal(res.headers.location, `/login?next=${encodeURIComponent(url)}`);
    }
    assert.equal((await web.inject({ method: 'GET', url: '/login' })).statusCode, 200);
    const css = await web.inject({ method: 'GET', url: '/static/app.css' });
    assert.equal(css.statusCode, 200);
    assert.match(String(css.headers['content-type']), /text\/css/);
    assert.equal((await web.inject({ method: 'GET', url: '/static/htmx.min.js' })).statusCode, 200);
    const htmx = await web.inject({ method: 'POST', url: '/issues/bulk', payload: 'action=resolve&ids=1', headers: { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' } });
    assert.equal(htmx.statusCode, 401);
    assert.match(String(htmx.headers['hx-redirect']), /^\/login/);
  });

  it('logs in with a session cookie that is HttpOnly and SameSite=Lax, Secure only over https', async () => {
    const res = await logIn(await app(), 'ann', PASSWORD, { next: '/issues?view=critical' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/issues?view=critical');
    const cookie = [res.headers['set-cookie']].flat().find((c) => String(c).startsWith('bp_session='))!;
    assert.match(String(cookie), /HttpOnly/);
    assert.match(String(cookie), /SameSite=Lax/);
    assert.doesNotMatch(String(cookie), /Secure/);
    const secure = await logIn(await app('https://errors.example.com'), 'ann', PASSWORD);
    assert.match(String([secure.headers['set-cookie']].flat().find((c) => String(c).startsWith('bp_session='))), /; Secure/);
  });

  it('stores only a hash of the session id, and keeps sessions across restarts', async () => {
    const cookies = await sessionCookie(await app());
    assert.equal(await store.getSession(cookies.bp_session), null);
    const restarted = await app();
    const res = await restarted.inject({ method: 'GET', url: '/issues', cookies });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
  });

  it('refuses a wrong password and an unknown login alike', async () => {
    const web = await app();
    const wrong = await logIn(web, 'ann', 'nope nope nope');
    const unknown = await logIn(web, 'nobody', 'nope nope nope');
    assert.equal(wrong.statusCode, 401);
    assert.equal(unknown.statusCode, 401);
    assert.match(wrong.body, /Wrong login or password/);
    assert.equal(cookiesOf(wrong).bp_session, undefined);
  });

  it('never redirects off-site after login', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example', '/\\evil.example']) {
      const res = await logIn(await app(), 'ann', PASSWORD, { next });
      assert.equal(res.headers.location, '/issues', next);
    }
  });

  it('expires a session after 14 idle days, and ends it at logout', async () => {
    const web = await app();
    const cookies = await sessionCookie(web);
    clock += 13 * 86_400_000;
    assert.equal((await web.inject({ method: 'GET', url: '/projects', cookies })).statusCode, 200); // use extends it
    clock += 13 * 86_400_000;
    assert.equal((await web.inject({ method: 'GET', url: '/projects', cookies })).statusCode, 200);
    clock += 15 * 86_400_000;
    assert.equal((await web.inject({ method: 'GET', url: '/projects', cookies })).statusCode, 302);

    const fresh = await sessionCookie(web);
    const token = await csrfToken(web, fresh);
    assert.equal((await post(web, '/logout', fresh, { _csrf: token })).statusCode, 303);
    assert.equal((await web.inject({ method: 'GET', url: '/issues', cookies: fresh })).statusCode, 302);
  });
});

describe('CSRF', () => {
  it('refuses the login form without its token', async () => {
    const res = await (await app()).inject({ method: 'POST', url: '/login', payload: `login=ann&password=${encodeURIComponent(PASSWORD)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.statusCode, 403);
  });

  it('refuses any POST of a session without the session token, with another session token, or with a wrong one', async () => {
    const web = await app();
    const ann = await sessionCookie(web);
    const bob = { bp_session: cookiesOf(await logIn(web, 'bob', PASSWORD)).bp_session! };
    const bobToken = await csrfToken(web, bob);
    for (const form of [{}, { _csrf: '' }, { _csrf: 'x'.repeat(43) }, { _csrf: bobToken }] as Record<string, string>[]) {
      for (const url of ['/logout', '/issues/bulk', '/issues/1/status', '/projects/x']) {
        const res = await post(web, url, ann, { ...form, status: 'resolved', action: 'resolve', ids: '1' });
        assert.equal(res.statusCode, 403, `${url} ${JSON.stringify(form)}`);
      }
    }
    const token = await csrfToken(web, ann);
    const bulk = await post(web, '/issues/bulk', ann, { _csrf: token, action: 'resolve', ids: '999999', back: '/issues' });
    assert.equal(bulk.statusCode, 303);
    assert.equal(bulk.headers.location, '/issues?done=resolved:0', 'an issue that is gone is skipped');
    const header = await web.inject({ method: 'POST', url: '/issues/bulk', cookies: ann, headers: { 'x-csrf-token': token, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'action=ignore' });
    assert.equal(header.statusCode, 303);
  });
});

describe('login lockout', () => {
  it('answers 429 after 5 failures for one login and address, until 15 minutes pass', async () => {
    const web = await app();
    for (let i = 0; i < 4; i++) assert.equal((await logIn(web, 'bob', 'wrong')).statusCode, 401);
    const fifth = await logIn(web, 'bob', 'wrong');
    assert.equal(fifth.statusCode, 429);
    assert.equal(fifth.headers['retry-after'], '900');
    assert.equal((await logIn(web, 'bob', PASSWORD)).statusCode, 429);
    assert.equal((await logIn(web, 'ann', PASSWORD)).statusCode, 303, 'other logins are not affected');
    clock += 15 * 60_000 + 1;
    assert.equal((await logIn(web, 'bob', PASSWORD)).statusCode, 303);
  });
});

describe('escaping in pages', () => {
  it('renders titles, tags and payload values from events as text', async () => {
    const web = await app();
    const project = await store.createProject({ name: '<b>Bot</b>', shortIdPrefix: 'X' });
    const evil = '<img src=x onerror=alert(1)>';
    const eventId = 'a'.repeat(32);
    await store.appendToSpool([{ projectId: project.id, kind: 'event', eventId, receivedAt: clock, payload: Buffer.from('{}') }]);
    await store.digestBatch(10, (rows) =>
      rows.map((row) => ({
        kind: 'event' as const, spoolId: row.id, projectId: project.id, receivedAt: clock, fingerprint: 'xss', groupingVersion: 1,
        compressedPayload: encodePayload({ extra: { [evil]: evil }, user: { id: evil } }),
        event: { eventId, timestamp: clock, level: 'error', platform: null, environment: evil, release: null, serverName: null, transaction: null, origin: evil, title: evil, culprit: evil, message: evil, exceptionType: null, exceptionValue: null, userKey: null, telegram: null, request: null, tags: { [evil]: evil }, payload: {} },
      })),
      issueLifecycle,
    );
    const cookies = await sessionCookie(web);
    const issue = (await store.listIssues({ projectId: project.id })).issues[0]!;
    for (const url of ['/issues', `/issues/${issue.id}`, '/projects', `/projects/${project.slug}`]) {
      const res = await web.inject({ method: 'GET', url, cookies });
      assert.equal(res.statusCode, 200, url);
      assert.ok(!res.body.includes('<img src=x'), `${url} contains raw markup`);
      assert.ok(!res.body.includes('<b>Bot</b>'), `${url} contains the raw project name`);
    }
    const page = await web.inject({ method: 'GET', url: `/issues/${issue.id}`, cookies });
    assert.ok(page.body.includes('&lt;img src=x onerror=alert(1)&gt;'));
  });
});

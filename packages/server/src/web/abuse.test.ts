import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../lib/password.js';
import { safeRedirectPath } from '../lib/safe-redirect.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

const PASSWORD = 'correct horse battery';

/** Values of `next`/`back` that resolved off-site, broke the header, or try to (issue 11, item 9). */
const NASTY_TARGETS = [
  '/\t/evil.example/',
  '/\n/evil.example/',
  '/\r\n/x',
  '/\r/evil.example',
  '\t//evil.example',
  ' //evil.example',
  '//evil.example',
  '///evil.example',
  '/\\evil.example',
  '\\/evil.example',
  '/\\/evil.example',
  '\\\\evil.example',
  '/./\t/evil.example',
  '/.//evil.example',
  '/..//evil.example',
  '/a/../..//evil.example',
  '/%2F/evil.example',
  '/%2f%2fevil.example',
  '%2F%2Fevil.example',
  '/%5C%5Cevil.example',
  '/%09/evil.example',
  '/%0D%0A/x',
  '/issues?x=\r\nSet-Cookie: a=b',
  '/issues#\n//evil.example',
  '/\u0000/evil.example',
  '/\u007f/evil.example',
  '/\u2028/evil.example',
  'https://evil.example/',
  'HTTPS://evil.example/',
  'http:evil.example',
  'http:/evil.example',
  '//evil.example@127.0.0.1/',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'evil.example',
  '',
  '/'.repeat(5000),
];

function assertOnSite(location: string | undefined, origin: string, what: string): void {
  assert.ok(location, `${what}: a Location`);
  assert.doesNotMatch(location, /[\u0000-\u001f\u007f\\]/, `${what}: no control character or backslash in ${JSON.stringify(location)}`);
  // How a browser reads it: resolved with the WHATWG URL parser against the page's origin.
  assert.equal(new URL(location, `${origin}/login`).origin, origin, `${what}: ${JSON.stringify(location)} leaves the site`);
}

describe('safeRedirectPath', () => {
  it('keeps every nasty target on this site, resolved as a browser would', () => {
    const origin = 'http://127.0.0.1:8000';
    for (const target of NASTY_TARGETS) assertOnSite(safeRedirectPath(target, '/issues'), origin, JSON.stringify(target));
  });

  it('keeps ordinary paths, queries and fragments, percent-encoding what a header cannot hold', () => {
    assert.equal(safeRedirectPath('/issues?status=new&project=pay-bot', '/x'), '/issues?status=new&project=pay-bot');
    assert.equal(safeRedirectPath('/issues/42#events', '/x'), '/issues/42#events');
    assert.equal(safeRedirectPath('/issues?q=chat not found', '/x'), '/issues?q=chat%20not%20found');
    assert.equal(safeRedirectPath('/issues?q=привет', '/x'), '/issues?q=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82');
    assert.equal(safeRedirectPath('/%2F%2Fevil.example', '/x'), '/%2F%2Fevil.example', 'an encoded slash is a path segment here');
    assert.equal(safeRedirectPath('/\t/evil.example/', '/x'), '/x');
    assert.equal(safeRedirectPath(undefined, '/x'), '/x');
    assert.equal(safeRedirectPath(['/issues'], '/x'), '/x');
  });
});

describe('login and redirects against a real server', () => {
  let server: TestServer;
  let twin: TestServer;
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'botpulse-abuse-'));
    server = await startTestServer({}, { dataDir });
    // A second server process on the same database, as several processes will share one PostgreSQL.
    twin = await startTestServer({}, { dataDir });
    await server.botpulse.store.addUser('ann', await hashPassword(PASSWORD));
    await server.botpulse.store.addUser('bob', await hashPassword(PASSWORD));
  });
  after(async () => {
    await twin?.close();
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The login form's double-submit token, as a browser gets it. */
  async function loginToken(base: string): Promise<string> {
    const res = await fetch(`${base}/login`);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('bp_login_csrf='));
    assert.ok(cookie, 'the login form sets its token cookie');
    return cookie.split(';')[0]!.split('=')[1]!;
  }

  function postLogin(base: string, token: string, fields: Record<string, string>): Promise<Response> {
    return fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `bp_login_csrf=${token}` },
      body: new URLSearchParams({ _csrf: token, ...fields }).toString(),
    });
  }

  it('lets at most 5 of 60 concurrent guesses reach the password check, across two processes', async () => {
    const tokens = [await loginToken(server.url), await loginToken(twin.url)];
    const guesses = Array.from({ length: 60 }, (_, i) => ({
      base: i % 2 === 0 ? server.url : twin.url,
      token: tokens[i % 2]!,
      password: i === 59 ? PASSWORD : `guess-${i}`,
    }));
    const statuses = await Promise.all(guesses.map((g) => postLogin(g.base, g.token, { login: 'ann', password: g.password }).then((r) => r.status)));
    const evaluated = statuses.filter((s) => s === 401 || s === 303).length;
    const refused = statuses.filter((s) => s === 429).length;
    assert.equal(evaluated + refused, 60, `only 401, 303 and 429 answers: ${statuses.join(',')}`);
    assert.ok(evaluated <= 5, `${evaluated} guesses reached the password check (allowed: 5)`);
    assert.ok(evaluated >= 1, 'the first guesses are checked');
  });

  it('never redirects off-site nor answers 500 after login, whatever `next` holds', async () => {
    const token = await loginToken(server.url);
    for (const next of NASTY_TARGETS) {
      const form = await fetch(`${server.url}/login?next=${encodeURIComponent(next)}`);
      assert.ok(form.status < 500, `GET /login?next=${JSON.stringify(next)} answered ${form.status}`);
      const res = await postLogin(server.url, token, { login: 'bob', password: PASSWORD, next });
      assert.equal(res.status, 303, `POST /login with next=${JSON.stringify(next)} answered ${res.status}`);
      assertOnSite(res.headers.get('location') ?? undefined, server.url, `next=${JSON.stringify(next)}`);
    }
  });

  it('never redirects off-site nor answers 500 after a bulk action, whatever `back` holds', async () => {
    const token = await loginToken(server.url);
    const login = await postLogin(server.url, token, { login: 'bob', password: PASSWORD });
    const session = login.headers.getSetCookie().find((c) => c.startsWith('bp_session='))!.split(';')[0]!;
    const page = await (await fetch(`${server.url}/issues`, { headers: { cookie: session } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    for (const back of NASTY_TARGETS) {
      const res = await fetch(`${server.url}/issues/bulk`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session },
        body: new URLSearchParams({ _csrf: csrf, action: 'resolve', ids: '999999', back }).toString(),
      });
      assert.equal(res.status, 303, `back=${JSON.stringify(back)} answered ${res.status}`);
      const location = res.headers.get('location') ?? undefined;
      assertOnSite(location, server.url, `back=${JSON.stringify(back)}`);
      assert.match(location!, /[?&]done=resolved:0(#|$)/);
    }
  });
});

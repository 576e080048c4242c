import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import type { FastifyInstance } from 'fastify';
import { registeredRoutes } from '../http/app.js';
import { hashPassword } from '../lib/password.js';
import type { Role } from '../store/model.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let app: FastifyInstance;

type Session = { cookies: Record<string, string>; csrf: string };

const cookiesOf = (res: { headers: Record<string, unknown> }): Record<string, string> => {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw ? [String(raw)] : [];
  return Object.fromEntries(list.map((c: string) => c.split(';')[0]!.split('=') as [string, string]));
};

async function logIn(login: string): Promise<Session> {
  const form = await app.inject({ method: 'GET', url: '/login' });
  const token = cookiesOf(form).bp_login_csrf!;
  const res = await app.inject({
    method: 'POST',
    url: '/login',
    cookies: { bp_login_csrf: token },
    payload: new URLSearchParams({ _csrf: token, login, password: PASSWORD }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(res.statusCode, 303, `${login} logs in`);
  const cookies = { bp_session: cookiesOf(res).bp_session! };
  const page = await app.inject({ method: 'GET', url: '/projects', cookies });
  return { cookies, csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]! };
}

const post = (s: Session, url: string, form: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, cookies: s.cookies, payload: new URLSearchParams({ _csrf: s.csrf, ...form }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
const get = (s: Session, url: string) => app.inject({ method: 'GET', url, cookies: s.cookies });
const api = (token: string, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { payload: body as Record<string, unknown> }) });

async function sendEvent(projectId: number, key: string, title: string): Promise<number> {
  const eventId = crypto.randomUUID().replace(/-/g, '');
  const body = serializeEnvelope({ headers: { event_id: eventId }, items: [jsonItem('event', { level: 'error', message: title })] });
  const res = await fetch(`${server.url}/api/${projectId}/envelope/?sentry_key=${key}`, { method: 'POST', body });
  return res.status;
}

let admin: Session;
let member: Session;
let viewer: Session;
let viewerToken: string;
let memberToken: string;

before(async () => {
  server = await startTestServer();
  app = server.botpulse.app;
  const users: [string, Role][] = [['ann', 'admin'], ['meg', 'member'], ['vic', 'viewer']];
  for (const [login, role] of users) await server.botpulse.store.addUser(login, await hashPassword(PASSWORD), role);
  admin = await logIn('ann');
  member = await logIn('meg');
  viewer = await logIn('vic');
  viewerToken = (await server.botpulse.store.createApiToken('viewer', 'viewer')).token;
  memberToken = (await server.botpulse.store.createApiToken('member', 'member')).token;
});
after(async () => server.close());

/** A route's URL with its parameters filled by something that exists (or at least parses). */
function fill(url: string): string {
  return url
    .replace(':slug', server.project.slug)
    .replace(':project', server.project.slug)
    .replace(':login', 'ann')
    .replace(/:\w+/g, '1');
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Authenticated by the DSN key (SDKs) or by the password itself, not by a user's role. */
const NOT_USER_ROUTES = [/^\/api\/:projectId\//, /^\/api\/:project\/heartbeat\//, /^\/login$/];

describe('a viewer changes nothing', () => {
  it('every mutating dashboard route answers a viewer 403 (with a valid security token), and logout is the only exception', async () => {
    const routes = registeredRoutes(app).filter((r) => MUTATING.has(r.method) && !r.url.startsWith('/api/') && !NOT_USER_ROUTES.some((re) => re.test(r.url)));
    assert.ok(routes.length >= 15, `the dashboard's mutating routes were found (${routes.length})`);
    for (const path of ['/logs/rules/forbidden', '/logs/rules/rate-limited', '/logs/rules/error-rate', '/logs/rules/enabled', '/logs/rules/reset']) {
      assert.ok(routes.some((r) => r.url === path), `the log rule editor's ${path} is walked`);
    }
    const before = JSON.stringify(await server.botpulse.store.listProjects());
    for (const route of routes) {
      if (route.url === '/logout') {
        assert.equal(route.role, 'viewer', 'logout is open to viewers');
        continue;
      }
      const res = await app.inject({ method: route.method as 'POST', url: fill(route.url), cookies: viewer.cookies, payload: new URLSearchParams({ _csrf: viewer.csrf, name: 'x', confirm: server.project.slug }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(res.statusCode, 403, `${route.method} ${route.url}`);
      assert.match(res.body, /Your role \(viewer\) cannot make this change/, `${route.method} ${route.url} says why`);
    }
    assert.equal(JSON.stringify(await server.botpulse.store.listProjects()), before, 'nothing changed');
  });

  it('every mutating API route answers a viewer token 403', async () => {
    const routes = registeredRoutes(app).filter((r) => MUTATING.has(r.method) && r.url.startsWith('/api/v1/'));
    assert.ok(routes.length >= 12, `the API's mutating routes were found (${routes.length})`);
    for (const path of ['/api/v1/projects/:project/log-rules/forbidden', '/api/v1/projects/:project/log-rules/rate-limited', '/api/v1/projects/:project/log-rules/error-rate', '/api/v1/projects/:project/log-rules']) {
      assert.ok(routes.some((r) => r.url === path && r.method === 'DELETE'), `the API's DELETE ${path} is walked`);
    }
    for (const route of routes) {
      const res = await api(viewerToken, route.method as 'POST', fill(route.url), {});
      assert.equal(res.statusCode, 403, `${route.method} ${route.url}`);
      assert.match(res.json().error, /role \(viewer\) may not make this change/, `${route.method} ${route.url}`);
    }
  });

  it('shows a viewer no mutating buttons, and reads still work', async () => {
    assert.equal(await sendEvent(server.project.id, server.project.publicKey, 'seen by a viewer'), 200);
    await server.digested();
    const issue = (await server.botpulse.store.listIssues({ projectId: server.project.id, text: 'seen by a viewer' })).issues[0]!;
    for (const url of ['/projects', `/projects/${server.project.slug}`, '/monitors', '/issues', `/issues/${issue.id}`, '/releases', `/projects/${server.project.slug}/alerts`, '/logs', `/logs/rules?project=${server.project.slug}`]) {
      const res = await get(viewer, url);
      assert.equal(res.statusCode, 200, url);
      const forms = [...res.body.matchAll(/<form[^>]*method="post"[^>]*action="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(forms, ['/logout'], `${url}: only the logout form`);
    }
    assert.equal((await get(viewer, '/users')).statusCode, 403);
    assert.equal((await api(viewerToken, 'GET', '/api/v1/projects')).statusCode, 200);
    assert.equal((await api(viewerToken, 'GET', '/api/v1/users')).statusCode, 403, 'users are an admin\'s to read');
  });

  it("downloads attachments for members and admins only: a viewer gets no link and a 403", async () => {
    const eventId = crypto.randomUUID().replace(/-/g, '');
    const body = serializeEnvelope({
      headers: { event_id: eventId },
      items: [jsonItem('event', { level: 'error', message: 'with a log file' }), { headers: { type: 'attachment', filename: 'chat.log', content_type: 'text/plain' }, payload: Buffer.from('user 42 said hi') }],
    });
    assert.equal((await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body })).status, 200);
    await server.digested();
    const issueId = (await server.botpulse.store.getEvent(server.project.id, eventId))!.issueId;
    const url = `/issues/${issueId}/events/${eventId}/attachments/0`;
    assert.ok(!(await get(viewer, `/issues/${issueId}?event=${eventId}`)).body.includes(url), 'no download link for a viewer');
    assert.equal((await get(viewer, url)).statusCode, 403);
    assert.ok((await get(member, `/issues/${issueId}?event=${eventId}`)).body.includes(url));
    const download = await get(member, url);
    assert.equal(download.statusCode, 200);
    assert.equal(download.body, 'user 42 said hi');
  });

  it('a member triages issues but manages nothing', async () => {
    assert.equal((await sendEvent(server.project.id, server.project.publicKey, 'member triage')).valueOf(), 200);
    await server.digested();
    const issue = (await server.botpulse.store.listIssues({ projectId: server.project.id, text: 'member triage' })).issues[0]!;
    assert.equal((await post(member, `/issues/${issue.id}/status`, { status: 'in_progress' })).statusCode, 303);
    assert.equal((await server.botpulse.store.getIssue(issue.id))!.status, 'in_progress');
    const refused = await post(member, '/projects', { name: 'Nope' });
    assert.equal(refused.statusCode, 403);
    assert.match(refused.body, /it needs an admin/);
    assert.equal((await api(memberToken, 'PATCH', `/api/v1/issues/${issue.id}`, { status: 'resolved' })).statusCode, 200);
    assert.equal((await api(memberToken, 'POST', '/api/v1/projects', { name: 'Nope' })).statusCode, 403);
  });
});

describe('projects from the dashboard and the API', () => {
  it('creates a project, refusing a bad prefix with the same rule as the API', async () => {
    const bad = await post(admin, '/projects', { name: 'Pay Bot', shortIdPrefix: '1234567' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Short-id prefix: the short-id prefix must be 1 to 6 letters/);
    const badApi = await api(server.token, 'POST', '/api/v1/projects', { name: 'Pay Bot', shortIdPrefix: '1234567' });
    assert.equal(badApi.statusCode, 400);
    assert.match(badApi.json().error, /shortIdPrefix: the short-id prefix must be 1 to 6 letters/);
    const empty = await post(admin, '/projects', { name: ' ' });
    assert.match(empty.body, /Name: the name must not be empty/);

    const res = await post(admin, '/projects', { name: 'Pay Bot', shortIdPrefix: 'pay' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/projects/pay-bot?saved=created');
    const page = await get(admin, '/projects/pay-bot');
    const project = (await server.botpulse.store.getProject('pay-bot'))!;
    assert.equal(project.shortIdPrefix, 'PAY');
    assert.ok(page.body.includes(`${project.publicKey}@`), 'the page shows the real DSN');
    assert.doesNotMatch(page.body, /coming soon|once alerts ship/);
  });

  it('refuses a project whose slug is taken, naming the project and keeping the form', async () => {
    await server.botpulse.store.createProject({ name: 'Dup Bot', shortIdPrefix: 'DUP' });
    const count = (await server.botpulse.store.listProjects()).length;
    const res = await post(admin, '/projects', { name: 'dup bot', shortIdPrefix: 'DB' });
    assert.equal(res.statusCode, 409);
    assert.match(res.body, /Name: A project with the slug &quot;dup-bot&quot; already exists \(&quot;Dup Bot&quot;\)/);
    assert.match(res.body, /value="dup bot"/, 'the typed name stays in the form');
    assert.equal((await server.botpulse.store.listProjects()).length, count, 'no dup-bot-2');
  });

  it('edits name, prefix, alert chat and thread; refuses a bad value naming the field', async () => {
    const slug = (await server.botpulse.store.createProject({ name: 'Edit Bot' })).slug;
    const form = { name: 'Edit Bot 2', shortIdPrefix: 'ED', alertChatId: '-1001234567890', alertThreadId: '42', linkTemplates: 'user https://admin.example.com/u/{user.id}' };
    for (const [field, value, message] of [
      ['shortIdPrefix', 'E1', /Short-id prefix: the short-id prefix must be 1 to 6 letters/],
      ['alertThreadId', '-3', /Alert thread id: the alert thread id must be a positive number/],
      ['alertChatId', 'chat', /Alert chat id: the alert chat id must be a number/],
      ['linkTemplates', 'user ftp://x', /Link templates: line 1/],
    ] as const) {
      const res = await post(admin, `/projects/${slug}`, { ...form, [field]: value });
      assert.equal(res.statusCode, 400, field);
      assert.match(res.body, message, field);
    }
    assert.equal((await post(admin, `/projects/${slug}`, form)).statusCode, 303);
    const project = (await server.botpulse.store.getProject(slug))!;
    assert.equal(project.name, 'Edit Bot 2');
    assert.equal(project.shortIdPrefix, 'ED');
    const settings = await server.botpulse.store.getProjectSettings(project.id);
    assert.equal(settings.alert_chat_id, '-1001234567890');
    assert.equal(JSON.parse(settings.alert_rules!).threadId, 42);
    const rules = await api(server.token, 'GET', `/api/v1/projects/${slug}/alert-rules`);
    assert.equal(rules.json().effective.threadId, 42, 'the alerts use the thread');
    assert.deepEqual(rules.json().effective.chatIds, ['-1001234567890']);

    const patched = await api(server.token, 'PATCH', `/api/v1/projects/${slug}`, { shortIdPrefix: 'toolong' });
    assert.equal(patched.statusCode, 400);
    assert.match(patched.json().error, /shortIdPrefix: the short-id prefix must be 1 to 6 letters/);
    assert.equal((await api(server.token, 'PATCH', `/api/v1/projects/${slug}`, { name: 'Edit Bot 3', alertThreadId: null })).json().name, 'Edit Bot 3');
  });

  it('rotates the DSN key: both keys are accepted during the grace period and the page shows both and the expiry', async () => {
    const project = await server.botpulse.store.createProject({ name: 'Rotate Bot' });
    assert.equal(await sendEvent(project.id, project.publicKey, 'before rotation'), 200);
    const res = await post(admin, `/projects/${project.slug}/rotate-key`);
    assert.equal(res.statusCode, 303);
    const rotated = (await server.botpulse.store.getProject(project.id))!;
    assert.notEqual(rotated.publicKey, project.publicKey);
    assert.equal(await sendEvent(project.id, rotated.publicKey, 'new key'), 200);
    assert.equal(await sendEvent(project.id, project.publicKey, 'old key in grace'), 200, 'the old key keeps working at once (no stale cache)');
    const page = await get(admin, `/projects/${project.slug}`);
    assert.ok(page.body.includes(`${rotated.publicKey}@`), 'the new DSN');
    assert.match(page.body, new RegExp(`Previous key, accepted until <time[^>]*>${new Date(rotated.previousKeyExpiresAt!).toISOString().slice(0, 16).replace('T', ' ')}`));
    assert.ok(page.body.includes(`${project.publicKey}@`), 'the old DSN');
    assert.ok(Math.abs(rotated.previousKeyExpiresAt! - Date.now() - 24 * 3600_000) < 60_000, 'default grace 24 h');

    const viaApi = await api(server.token, 'POST', `/api/v1/projects/${project.slug}/rotate-key`);
    assert.equal(viaApi.statusCode, 200);
    assert.equal(viaApi.json().previousDsn.includes(rotated.publicKey), true);
    assert.equal(await sendEvent(project.id, project.publicKey, 'key of two rotations ago'), 403, 'a key rotated twice is gone');
  });

  it('deletes a project: typed confirmation, ingestion refused at once, data removed in the background with progress', async () => {
    const project = await server.botpulse.store.createProject({ name: 'Doomed Bot' });
    for (let i = 0; i < 5; i++) assert.equal(await sendEvent(project.id, project.publicKey, `doomed ${i}`), 200);
    await server.digested();
    const unconfirmed = await post(admin, `/projects/${project.slug}/delete`, { confirm: 'wrong' });
    assert.equal(unconfirmed.statusCode, 400);
    assert.match(unconfirmed.body, /Confirm: type the project&#39;s slug &quot;doomed-bot&quot;|Confirm: type the project's slug "doomed-bot"/);
    assert.ok(await server.botpulse.store.getProject(project.id));

    const res = await post(admin, `/projects/${project.slug}/delete`, { confirm: project.slug });
    assert.equal(res.statusCode, 303);
    assert.equal(await sendEvent(project.id, project.publicKey, 'after delete'), 410, 'refused at once');
    const page = await get(admin, `/projects/${project.slug}`);
    if (page.statusCode === 200) assert.match(page.body, /Deleting this project|Left to remove/);
    await server.botpulse.deleter.settled(project.id);
    assert.equal(await server.botpulse.store.getProject(project.id), null);
    assert.equal((await server.botpulse.store.listIssues({ projectId: project.id })).total, 0);
    assert.match((await get(admin, `/projects/${project.slug}/deletion`)).body, /all its data are deleted/);

    const apiProject = await server.botpulse.store.createProject({ name: 'Doomed Api' });
    assert.equal((await api(server.token, 'DELETE', `/api/v1/projects/${apiProject.slug}`)).statusCode, 400, 'needs ?confirm=<slug>');
    const deleted = await api(server.token, 'DELETE', `/api/v1/projects/${apiProject.slug}?confirm=${apiProject.slug}`);
    assert.equal(deleted.statusCode, 202);
    assert.ok(deleted.json().deletingSince);
    await server.botpulse.deleter.settled(apiProject.id);
    assert.equal((await api(server.token, 'GET', `/api/v1/projects/${apiProject.slug}`)).statusCode, 404);
  });
});

describe('users and API tokens', () => {
  it('adds, changes the role of, resets the password of and removes a user; refuses bad input naming the field', async () => {
    const short = await post(admin, '/users', { login: 'zed', password: 'short', role: 'member' });
    assert.equal(short.statusCode, 400);
    assert.match(short.body, /Password: the password must have at least 8 characters/);
    assert.match((await post(admin, '/users', { login: 'bad login', password: PASSWORD, role: 'member' })).body, /Login: the login must be 1 to 64/);
    assert.match((await post(admin, '/users', { login: 'zed', password: PASSWORD, role: 'owner' })).body, /Role: the role must be one of admin, member, viewer/);
    assert.equal((await post(admin, '/users', { login: 'zed', password: PASSWORD, role: 'member' })).statusCode, 303);
    assert.equal((await server.botpulse.store.getUser('zed'))!.role, 'member');
    const zed = await logIn('zed');
    assert.equal((await post(admin, '/users/zed/role', { role: 'viewer' })).statusCode, 303);
    assert.equal((await post(zed, '/projects', { name: 'x' })).statusCode, 403, 'the new role applies to a live session at once');
    assert.equal((await post(admin, '/users/zed/password', { password: 'another good password' })).statusCode, 303);
    assert.equal((await get(zed, '/issues')).statusCode, 302, 'a reset password ends the sessions');
    assert.equal((await post(admin, '/users/zed/remove')).statusCode, 303);
    assert.equal(await server.botpulse.store.getUser('zed'), null);
    assert.equal((await post(admin, '/users/ann/remove')).statusCode, 409, 'not yourself');
    const lastAdmin = await post(admin, '/users/ann/role', { role: 'member' });
    assert.equal(lastAdmin.statusCode, 409);
    assert.match(lastAdmin.body, /the last admin/);

    const viaApi = await api(server.token, 'POST', '/api/v1/users', { login: 'yan', password: 'x', role: 'viewer' });
    assert.equal(viaApi.statusCode, 400);
    assert.match(viaApi.json().error, /password: the password must have at least 8 characters/);
    assert.equal((await api(server.token, 'POST', '/api/v1/users', { login: 'yan', password: PASSWORD, role: 'viewer' })).statusCode, 201);
    assert.deepEqual((await api(server.token, 'GET', '/api/v1/users')).json().users.find((u: { login: string }) => u.login === 'yan').role, 'viewer');
    assert.equal((await api(server.token, 'DELETE', '/api/v1/users/yan')).statusCode, 204);
  });

  it('creates a token shown once, lists it with its last use, and revokes it', async () => {
    const res = await post(admin, '/tokens', { label: 'grafana', role: 'viewer' });
    assert.equal(res.statusCode, 201);
    const token = /<code class="secret" id="new-token">([^<]+)<\/code>/.exec(res.body)![1]!;
    assert.equal((await api(token, 'GET', '/api/v1/projects')).statusCode, 200);
    const listed = await get(admin, '/users');
    assert.ok(!listed.body.includes(token), 'shown once: not on the list');
    const row = /<tr data-token="(\d+)"><td><b>grafana<\/b><\/td><td>viewer<\/td><td class="muted">[^<]*(?:<[^>]+>[^<]*<\/[^>]+>)?[^<]*<\/td>\s*<td class="muted">([^<]*)/.exec(listed.body);
    assert.ok(row, 'the token is listed');
    assert.doesNotMatch(row[2]!, /never/, 'with its last use');
    assert.equal((await post(admin, `/tokens/${row[1]}/revoke`)).statusCode, 303);
    assert.equal((await api(token, 'GET', '/api/v1/projects')).statusCode, 403, 'revoked');

    const created = await api(server.token, 'POST', '/api/v1/tokens', { label: 'ci' });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json().role, 'member');
    const tokens = (await api(server.token, 'GET', '/api/v1/tokens')).json().tokens as { id: number; label: string; lastUsedAt: string | null }[];
    assert.ok(tokens.find((t) => t.label === 'test')!.lastUsedAt, 'the token in use shows its last use');
    assert.ok(!JSON.stringify(tokens).includes(created.json().token), 'the list never carries a token');
    assert.equal((await api(server.token, 'DELETE', `/api/v1/tokens/${created.json().id}`)).statusCode, 204);
    assert.equal((await api(server.token, 'DELETE', `/api/v1/tokens/${created.json().id}`)).statusCode, 404);
  });
});

describe('alert rules and silences per project', () => {
  it('saves rules, refusing a bad value with the field named, and keeps the thread set on the project page', async () => {
    const slug = server.project.slug;
    await api(server.token, 'PATCH', `/api/v1/projects/${slug}`, { alertThreadId: 7 });
    const bad = await post(admin, `/projects/${slug}/alerts`, { frequency: 'lots', cooldownSeconds: '60' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Frequency \(per issue\): &quot;lots&quot; is not a frequency|Frequency \(per issue\): "lots" is not a frequency/);
    assert.match((await post(admin, `/projects/${slug}/alerts`, { cooldownSeconds: 'soon' })).body, /Cooldown \(s\): &quot;soon&quot; is not a number|Cooldown \(s\): "soon" is not a number/);
    assert.match((await post(admin, `/projects/${slug}/alerts`, { cooldownSeconds: '999999' })).body, /Cooldown \(s\):/);
    assert.equal((await post(admin, `/projects/${slug}/alerts`, { frequency: '5/1m', newIssue: 'critical', cooldownSeconds: '60', level: 'critical' })).statusCode, 303);
    const rules = (await api(server.token, 'GET', `/api/v1/projects/${slug}/alert-rules`)).json();
    assert.deepEqual(rules.override, { threadId: 7, frequency: '5/1m', newIssue: 'critical', cooldownSeconds: 60, level: 'critical' });
    assert.equal(rules.effective.newIssue, 'critical');
    assert.equal(rules.effective.frequency.count, 5);
    assert.equal(rules.effective.level.threshold, 'fatal');
    const page = await get(admin, `/projects/${slug}/alerts`);
    assert.match(page.body, /<option value="critical" selected>/);
  });

  it('adds and ends a silence, refusing a bad duration', async () => {
    const slug = server.project.slug;
    assert.match((await post(admin, `/projects/${slug}/silences`, { duration: 'forever' })).body, /Silence for: &quot;forever&quot; is not a duration|Silence for: "forever" is not a duration/);
    assert.equal((await post(admin, `/projects/${slug}/silences`, { duration: '2h', reason: 'deploy' })).statusCode, 303);
    const silences = (await api(server.token, 'GET', '/api/v1/silences')).json() as { id: number; projectId: number; reason: string; createdBy: string }[];
    const mine = silences.find((s) => s.projectId === server.project.id && s.reason === 'deploy')!;
    assert.equal(mine.createdBy, 'dashboard:ann');
    assert.match((await get(admin, `/projects/${slug}/alerts`)).body, /deploy/);
    assert.equal((await post(admin, `/projects/${slug}/silences/${mine.id}/remove`)).statusCode, 303);
    assert.ok(!((await api(server.token, 'GET', '/api/v1/silences')).json() as { id: number }[]).some((s) => s.id === mine.id));
  });
});

describe('monitors from the dashboard', () => {
  it('creates, edits, pauses and deletes a monitor; what a person set wins over a later check-in', async () => {
    const bad = await post(admin, '/monitors', { project: server.project.slug, slug: 'bad slug!', kind: 'heartbeat' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Slug: letters, digits/);
    assert.match((await post(admin, '/monitors', { project: server.project.slug, slug: 'nightly', periodSeconds: 'soon' })).body, /Period:/);
    assert.equal((await post(admin, '/monitors', { project: server.project.slug, slug: 'nightly', kind: 'heartbeat', periodSeconds: '600', graceSeconds: '60' })).statusCode, 303);
    const ms = server.botpulse.monitoring.store;
    const created = (await ms.findMonitor(server.project.id, 'nightly'))!;
    assert.equal(created.periodMs, 600_000);
    assert.deepEqual([...created.manualFields].sort(), ['graceMs', 'periodMs'], 'a person set these');
    assert.equal((await post(admin, '/monitors', { project: server.project.slug, slug: 'nightly' })).statusCode, 409);

    assert.equal((await post(admin, `/monitors/${created.id}/settings`, { periodSeconds: '900', graceSeconds: '60', schedule: '', timezone: '', failureThreshold: '1', recoveryThreshold: '1' })).statusCode, 303);
    assert.equal((await ms.getMonitor(created.id))!.periodMs, 900_000);

    // An SDK's check-in declaring another interval does not override what the person set.
    const checkIn = { check_in_id: crypto.randomUUID().replace(/-/g, ''), monitor_slug: 'nightly', status: 'ok', monitor_config: { schedule: { type: 'interval', value: 1, unit: 'minute' }, checkin_margin: 5 } };
    const body = serializeEnvelope({ headers: {}, items: [jsonItem('check_in', checkIn)] });
    const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
    assert.equal(res.status, 200);
    for (let i = 0; i < 200 && !(await ms.monitorStates(created.id)).some((s) => s.lastPingAt !== null); i++) await new Promise((r) => setTimeout(r, 25));
    const after = (await ms.getMonitor(created.id))!;
    assert.ok((await ms.monitorStates(created.id)).some((s) => s.lastPingAt !== null), 'the check-in arrived');
    assert.equal(after.periodMs, 900_000, 'the period a person set stays');
    assert.equal(after.graceMs, 60_000, 'the grace a person set stays');

    assert.equal((await post(admin, `/monitors/${created.id}/pause`, { paused: '1' })).statusCode, 303);
    assert.ok((await ms.monitorStates(created.id)).every((s) => s.status === 'paused'));
    const page = await get(admin, '/monitors');
    assert.match(page.body, new RegExp(`action="/monitors/${created.id}/pause"[^]*?Resume`));
    assert.equal((await post(admin, `/monitors/${created.id}/pause`, { paused: '0' })).statusCode, 303);
    assert.ok((await ms.monitorStates(created.id)).every((s) => s.status !== 'paused'));
    assert.equal((await post(admin, `/monitors/${created.id}/delete`)).statusCode, 303);
    assert.equal(await ms.getMonitor(created.id), null);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { startTestServer, type TestServer } from '../test-support/server.js';

let server: TestServer;
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });

async function sendEvent(event: Record<string, unknown>) {
  const body = serializeEnvelope({ headers: {}, items: [jsonItem('event', event)] });
  const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
  assert.equal(res.status, 200);
  return ((await res.json()) as { id: string }).id;
}

before(async () => {
  server = await startTestServer();
  await sendEvent({ message: 'Payment provider timeout', level: 'fatal', environment: 'production', release: '1.2.0', tags: { chat_type: 'group', origin: 'webhook' } });
  await sendEvent({ message: 'Payment provider timeout', level: 'fatal', environment: 'production', release: '1.2.0', tags: { chat_type: 'group', origin: 'webhook' } });
  await sendEvent({ exception: { values: [{ type: 'KeyError', value: "'message'" }] }, environment: 'staging', tags: { chat_type: 'private' } });
  await server.digested();
});
after(async () => server.close());

describe('JSON API', () => {
  it('refuses requests without a token (401) or with an unknown one (403)', async () => {
    assert.equal((await fetch(`${server.url}/api/v1/projects`)).status, 401);
    assert.equal((await api('/projects', { headers: { authorization: 'Bearer bp_wrong' } })).status, 403);
  });

  it('lists and creates projects with their DSN', async () => {
    const created = await api('/projects', { method: 'POST', body: JSON.stringify({ name: 'Shop Bot' }) });
    assert.equal(created.status, 201);
    const project = (await created.json()) as { slug: string; dsn: string };
    assert.equal(project.slug, 'shop-bot');
    const list = (await (await api('/projects')).json()) as { slug: string }[];
    assert.deepEqual(list.map((p) => p.slug).sort(), ['shop-bot', 'test-bot']);
    const bad = await api('/projects', { method: 'POST', body: JSON.stringify({ name: '' }) });
    assert.equal(bad.status, 400);
  });

  it('refuses a second project with a taken slug (409) naming the one that exists', async () => {
    const before = ((await (await api('/projects')).json()) as unknown[]).length;
    for (const body of [{ name: 'Test Bot' }, { name: 'Other', slug: 'test-bot' }]) {
      const res = await api('/projects', { method: 'POST', body: JSON.stringify(body) });
      assert.equal(res.status, 409);
      const { error } = (await res.json()) as { error: string };
      assert.match(error, /^a project with the slug "test-bot" already exists \("Test Bot"\): GET \/api\/v1\/projects\/test-bot shows it/);
    }
    const after = (await (await api('/projects')).json()) as { slug: string }[];
    assert.equal(after.length, before, 'no test-bot-2');
  });

  it('filters and sorts issues', async () => {
    const titles = async (query: string) => {
      const res = await api(`/projects/test-bot/issues?${query}`);
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { issues: { title: string }[] }).issues.map((i) => i.title);
    };
    assert.deepEqual(await titles('level=critical'), ['Payment provider timeout']);
    assert.deepEqual(await titles('environment=staging'), ["KeyError: 'message'"]);
    assert.deepEqual(await titles('release=1.2.0'), ['Payment provider timeout']);
    assert.deepEqual(await titles('origin=webhook'), ['Payment provider timeout']);
    assert.deepEqual(await titles('query=chat_type:private'), ["KeyError: 'message'"]);
    assert.deepEqual(await titles('query=provider'), ['Payment provider timeout']);
    assert.deepEqual(await titles('sort=count&limit=1'), ['Payment provider timeout']);
    assert.deepEqual(await titles('period=1h&status=new,in_progress&sort=last_seen'), ["KeyError: 'message'", 'Payment provider timeout']);
    assert.equal((await api('/projects/test-bot/issues?sort=sideways')).status, 400);
    assert.equal((await api('/projects/test-bot/issues?status=done')).status, 400);
    assert.equal((await api('/projects/nope/issues')).status, 404);
  });

  it('shows an issue with its latest event, its events, and changes its status', async () => {
    const detail = (await (await api('/projects/test-bot/issues/B-001')).json()) as {
      id: number; shortId: string; count: number; latestEvent: { payload: { message: string } };
    };
    assert.equal(detail.shortId, 'B-001');
    assert.equal(detail.count, 2);
    assert.equal(detail.latestEvent.payload.message, 'Payment provider timeout');
    const events = (await (await api(`/issues/${detail.id}/events?limit=5`)).json()) as unknown[];
    assert.equal(events.length, 2);

    const resolved = await api(`/issues/${detail.id}`, { method: 'PATCH', body: JSON.stringify({ status: 'resolved', inRelease: '1.3.0' }) });
    assert.equal(((await resolved.json()) as { status: string }).status, 'resolved');
    const ignored = await api(`/issues/${detail.id}`, { method: 'PATCH', body: JSON.stringify({ status: 'ignored', ignoreFor: '1h' }) });
    const body = (await ignored.json()) as { status: string; ignoreUntil: string };
    assert.equal(body.status, 'ignored');
    assert.ok(Date.parse(body.ignoreUntil) > Date.now() + 3500_000);
    const invalid = await api(`/issues/${detail.id}`, { method: 'PATCH', body: JSON.stringify({ status: 'fixed' }) });
    assert.equal(invalid.status, 400);
    assert.match(((await invalid.json()) as { error: string }).error, /status/);
    assert.equal((await api('/issues/999999')).status, 404);
  });

  it("assigns an issue, keeps notes, and answers the issue's history with who did what", async () => {
    const detail = (await (await api('/projects/test-bot/issues/B-002')).json()) as { id: number };
    await server.botpulse.store.addUser('alice', 'not-a-real-hash');
    const unknown = await api(`/issues/${detail.id}`, { method: 'PATCH', body: JSON.stringify({ assignee: 'nobody-here' }) });
    assert.equal(unknown.status, 400);
    assert.match(((await unknown.json()) as { error: string }).error, /no dashboard user "nobody-here"/);
    assert.equal((await api(`/issues/${detail.id}`, { method: 'PATCH', body: JSON.stringify({}) })).status, 400);

    const assigned = await api(`/issues/${detail.id}`, { method: 'PATCH', body: JSON.stringify({ assignee: 'alice', status: 'in_progress', by: 'ci-bot' }) });
    assert.equal(assigned.status, 200);
    const body = (await assigned.json()) as { assignee: string; status: string };
    assert.equal(body.assignee, 'alice');
    assert.equal(body.status, 'in_progress');
    const noted = await api(`/issues/${detail.id}/notes`, { method: 'POST', body: JSON.stringify({ text: 'KeyError comes from the old keyboard' }) });
    assert.equal(noted.status, 201);
    assert.equal((await api(`/issues/${detail.id}/notes`, { method: 'POST', body: JSON.stringify({ text: '' }) })).status, 400);
    const resolvedNext = await api(`/issues/${detail.id}`, { method: 'PATCH', body: JSON.stringify({ status: 'resolved', inNextRelease: true }) });
    assert.equal(((await resolvedNext.json()) as { resolvedInNextRelease: boolean }).resolvedInNextRelease, true);

    const history = (await (await api(`/issues/${detail.id}/history`)).json()) as { action: string; actor: { kind: string; name: string }; detail: object; at: string }[];
    assert.deepEqual(
      history.map((h) => [h.action, h.actor.kind, h.actor.name, h.detail]),
      [
        ['assigned', 'token', 'ci-bot', { assignee: 'alice' }],
        ['in_progress', 'token', 'ci-bot', {}],
        ['note', 'token', 'API', { text: 'KeyError comes from the old keyboard' }],
        ['resolved', 'token', 'API', { nextRelease: true }],
      ],
    );
    assert.ok(history.every((h) => !Number.isNaN(Date.parse(h.at))));
  });
});

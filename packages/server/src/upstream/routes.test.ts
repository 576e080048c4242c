import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { startTestServer, type TestServer } from '../test-support/server.js';

async function waitUntil(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 150_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const id = () => randomUUID().replace(/-/g, '');

async function post(server: TestServer, type: string, payload: Record<string, unknown>): Promise<void> {
  const body = serializeEnvelope({ headers: {}, items: [jsonItem(type, payload)] });
  const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
  assert.equal(res.status, 200, await res.text());
}

describe('per-project upstream settings (API and config file)', () => {
  let upstream: TestServer;
  let a: TestServer;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${a.url}/api/v1${path}`, { ...init, headers: { Authorization: `Bearer ${a.token}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) } });

  before(async () => {
    upstream = await startTestServer();
    a = await startTestServer({
      BOTPULSE_UPSTREAM_DSN: upstream.dsn,
      BOTPULSE_UPSTREAM_POLL_SECONDS: '0.05',
      BOTPULSE_UPSTREAM_PROJECTS: JSON.stringify({ 'from-file': { sampleRate: 0.5 } }),
    });
  });
  after(async () => {
    await a.close();
    await upstream.close();
  });

  it('answers the defaults, takes changes, and refuses bad ones with 400', async () => {
    const res = await api(`/projects/${a.project.slug}/upstream`);
    assert.deepEqual(await res.json(), { project: a.project.slug, enabled: true, sampleRate: 1, kinds: ['event'], source: 'default' });
    const bad = await api(`/projects/${a.project.slug}/upstream`, { method: 'PUT', body: JSON.stringify({ sampleRate: 2, kinds: ['spans'] }) });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(await bad.json()), /sampleRate.*kinds|kinds.*sampleRate/);
    const put = await api(`/projects/${a.project.slug}/upstream`, { method: 'PUT', body: JSON.stringify({ kinds: ['event', 'transaction', 'check_in'] }) });
    assert.deepEqual(await put.json(), { project: a.project.slug, enabled: true, sampleRate: 1, kinds: ['event', 'transaction', 'check_in'], source: 'api' });
    assert.equal((await api('/projects/nope-nope/upstream')).status, 404);
    const state = (await (await api('/upstream')).json()) as { enabled: boolean; target: string };
    assert.equal(state.enabled, true);
    assert.equal(state.target.includes(upstream.project.publicKey), false, 'the key is never shown');
  });

  it('a project in BOTPULSE_UPSTREAM_PROJECTS is decided by the file: the API answers 409', async () => {
    const project = await a.botpulse.store.createProject({ name: 'From file', slug: 'from-file' });
    const res = await api(`/projects/${project.slug}/upstream`);
    assert.deepEqual(await res.json(), { project: 'from-file', enabled: true, sampleRate: 0.5, kinds: ['event'], source: 'config' });
    assert.equal((await api(`/projects/${project.slug}/upstream`, { method: 'PUT', body: '{"enabled":false}' })).status, 409);
  });

  it('forwards transactions and check-ins when asked, and nothing once the project is off', async () => {
    await api(`/projects/${a.project.slug}/upstream`, { method: 'PUT', body: JSON.stringify({ enabled: true, kinds: ['event', 'transaction', 'check_in'] }) });
    const eventId = id();
    const traceId = id();
    await post(a, 'event', { event_id: eventId, message: 'kinds' });
    await post(a, 'transaction', { event_id: id(), type: 'transaction', transaction: 'handle_update', start_timestamp: 1, timestamp: 2, contexts: { trace: { trace_id: traceId, span_id: '1'.repeat(16) } } });
    await post(a, 'check_in', { check_in_id: id(), monitor_slug: 'nightly', status: 'ok' });
    const store = upstream.botpulse.store;
    await waitUntil(async () => (await store.getEvent(upstream.project.id, eventId)) !== null, 'the event upstream');
    await waitUntil(async () => (await store.listRawItems('transaction', { projectId: upstream.project.id })).some((r) => r.payload.toString().includes(traceId)), 'the transaction upstream');
    await waitUntil(async () => (await store.listRawItems('check_in', { projectId: upstream.project.id })).some((r) => r.payload.toString().includes('nightly')), 'the check-in upstream');
    const tx = (await store.listRawItems('transaction', { projectId: upstream.project.id })).find((r) => r.payload.toString().includes(traceId))!;
    assert.equal(JSON.parse(tx.payload.toString()).tags['botpulse.forwarded'], a.url);

    await api(`/projects/${a.project.slug}/upstream`, { method: 'PUT', body: JSON.stringify({ enabled: false }) });
    const skippedBefore = a.botpulse.upstream.snapshot().skipped.disabled;
    const off = id();
    await post(a, 'event', { event_id: off, message: 'off' });
    await waitUntil(() => a.botpulse.upstream.snapshot().skipped.disabled > skippedBefore, 'the event to be skipped');
    assert.equal(await store.getEvent(upstream.project.id, off), null);
  });
});

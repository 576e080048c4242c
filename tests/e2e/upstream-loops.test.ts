import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../packages/server/src/store/sqlite/index.js';
import { describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { freePort, startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

// Issue 14, upstream half (docs/upstream.md): an upstream that is this server itself is refused at
// start, and a loop of two Botpulses forwarding to each other stops after one hop.

async function waitUntil(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function sendEvent(server: TestServer, payload: Record<string, unknown>): Promise<string> {
  const eventId = randomUUID().replace(/-/g, '');
  const body = serializeEnvelope({ headers: { event_id: eventId }, items: [jsonItem('event', { event_id: eventId, platform: 'python', level: 'error', ...payload })] });
  const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
  assert.equal(res.status, 200, await res.text());
  return eventId;
}

const genError = (i: number) => ({
  exception: { values: [{ type: 'GenerationFailed', value: `generation ${i} failed`, stacktrace: { frames: [{ filename: 'botapp/generations.py', function: 'run_generation', lineno: 40, in_app: true }] } }] },
});

const state = (server: TestServer) => server.botpulse.upstream.snapshot();

/** A data directory whose database already has the project (and so its key) a server will use. */
async function dataDirWithProject(port: number): Promise<{ dataDir: string; dsn: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-upstream-loop-'));
  const store = await SqliteStore.open(join(dataDir, 'botpulse.db'));
  const project = await store.createProject({ name: 'Test Bot', slug: 'test-bot', shortIdPrefix: 'B' });
  await store.close();
  return { dataDir, dsn: `http://${project.publicKey}@127.0.0.1:${port}/${project.id}` };
}

describe('upstream loops', () => {
  it('refuses at start an upstream that is this server itself', async () => {
    const port = await freePort();
    const { dataDir, dsn } = await dataDirWithProject(port);
    try {
      await assert.rejects(startTestServer({ BOTPULSE_PORT: String(port), BOTPULSE_UPSTREAM_DSN: dsn }, { dataDir }), /BOTPULSE_UPSTREAM_DSN points at this Botpulse server itself/);
      await assert.rejects(startTestServer({ BOTPULSE_PORT: String(port), SENTRY_DSN: dsn.replace('127.0.0.1', 'localhost') }, { dataDir }), /SENTRY_DSN points at this Botpulse server itself.*BOTPULSE_UPSTREAM_DSN=off/);
      // The opt-out: SENTRY_DSN (a bot's, from a shared .env) is ignored.
      const optedOut = await startTestServer({ BOTPULSE_PORT: String(port), SENTRY_DSN: dsn, BOTPULSE_UPSTREAM_DSN: 'off' }, { dataDir });
      assert.equal(optedOut.botpulse.upstream.snapshot().enabled, false);
      await optedOut.close({ keepData: true });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('A forwards to B and B to A: each event is stored once on each, and not sent back', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const fast = { BOTPULSE_UPSTREAM_POLL_SECONDS: '0.05', BOTPULSE_UPSTREAM_RETRY_MIN_SECONDS: '0.05', BOTPULSE_UPSTREAM_RETRY_MAX_SECONDS: '0.2' };
    // Each data directory has its project (and key) already; then each server points at the other.
    const dirA = await dataDirWithProject(portA);
    const dirB = await dataDirWithProject(portB);
    const a = await startTestServer({ BOTPULSE_PORT: String(portA), BOTPULSE_UPSTREAM_DSN: dirB.dsn, ...fast }, { dataDir: dirA.dataDir });
    const b = await startTestServer({ BOTPULSE_PORT: String(portB), BOTPULSE_UPSTREAM_DSN: dirA.dsn, ...fast }, { dataDir: dirB.dataDir });
    try {
      const fromA = await sendEvent(a, genError(1));
      const fromB = await sendEvent(b, genError(2));
      const has = async (s: TestServer, id: string) => (await s.botpulse.store.getEvent(s.project.id, id)) !== null;
      await waitUntil(async () => (await has(a, fromB)) && (await has(b, fromA)), 'each event on the other server');
      // Each receives the other's event and skips it as already forwarded (counted, never sent back).
      await waitUntil(() => state(a).skipped.already_forwarded === 1 && state(b).skipped.already_forwarded === 1, 'both to skip the event they received');
      assert.equal(state(a).sent.event, 1);
      assert.equal(state(b).sent.event, 1);
      for (const s of [a, b]) {
        const counts = await s.botpulse.store.itemCounts(s.project.id);
        assert.equal(counts['duplicate_event'] ?? 0, 0, 'no event came back a second time');
        const { issues } = await s.botpulse.store.listIssues({ projectId: s.project.id });
        assert.equal(issues.reduce((n, i) => n + i.eventCount, 0), 2, 'two events stored, once each');
      }
    } finally {
      await a.close();
      await b.close();
      rmSync(dirA.dataDir, { recursive: true, force: true });
      rmSync(dirB.dataDir, { recursive: true, force: true });
    }
  });
});

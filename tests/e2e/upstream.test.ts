import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatDsn, jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { hashPassword } from '../../packages/server/src/lib/password.js';
import { SqliteStore } from '../../packages/server/src/store/sqlite/index.js';
import type { Project } from '../../packages/server/src/store/model.js';
import { freePort, startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';

// Issue 14, upstream half (docs/upstream.md): a Botpulse forwards what it accepted to an upstream
// Sentry. The upstream here is a second Botpulse, `botpulse serve` in its own process (it speaks
// the protocol); a small proxy on 127.0.0.1 in front of it plays 429s, 503s and an outage.

const CLI = fileURLToPath(new URL('../../packages/server/dist/cli/main.js', import.meta.url));

async function waitUntil(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The upstream: a real `botpulse serve` process with its own data directory. */
class UpstreamServe {
  child!: ChildProcess;
  project!: Project;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'botpulse-upstream-b-'));
  port = 0;

  async start(): Promise<void> {
    this.port = await freePort();
    this.child = spawn(process.execPath, [CLI, 'serve'], {
      env: { ...process.env, BOTPULSE_DATA_DIR: this.dataDir, BOTPULSE_PORT: String(this.port), BOTPULSE_HOST: '127.0.0.1', BOTPULSE_LOG_LEVEL: 'warn', SENTRY_DSN: '', BOTPULSE_UPSTREAM_DSN: '' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitUntil(async () => {
      if (this.child.exitCode !== null) throw new Error(`botpulse serve exited with ${this.child.exitCode}`);
      return fetch(`http://127.0.0.1:${this.port}/health`).then((r) => r.ok, () => false);
    }, 'the upstream botpulse serve to start');
    // `serve` creates the first project before it listens.
    this.project = (await this.read((s) => s.listProjects()))[0]!;
  }

  /** Reads its database (WAL: a reader beside the running server). */
  async read<T>(fn: (store: SqliteStore) => Promise<T>): Promise<T> {
    const store = await SqliteStore.open(join(this.dataDir, 'botpulse.db'), { migrate: false });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  /** Event ids it stored, each with how many times. */
  async storedIds(ids: string[]): Promise<string[]> {
    return this.read(async (s) => {
      const found: string[] = [];
      for (const id of ids) if (await s.getEvent(this.project.id, id)) found.push(id);
      return found;
    });
  }

  dsnThrough(port: number): string {
    return formatDsn({ protocol: 'http', publicKey: this.project.publicKey, host: '127.0.0.1', port: String(port), path: '', projectId: String(this.project.id) });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await new Promise((r) => this.child.once('exit', r));
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

type Mode = { kind: 'pass' } | { kind: 'status'; status: number; headers?: Record<string, string> } | { kind: 'down' };

/**
 * A stand-in for the network and a misbehaving Sentry in front of the upstream: passes envelopes
 * through, or answers a status for the next N requests, or resets every connection (down).
 */
class Proxy {
  private server!: Server;
  port = 0;
  private plan: { mode: Mode; requests: number }[] = [];
  /** Every request: when it came (ms) and what it was answered. */
  readonly seen: { at: number; status: number | 'reset' }[] = [];

  constructor(private readonly target: () => number) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Answers the next `requests` requests so (then passes through). */
  next(mode: Mode, requests = Number.POSITIVE_INFINITY): void {
    this.plan.push({ mode, requests });
  }

  pass(): void {
    this.plan = [];
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const step = this.plan[0];
    const mode: Mode = step ? step.mode : { kind: 'pass' };
    if (step && --step.requests <= 0) this.plan.shift();
    const at = Date.now();
    if (mode.kind === 'down') {
      this.seen.push({ at, status: 'reset' });
      req.socket.destroy();
      return;
    }
    if (mode.kind === 'status') {
      this.seen.push({ at, status: mode.status });
      req.resume();
      res.writeHead(mode.status, mode.headers ?? {}).end('{}');
      return;
    }
    const upstream = request({ host: '127.0.0.1', port: this.target(), method: req.method, path: req.url, headers: req.headers }, (answer) => {
      this.seen.push({ at, status: answer.statusCode ?? 0 });
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/** The dashboard's issue list, logged in as a person. */
async function issueListHtml(server: TestServer): Promise<string> {
  const web = server.botpulse.app;
  await server.botpulse.store.addUser('ann', await hashPassword('correct horse battery'));
  const form = await web.inject({ method: 'GET', url: '/login' });
  const csrf = /bp_login_csrf=([^;]+)/.exec(String(form.headers['set-cookie']))![1]!;
  const login = await web.inject({ method: 'POST', url: '/login', cookies: { bp_login_csrf: csrf }, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: csrf, login: 'ann', password: 'correct horse battery' }).toString() });
  const page = await web.inject({ method: 'GET', url: '/issues', cookies: { bp_session: /bp_session=([^;]+)/.exec(String(login.headers['set-cookie']))![1]! } });
  return page.body;
}

/** Sends one event to a Botpulse; resolves with its id once answered 200. */
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

/** Events stored on the upstream, once each. */
async function waitForAll(b: UpstreamServe, ids: string[], what: string): Promise<void> {
  await waitUntil(async () => (await b.storedIds(ids)).length === ids.length, what, 120_000);
}

const state = (server: TestServer) => server.botpulse.upstream.snapshot();

async function metric(server: TestServer, name: string): Promise<string[]> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

describe('forwarding to an upstream Sentry (a second Botpulse)', { skip: !existsSync(CLI) && 'run `npm run build` first (npm test does)' }, () => {
  const b = new UpstreamServe();
  const proxy = new Proxy(() => b.port);
  before(async () => {
    await b.start();
    await proxy.start();
  });
  after(async () => {
    await proxy.stop();
    await b.stop();
  });

  /** A forwarding Botpulse in this process, retrying fast (an outage of minutes takes seconds here). */
  const startForwarder = (env: Record<string, string> = {}) =>
    startTestServer({
      BOTPULSE_UPSTREAM_DSN: b.dsnThrough(proxy.port),
      BOTPULSE_UPSTREAM_RETRY_MIN_SECONDS: '0.05',
      BOTPULSE_UPSTREAM_RETRY_MAX_SECONDS: '0.2',
      BOTPULSE_UPSTREAM_POLL_SECONDS: '0.05',
      ...env,
    });

  it('forwards every accepted event with origin and gen_request_id as tags, from tags, extra or contexts, grouped there', async () => {
    proxy.pass();
    const a = await startForwarder();
    try {
      const ids = [
        await sendEvent(a, { ...genError(1), tags: { origin: 'celery', gen_request_id: 'gen-1' } }),
        await sendEvent(a, { ...genError(2), extra: { origin: 'webhook', payload: { gen_request_id: 'gen-2', token_hint: 'x' } } }),
        await sendEvent(a, { ...genError(3), contexts: { error_tracker: { origin: 'miniapp', gen_request_id: 77 } } }),
      ];
      await waitForAll(b, ids, 'the three events on the upstream');
      const events = await b.read(async (s) => Promise.all(ids.map((id) => s.getEvent(b.project.id, id))));
      assert.deepEqual(
        events.map((e) => [e!.tags['origin'], e!.tags['gen_request_id']]),
        [['celery', 'gen-1'], ['webhook', 'gen-2'], ['miniapp', '77']],
      );
      for (const e of events) assert.equal(e!.tags['botpulse.forwarded'], a.url, 'marked as forwarded by a Botpulse');
      assert.equal(new Set(events.map((e) => e!.issueId)).size, 1, 'the same error is one issue on the upstream too');
      const issue = await b.read((s) => s.getIssue(events[0]!.issueId));
      assert.equal(issue!.eventCount >= 3, true);
      assert.equal(state(a).sent.event, 3);
      assert.match((await metric(a, 'botpulse_upstream_sent_total{kind="event"}'))[0]!, / 3$/);
    } finally {
      await a.close();
    }
  });

  it('waits out 429 (Retry-After, X-Sentry-Rate-Limits) and 503 and loses nothing', async () => {
    proxy.pass();
    proxy.next({ kind: 'status', status: 429, headers: { 'Retry-After': '1', 'X-Sentry-Rate-Limits': '1:error;default:key:too_many' } }, 2);
    proxy.next({ kind: 'status', status: 503 }, 6);
    const seenBefore = proxy.seen.length;
    // One send at a time, so the proxy's clock shows what followed the 429.
    const a = await startForwarder({ BOTPULSE_UPSTREAM_CONCURRENCY: '1' });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(await sendEvent(a, genError(100 + i)));
      await waitForAll(b, ids, 'all 20 events on the upstream');
      const s = state(a);
      assert.ok(s.rateLimited >= 1, `rate limited ${s.rateLimited}`);
      assert.ok(s.failed >= 1, `failed ${s.failed}`);
      assert.deepEqual(s.dropped, { backlog_full: 0, rejected: 0, unreadable: 0 });
      // The limit said one second for errors: nothing was sent in it (the proxy's own clock).
      const mine = proxy.seen.slice(seenBefore);
      const first429 = mine.findIndex((r) => r.status === 429);
      const after429 = mine.slice(first429 + 1).find((r) => r.status !== 429);
      assert.ok(after429 && after429.at - mine[first429]!.at >= 1000, `sent again ${after429 && after429.at - mine[first429]!.at} ms after the 429`);
      assert.match((await metric(a, 'botpulse_upstream_rate_limited_total'))[0]!, /botpulse_upstream_rate_limited_total [1-9]/);
    } finally {
      await a.close();
    }
  });

  it('an upstream down while events keep arriving: every event answered 200 arrives once it is back', async () => {
    proxy.pass();
    proxy.next({ kind: 'down' });
    const a = await startForwarder();
    try {
      const ids: string[] = [];
      // Events keep arriving through the outage: a burst, then more after the forwarder has
      // failed a number of times (counts, not a clock: "a minute" is the retries it spans).
      for (let i = 0; i < 15; i++) ids.push(await sendEvent(a, genError(200 + i)));
      await waitUntil(() => state(a).failed >= 5, 'five failed tries');
      for (let i = 0; i < 15; i++) ids.push(await sendEvent(a, genError(300 + i)));
      await waitUntil(() => state(a).failed >= 15, 'fifteen failed tries');
      assert.equal((await b.storedIds(ids)).length, 0, 'nothing got through while down');
      assert.ok(state(a).backlog.event > 0);
      assert.match(state(a).lastError ?? '', /unreachable/);
      // Said where an operator looks: /metrics and the dashboard's issue list.
      assert.match((await metric(a, 'botpulse_upstream_backlog{kind="event"}'))[0]!, /botpulse_upstream_backlog\{kind="event"\} [1-9]/);
      assert.match((await metric(a, 'botpulse_upstream_failed_total'))[0]!, /botpulse_upstream_failed_total [1-9]/);
      assert.match(await issueListHtml(a), /Upstream Sentry failing: upstream unreachable/);
      proxy.pass();
      await waitForAll(b, ids, 'all 30 events after the outage');
      assert.deepEqual(state(a).dropped, { backlog_full: 0, rejected: 0, unreadable: 0 });
      await waitUntil(() => state(a).backlog.event === 0, 'an empty backlog');
    } finally {
      await a.close();
    }
  });

  it('keeps the backlog bounded: past the limit the oldest are given up and counted', async () => {
    proxy.pass();
    proxy.next({ kind: 'down' });
    const a = await startForwarder({ BOTPULSE_UPSTREAM_BACKLOG_LIMIT: '10' });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) ids.push(await sendEvent(a, genError(400 + i)));
      await a.digested();
      await waitUntil(() => state(a).dropped.backlog_full === 15, 'fifteen given up');
      proxy.pass();
      await waitForAll(b, ids.slice(15), 'the newest ten');
      assert.deepEqual(await b.storedIds(ids.slice(0, 15)), [], 'the oldest fifteen were given up');
      assert.match((await metric(a, 'botpulse_upstream_dropped_total{reason="backlog_full"}'))[0]!, / 15$/);
    } finally {
      await a.close();
    }
  });
});

describe('upstream loops', () => {
  it('refuses at start an upstream that is this server itself', async () => {
    const port = await freePort();
    const first = await startTestServer({ BOTPULSE_PORT: String(port) });
    const { dataDir, dsn } = first;
    await first.close({ keepData: true });
    try {
      await assert.rejects(startTestServer({ BOTPULSE_PORT: String(port), BOTPULSE_UPSTREAM_DSN: dsn }, { dataDir }), /BOTPULSE_UPSTREAM_DSN points at this Botpulse server itself/);
      await assert.rejects(startTestServer({ BOTPULSE_PORT: String(port), SENTRY_DSN: dsn }, { dataDir }), /SENTRY_DSN points at this Botpulse server itself.*BOTPULSE_UPSTREAM_DSN=off/);
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
    // First starts make the projects (and their keys); then each points at the other.
    const a0 = await startTestServer({ BOTPULSE_PORT: String(portA) });
    const b0 = await startTestServer({ BOTPULSE_PORT: String(portB) });
    const dirs = { a: a0.dataDir, b: b0.dataDir, dsnA: a0.dsn, dsnB: b0.dsn };
    await a0.close({ keepData: true });
    await b0.close({ keepData: true });
    const a = await startTestServer({ BOTPULSE_PORT: String(portA), BOTPULSE_UPSTREAM_DSN: dirs.dsnB, ...fast }, { dataDir: dirs.a });
    const b = await startTestServer({ BOTPULSE_PORT: String(portB), BOTPULSE_UPSTREAM_DSN: dirs.dsnA, ...fast }, { dataDir: dirs.b });
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
    }
  });
});

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
import { reapOnExit } from './support/children.js';

// Shared by upstream.test.ts and upstream-outage.test.ts. Issue 14, upstream half (docs/upstream.md): a Botpulse forwards what it accepted to an upstream
// Sentry. The upstream here is a second Botpulse, `botpulse serve` in its own process (it speaks
// the protocol); a small proxy on 127.0.0.1 in front of it plays 429s, 503s and an outage.

export const CLI = fileURLToPath(new URL('../../packages/server/dist/cli/main.js', import.meta.url));

export async function waitUntil(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The upstream: a real `botpulse serve` process with its own data directory. */
export class UpstreamServe {
  child!: ChildProcess;
  project!: Project;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'botpulse-upstream-b-'));
  port = 0;

  async start(): Promise<void> {
    this.port = await freePort();
    this.child = reapOnExit(spawn(process.execPath, [CLI, 'serve'], {
      env: { ...process.env, BOTPULSE_DATA_DIR: this.dataDir, BOTPULSE_PORT: String(this.port), BOTPULSE_HOST: '127.0.0.1', BOTPULSE_LOG_LEVEL: 'warn', SENTRY_DSN: '', BOTPULSE_UPSTREAM_DSN: '' },
      stdio: ['ignore', 'ignore', 'inherit'],
    }));
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

export type Mode = { kind: 'pass' } | { kind: 'status'; status: number; headers?: Record<string, string> } | { kind: 'down' };

/**
 * A stand-in for the network and a misbehaving Sentry in front of the upstream: passes envelopes
 * through, or answers a status for the next N requests, or resets every connection (down).
 */
export class Proxy {
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
export async function issueListHtml(server: TestServer): Promise<string> {
  const web = server.botpulse.app;
  await server.botpulse.store.addUser('ann', await hashPassword('correct horse battery'));
  const form = await web.inject({ method: 'GET', url: '/login' });
  const csrf = /bp_login_csrf=([^;]+)/.exec(String(form.headers['set-cookie']))![1]!;
  const login = await web.inject({ method: 'POST', url: '/login', cookies: { bp_login_csrf: csrf }, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: csrf, login: 'ann', password: 'correct horse battery' }).toString() });
  const page = await web.inject({ method: 'GET', url: '/issues', cookies: { bp_session: /bp_session=([^;]+)/.exec(String(login.headers['set-cookie']))![1]! } });
  return page.body;
}

/** Sends one event to a Botpulse; resolves with its id once answered 200. */
export async function sendEvent(server: TestServer, payload: Record<string, unknown>): Promise<string> {
  const eventId = randomUUID().replace(/-/g, '');
  const body = serializeEnvelope({ headers: { event_id: eventId }, items: [jsonItem('event', { event_id: eventId, platform: 'python', level: 'error', ...payload })] });
  const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
  assert.equal(res.status, 200, await res.text());
  return eventId;
}

export const genError = (i: number) => ({
  exception: { values: [{ type: 'GenerationFailed', value: `generation ${i} failed`, stacktrace: { frames: [{ filename: 'botapp/generations.py', function: 'run_generation', lineno: 40, in_app: true }] } }] },
});

/** Events stored on the upstream, once each. */
export async function waitForAll(b: UpstreamServe, ids: string[], what: string): Promise<void> {
  await waitUntil(async () => (await b.storedIds(ids)).length === ids.length, what, 120_000);
}

export const state = (server: TestServer) => server.botpulse.upstream.snapshot();

export async function metric(server: TestServer, name: string): Promise<string[]> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}


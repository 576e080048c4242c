// Runs tests/e2e/sdk-support/quickstart-bot.mjs (the docs' quick starts on the BUILT SDK) as a
// child process against the fake Telegram and a real Botpulse, and reads what reached Botpulse
// through its HTTP API, as a user would see it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeTelegram } from '../../../packages/fake-telegram/src/index.js';
import type { TestServer } from '../../../packages/server/src/test-support/server.js';
import { reapOnExit } from '../support/children.js';

const SUPPORT = fileURLToPath(new URL('.', import.meta.url));

export interface BotRun {
  child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit; fails when the child is still alive after `timeoutMs` (and kills it). */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

export interface BotRunOptions {
  /** A script of tests/e2e/sdk-support (default quickstart-bot.mjs). */
  script?: string;
  scenario: string;
  token: string;
  tg: FakeTelegram;
  server: TestServer;
  /** The disk queue directory (default: a fresh one). Reuse it for "the next start". */
  diskQueueDir?: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
}

const diskQueueDirs: string[] = [];
// The children are gone by then (killed or exited): their queues go with the test process.
process.once('exit', () => {
  for (const dir of diskQueueDirs) rmSync(dir, { recursive: true, force: true });
});

/** The Node the bot children run on: BOTPULSE_BOT_NODE (e.g. .cache/node/24/bin/node), else this one. */
export function botNode(): string {
  return process.env['BOTPULSE_BOT_NODE'] || process.execPath;
}

export function newDiskQueueDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-diskq-'));
  diskQueueDirs.push(dir);
  return dir;
}

export function startBot(options: BotRunOptions): BotRun {
  const child = reapOnExit(spawn(botNode(), [...(options.nodeArgs ?? []), join(SUPPORT, options.script ?? 'quickstart-bot.mjs')], {
    env: {
      PATH: process.env['PATH'] ?? '',
      NODE_OPTIONS: '', // not the test runner's loader
      BOTPULSE_DSN: options.server.dsn,
      SENTRY_ENVIRONMENT: 'production',
      SENTRY_RELEASE: 'quickstart@1.0.0',
      TELEGRAM_BOT_TOKEN: options.token,
      TELEGRAM_API_ROOT: options.tg.apiRoot,
      BOTPULSE_DISK_QUEUE: options.diskQueueDir ?? newDiskQueueDir(),
      SCENARIO: options.scenario,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000); // never leave one behind
  void exit.finally(() => clearTimeout(killer));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async exited(timeoutMs = 45_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`bot "${options.scenario}" did not exit within ${timeoutMs} ms; stderr: ${err}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exit, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    kill: () => child.kill('SIGKILL'),
  };
}

/** What the API shows: every stored event of the project, with its issue. */
export async function eventsFromApi(server: TestServer): Promise<any[]> {
  await server.digested();
  const get = async (path: string): Promise<any> => {
    const res = await fetch(`${server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${server.token}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const { issues } = await get(`/projects/${server.project.slug}/issues?limit=500&status=new,in_progress,resolved,ignored`);
  const events: any[] = [];
  for (const issue of issues) for (const event of await get(`/issues/${issue.id}/events?limit=500`)) events.push({ ...event, issue });
  return events;
}

export async function monitorsFromApi(server: TestServer): Promise<any[]> {
  const res = await fetch(`${server.url}/api/v1/monitors`, { headers: { authorization: `Bearer ${server.token}` } });
  if (!res.ok) throw new Error(`GET /monitors: ${res.status}`);
  return ((await res.json()) as { monitors: any[] }).monitors;
}

/** Polls `probe` until it returns a truthy value (or fails after `timeoutMs`). */
export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

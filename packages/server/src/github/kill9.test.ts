import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { CLI } from '../test-support/cli.js';
import { FakeGithub } from '../test-support/fake-github.js';
import { freePort } from '../test-support/server.js';

/**
 * The GitHub queue across a real kill -9: a `botpulse serve` process is killed while its call
 * to create the GitHub issue hangs, before GitHub did the work or after it (the answer lost), and
 * a new process on the same data finishes the job with exactly one GitHub issue.
 */

const TOKEN = 'github_pat_11ABCDEFG0123456789_secretsecretsecretTOKEN';
let fake: FakeGithub;
let dir: string;
const running = new Set<ChildProcessWithoutNullStreams>();

before(async () => {
  fake = await FakeGithub.start({ tokens: { [TOKEN]: 'botpulse-app' }, repos: [] });
  dir = mkdtempSync(join(tmpdir(), 'botpulse-gh-kill9-'));
});
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});
after(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Serve {
  child: ChildProcessWithoutNullStreams;
  url: string;
  out: () => string;
}

/** `botpulse serve` on `dataDir` until its banner. The GitHub calls time out after 2 s, so a claim lasts 28 s. */
async function serve(dataDir: string, port: number): Promise<Serve> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOTPULSE_')));
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...clean, BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: String(port), BOTPULSE_LOG_LEVEL: 'warn', BOTPULSE_GITHUB_API_URL: fake.url, BOTPULSE_GITHUB_TIMEOUT_SECONDS: '2' },
  });
  running.add(child);
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  await waitFor('the banner', async () => out.includes('More: npx botpulse --help'), () => out);
  return { child, url: `http://127.0.0.1:${port}`, out: () => out };
}

async function kill9(s: Serve): Promise<void> {
  const exited = new Promise((resolve) => s.child.once('exit', resolve));
  s.child.kill('SIGKILL');
  assert.equal(await exited, null, 'killed by the signal, not exited');
  running.delete(s.child);
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, detail: () => string = () => '', timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs; // only keeps a broken run from hanging
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function api(s: Serve, token: string, path: string, init: RequestInit = {}) {
  return fetch(`${s.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
}

interface GithubState {
  link: { state: string; number: number | null } | null;
  jobs: { kind: string; attempts: number; lastError: string | null }[];
}

let runs = 0;

/**
 * Sets up a server whose project files issues in a fresh repository, sends one event, asks for
 * its GitHub issue while the fake hangs the create (`afterWork`: after creating it), kills the
 * server -9 during the call, starts it again, and returns what the second process did.
 */
async function killedMidCreate(afterWork: boolean) {
  const repo = `acme/kill9-${++runs}`;
  fake.addRepo(repo);
  const dataDir = join(dir, `data-${runs}`);
  const port = await freePort();
  const first = await serve(dataDir, port);
  const token = readFileSync(join(dataDir, 'initial-api-token'), 'utf8').trim();
  assert.equal((await api(first, token, '/projects/1/github', { method: 'PUT', body: JSON.stringify({ repo, token: TOKEN }) })).status, 200);
  const dsn = /DSN: http:\/\/([0-9a-f]{32})@/.exec(first.out())![1]!;
  const envelope = serializeEnvelope({ headers: {}, items: [jsonItem('event', { exception: { values: [{ type: 'PaymentError', value: `card declined ${runs}` }] } })] });
  assert.equal((await fetch(`${first.url}/api/1/envelope/?sentry_key=${dsn}`, { method: 'POST', body: envelope })).status, 200);
  const issueId = await waitFor('the issue', async () => {
    const { issues } = (await (await api(first, token, '/projects/1/issues')).json()) as { issues: { id: number }[] };
    return issues[0]?.id;
  });

  fake.failNext('create', { kind: 'hang', afterWork });
  const hungBefore = fake.requests.filter((r) => r.status === 'hung').length;
  assert.equal((await api(first, token, `/issues/${issueId}/github`, { method: 'POST', body: '{}' })).status, 202);
  await waitFor('the create call to hang', async () => fake.requests.filter((r) => r.status === 'hung').length > hungBefore);
  await kill9(first);

  const second = await serve(dataDir, port);
  // The killed process's try is on record (counted when claimed) and never finished: no error.
  const left = (await (await api(second, token, `/issues/${issueId}/github`)).json()) as GithubState;
  assert.equal(left.link?.state, 'pending');
  assert.deepEqual(left.jobs.map((j) => [j.kind, j.attempts, j.lastError]), [['create', 1, null]]);
  const done = await waitFor(
    'the link after the restart',
    async () => {
      const state = (await (await api(second, token, `/issues/${issueId}/github`)).json()) as GithubState;
      return state.link?.state === 'linked' ? state : null;
    },
    second.out,
  );
  const issues = fake.repoIssues(repo);
  assert.equal(issues.length, 1, 'exactly one GitHub issue');
  assert.equal(done.link!.number, issues[0]!.number, 'the link stored is that issue');
  assert.deepEqual(done.jobs, [], 'the job is done');
  const calls = fake.requests.filter((r) => r.path.startsWith(`/repos/${repo}/`)).map((r) => `${r.endpoint}:${r.status}`);
  await kill9(second);
  return calls;
}

describe('the GitHub queue across kill -9 of a real server', { skip: !existsSync(CLI) && 'run `npx tsc -b` first' }, () => {
  it('killed while the create hangs before GitHub made the issue: the next process looks, finds none, creates one', async () => {
    const calls = await killedMidCreate(false);
    assert.deepEqual(calls, ['create:hung', 'list:200', 'create:201']);
  });

  it('killed after GitHub made the issue but before its answer was stored: the next process finds it by its marker, creates none', async () => {
    const calls = await killedMidCreate(true);
    assert.deepEqual(calls, ['create:hung', 'list:200']);
  });
});

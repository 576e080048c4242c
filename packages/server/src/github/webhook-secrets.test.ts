import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { pino } from 'pino';
import type { Project } from '../store/model.js';
import { FakeGithub } from '../test-support/fake-github.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

const TOKEN = 'github_pat_11ABCDEFG0123456789_secretsecretsecretTOKEN';
const SECRET_A = 'project-a-webhook-secret-AAAA';
const SECRET_B = 'project-b-webhook-secret-BBBB';
const GLOBAL = 'global-webhook-secret-GGGG';
const REPO_A = 'acme/a-bot';
const REPO_B = 'acme/b-bot';

let fake: FakeGithub;
let dir: string;
before(async () => {
  fake = await FakeGithub.start({ tokens: { [TOKEN]: 'botpulse-app' }, repos: [REPO_A, REPO_B] });
  dir = mkdtempSync(join(tmpdir(), 'botpulse-gh-secrets-'));
});
after(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

function api(server: TestServer, path: string, init: RequestInit = {}) {
  return fetch(`${server.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' } });
}

/** One event for `project`, digested; the issue's id. */
async function issueIn(server: TestServer, project: Project, title: string): Promise<number> {
  const body = serializeEnvelope({ headers: {}, items: [jsonItem('event', { exception: { values: [{ type: 'PaymentError', value: title }] } })] });
  const res = await fetch(`${server.url}/api/${project.id}/envelope/?sentry_key=${project.publicKey}`, { method: 'POST', body });
  assert.equal(res.status, 200);
  await server.digested();
  const { issues } = await server.botpulse.store.listIssues({ projectId: project.id, limit: 50 });
  return issues.find((i) => i.title.endsWith(title))!.id;
}

async function linkedNumber(server: TestServer, issueId: number): Promise<number> {
  assert.ok((await api(server, `/issues/${issueId}/github`, { method: 'POST', body: '{}' })).status < 300);
  for (let i = 0; i < 1200; i++) {
    const link = await server.botpulse.github.links.getLink(issueId);
    if (link?.state === 'linked') return link.number!;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('never linked');
}

/** An `issues` `closed` delivery for `repo#number`, signed with `secret`, to `path`. */
async function deliver(server: TestServer, path: string, repo: string, number: number, secret: string): Promise<{ status: number; body: { result?: string } }> {
  const body = JSON.stringify({ action: 'closed', issue: { number, state_reason: 'completed' }, repository: { full_name: repo }, sender: { login: 'mallory' } });
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` },
    body,
  });
  return { status: res.status, body: (await res.json()) as { result?: string } };
}

describe('GitHub webhook secrets per project', () => {
  it('verifies a delivery with the secret of the project it is for; another project\'s secret is refused; the global one is the fallback', async () => {
    const secretFile = join(dir, 'a-secret');
    writeFileSync(secretFile, `${SECRET_A}\n`);
    const logs: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) }));
    const server = await startTestServer(
      {
        BOTPULSE_GITHUB_API_URL: fake.url,
        BOTPULSE_GITHUB: JSON.stringify({ 'test-bot': { repo: REPO_A, token: TOKEN, webhookSecretFile: secretFile } }),
        BOTPULSE_GITHUB_WEBHOOK_SECRET: GLOBAL,
        BOTPULSE_GITHUB_TIMEOUT_SECONDS: '1',
      },
      { logger, create: { github: { idleMs: 50 } } },
    );
    try {
      const a = server.project;
      const b = await server.botpulse.store.createProject({ name: 'B bot', slug: 'b-bot' });
      const put = await api(server, '/projects/b-bot/github', { method: 'PUT', body: JSON.stringify({ repo: REPO_B, token: TOKEN, webhookSecret: SECRET_B }) });
      assert.equal(put.status, 200);
      const shownB = (await put.json()) as Record<string, unknown>;
      assert.deepEqual([shownB.webhookSecret, shownB.webhookSecretFrom, shownB.webhookUrl], ['…BBBB', 'project', '/api/github/webhook/b-bot']);
      const shownA = (await (await api(server, '/projects/test-bot/github')).json()) as Record<string, unknown>;
      assert.deepEqual([shownA.webhookSecret, shownA.webhookSecretFrom], ['…AAAA', 'project'], 'the *File secret, trimmed');
      assert.equal((await api(server, '/projects/b-bot/github', { method: 'PUT', body: JSON.stringify({ webhookSecret: 'short' }) })).status, 400);

      const issueA = await issueIn(server, a, 'in A');
      const issueB = await issueIn(server, b, 'in B');
      const numberA = await linkedNumber(server, issueA);
      const numberB = await linkedNumber(server, issueB);

      // Signed with B's secret (or the global one, which A's own replaces): refused for A, on either URL.
      for (const path of ['/api/github/webhook', `/api/github/webhook/${a.slug}`]) {
        for (const secret of [SECRET_B, GLOBAL]) assert.equal((await deliver(server, path, REPO_A, numberA, secret)).status, 401, `${path} with ${secret.slice(0, 9)}`);
      }
      // B's URL and B's secret, naming A's issue: verified for B, so A's issue is not B's to change.
      const crossed = await deliver(server, `/api/github/webhook/${b.slug}`, REPO_A, numberA, SECRET_B);
      assert.deepEqual([crossed.status, crossed.body.result], [200, 'ignored']);
      assert.equal((await server.botpulse.store.getIssue(issueA))?.status, 'new');
      // Unknown project in the URL: a 404, never a 500.
      assert.equal((await deliver(server, '/api/github/webhook/nope', REPO_A, numberA, SECRET_A)).status, 404);

      // A's own secret: applied, on the shared URL and on A's.
      const applied = await deliver(server, '/api/github/webhook', REPO_A, numberA, SECRET_A);
      assert.deepEqual([applied.status, applied.body.result], [200, 'applied']);
      assert.equal((await server.botpulse.store.getIssue(issueA))?.status, 'resolved');

      // B's secret removed: the global one applies to B again, and B's old secret no longer does.
      const cleared = (await (await api(server, '/projects/b-bot/github', { method: 'PUT', body: JSON.stringify({ webhookSecret: null }) })).json()) as Record<string, unknown>;
      assert.deepEqual([cleared.webhookSecret, cleared.webhookSecretFrom], ['…GGGG', 'global']);
      assert.equal((await deliver(server, `/api/github/webhook/${b.slug}`, REPO_B, numberB, SECRET_B)).status, 401);
      const fallback = await deliver(server, `/api/github/webhook/${b.slug}`, REPO_B, numberB, GLOBAL);
      assert.deepEqual([fallback.status, fallback.body.result], [200, 'applied']);
      assert.equal((await server.botpulse.store.getIssue(issueB))?.status, 'resolved');

      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /botpulse_github_webhooks_total\{result="bad_signature"\} 5/);
      const all = logs.join('');
      for (const secret of [SECRET_A, SECRET_B, GLOBAL]) assert.ok(!all.includes(secret), 'no secret in the logs');
    } finally {
      await server.close();
    }
  });

  it('refuses every delivery (503) for a project with no secret when no global one is set', async () => {
    const server = await startTestServer({ BOTPULSE_GITHUB_API_URL: fake.url, BOTPULSE_GITHUB: JSON.stringify({ 'test-bot': { repo: REPO_A, token: TOKEN } }) });
    try {
      const shown = (await (await api(server, '/projects/test-bot/github')).json()) as Record<string, unknown>;
      assert.deepEqual([shown.webhookSecret, shown.webhookSecretFrom], [null, null]);
      assert.equal((await deliver(server, '/api/github/webhook/test-bot', REPO_A, 1, SECRET_A)).status, 503);
      assert.equal((await deliver(server, '/api/github/webhook', REPO_A, 1, SECRET_A)).status, 503);
    } finally {
      await server.close();
    }
  });
});

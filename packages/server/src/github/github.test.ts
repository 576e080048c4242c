import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { pino } from 'pino';
import { hashPassword } from '../lib/password.js';
import { FakeGithub } from '../test-support/fake-github.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

const TOKEN = 'github_pat_11ABCDEFG0123456789_secretsecretsecretTOKEN';
const WRONG = 'github_pat_11ZZZZZZZ0000000000_wrongwrongwrongwrongWXYZ';
const SECRET = 'webhook-secret-0123456789';
let REPO = 'acme/pay-bot';
let repos = 0;

let fake: FakeGithub;
before(async () => {
  fake = await FakeGithub.start({ tokens: { [TOKEN]: 'botpulse-app' }, repos: [REPO, 'acme/other'] });
});
after(() => fake.close());

/** A server whose `test-bot` project files GitHub issues in `repo`; its log lines are kept. */
async function start(project: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  // A repository per server: every server's first issue is B-1, and so is its marker.
  REPO = `acme/pay-bot-${++repos}`;
  fake.addRepo(REPO);
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) }));
  const server = await startTestServer(
    {
      BOTPULSE_GITHUB_API_URL: fake.url,
      BOTPULSE_GITHUB: JSON.stringify({ 'test-bot': { repo: REPO, token: TOKEN, labels: ['bug', 'botpulse'], ...project } }),
      BOTPULSE_GITHUB_WEBHOOK_SECRET: SECRET,
      BOTPULSE_GITHUB_TIMEOUT_SECONDS: '1',
      ...env,
    },
    { logger, create: { github: { idleMs: 50 } } },
  );
  fake.setWebhook(`${server.url}/api/github/webhook`, SECRET);
  return { server, logs };
}

function api(server: TestServer, path: string, init: RequestInit = {}) {
  if (init.method === 'POST' && init.body === undefined) init = { ...init, body: '{}' };
  return fetch(`${server.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
}

let seq = 0;
/** Sends `count` events of one issue (`key`: a new one by default) and returns the issue's id once digested. */
async function issueWith(server: TestServer, count = 1, key = ++seq): Promise<number> {
  const title = `PaymentError ${key}`;
  for (let i = 0; i < count; i++) {
    const event = {
      exception: {
        values: [
          {
            type: 'PaymentError',
            value: title,
            stacktrace: {
              frames: [
                { function: 'dispatch', filename: 'node_modules/grammy/out/composer.js', lineno: 10, in_app: false },
                { function: `handlePay${key}`, filename: 'src/handlers/pay.ts', lineno: 42, context_line: '  await provider.charge(ctx.from.id)', in_app: true },
              ],
            },
          },
        ],
      },
      release: 'pay-bot@1.4.2',
      user: { id: `u${i}` },
      contexts: { telegram: { chat_id: -1001234567890, user_id: 987654321, username: 'alice_secret', update_type: 'callback_query' } },
    };
    const body = serializeEnvelope({ headers: {}, items: [jsonItem('event', event)] });
    const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
    assert.equal(res.status, 200);
  }
  await server.digested();
  const { issues } = await server.botpulse.store.listIssues({ projectId: server.project.id, limit: 500 });
  return issues.find((i) => i.title === `PaymentError: ${title}`)!.id;
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs; // only keeps a broken run from hanging
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const linked = (server: TestServer, issueId: number) =>
  waitFor('the link', async () => {
    const link = await server.botpulse.github.links.getLink(issueId);
    return link?.state === 'linked' ? link : null;
  });

/** A logged-in dashboard session's cookie header. */
async function dashboardLogin(server: TestServer): Promise<string> {
  await server.botpulse.store.addUser('ann', await hashPassword('correct horse battery'));
  const form = await fetch(`${server.url}/login`);
  const csrf = form.headers.getSetCookie().find((c) => c.startsWith('bp_login_csrf='))!.split(';')[0]!;
  const res = await fetch(`${server.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrf },
    body: new URLSearchParams({ _csrf: csrf.split('=')[1]!, login: 'ann', password: 'correct horse battery' }).toString(),
  });
  assert.equal(res.status, 303);
  return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

const creates = () => fake.requests.filter((r) => r.endpoint === 'create');

describe('GitHub issues from Botpulse issues', () => {
  it('creates one GitHub issue from the API with the issue\'s facts, a link back and the marker; no token anywhere', async () => {
    const { server, logs } = await start();
    try {
      const issueId = await issueWith(server, 2);
      const issue = (await server.botpulse.store.getIssue(issueId))!;
      const first = await api(server, `/issues/${issueId}/github`, { method: 'POST' });
      assert.equal(first.status, 202);
      const second = await api(server, `/issues/${issueId}/github`, { method: 'POST' });
      assert.equal(((await second.json()) as { claimed: boolean }).claimed, false, 'a second request gets the first one\'s link');
      const link = await linked(server, issueId);
      const made = fake.repoIssues(REPO).filter((i) => i.body.includes(`botpulse:${issue.shortId}:test-bot`));
      assert.equal(made.length, 1);
      const gh = made[0]!;
      assert.equal(link.number, gh.number);
      assert.equal(gh.title, `[${issue.shortId}] ${issue.title}`);
      assert.deepEqual(gh.labels, ['bug', 'botpulse']);
      for (const part of [issue.shortId, '| Events | 2 |', '| Users | 1 |', 'First seen', 'Last seen', 'pay-bot@1.4.2', `handlePay${seq} (src/handlers/pay.ts:42)`, 'await provider.charge(ctx.from.id)', 'update `callback_query`', 'chat …890', 'user …321', `${server.url}/issues/${issueId}`, `<!-- botpulse:${issue.shortId}:test-bot -->`]) {
        assert.ok(gh.body.includes(part), `body has ${part}:\n${gh.body}`);
      }
      assert.ok(!gh.body.includes('composer.js'), 'library frames are left out when in-app frames exist');
      assert.ok(!gh.body.includes('alice_secret') && !gh.body.includes('1234567890') && !gh.body.includes('987654321'), 'no user name or full ids on GitHub');
      // Shown wherever the issue is.
      const shown = (await (await api(server, `/issues/${issueId}`)).json()) as { githubNumber: number; githubUrl: string };
      assert.deepEqual([shown.githubNumber, shown.githubUrl], [gh.number, `https://github.example/${REPO}/issues/${gh.number}`]);
      const list = (await (await api(server, '/projects/test-bot/issues')).json()) as { issues: { id: number; githubNumber: number | null }[] };
      assert.equal(list.issues.find((i) => i.id === issueId)?.githubNumber, gh.number);
      const settings = await (await api(server, '/projects/test-bot/github')).text();
      assert.ok(settings.includes('"token":"…OKEN"'), settings);
      for (const text of [settings, ...logs, gh.body, gh.title]) assert.ok(!text.includes(TOKEN), 'the token is never shown or logged');
      assert.equal(creates().filter((r) => r.status === 201).length >= 1, true);
    } finally {
      await server.close();
    }
  });

  it('creates the GitHub issue from the dashboard\'s button and shows it, with the last action and who took it', async () => {
    const { server } = await start();
    try {
      const issueId = await issueWith(server);
      const cookie = await dashboardLogin(server);
      const page = await (await fetch(`${server.url}/issues/${issueId}`, { headers: { cookie } })).text();
      assert.match(page, /Create GitHub issue/);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
      const res = await fetch(`${server.url}/issues/${issueId}/github`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf }).toString(),
      });
      assert.equal(res.status, 303);
      const link = await linked(server, issueId);
      assert.equal(link.requestedBy, 'dashboard:ann');
      await fake.act(REPO, link.number!, 'closed', 'octocat');
      const after = await (await fetch(`${server.url}/issues/${issueId}`, { headers: { cookie } })).text();
      assert.ok(after.includes(`${REPO}#${link.number}`), 'the link is shown');
      assert.match(after, /closed on GitHub by <strong>octocat<\/strong>/);
      assert.ok(!after.includes('Create GitHub issue'));
      const list = await (await fetch(`${server.url}/issues?status=resolved`, { headers: { cookie } })).text();
      assert.ok(list.includes(link.url!), 'the list links it');
    } finally {
      await server.close();
    }
  });

  it('lists untracked issues (no GitHub issue) in the API', async () => {
    const { server } = await start();
    try {
      const tracked = await issueWith(server, 5);
      const untracked = await issueWith(server, 5);
      await api(server, `/issues/${tracked}/github`, { method: 'POST' });
      await linked(server, tracked);
      const res = (await (await api(server, '/projects/test-bot/issues/untracked?minEvents=5')).json()) as { issues: { id: number }[] };
      assert.deepEqual(res.issues.map((i) => i.id), [untracked]);
      const page = await fetch(`${server.url}/issues?view=untracked`, { redirect: 'manual' });
      assert.ok([200, 302, 303].includes(page.status));
    } finally {
      await server.close();
    }
  });

  it('creates the GitHub issue by itself when an unlinked issue reaches N events (seed 004: 3)', async () => {
    const { server } = await start({ autoCreateAt: 3 });
    try {
      const issueId = await issueWith(server, 2);
      // Two events: not yet. A turn of the worker is run by hand so "nothing happened" is a fact, not a wait.
      await server.botpulse.github.worker.runOnce();
      assert.equal(await server.botpulse.github.links.getLink(issueId), null);
      assert.equal(await issueWith(server, 1, seq), issueId);
      const link = await linked(server, issueId);
      assert.equal(link.requestedBy, 'auto');
    } finally {
      await server.close();
    }
  });

  it('resolves when the GitHub issue is closed as completed and reopens when it is reopened, recording who; refuses a bad signature', async () => {
    const { server } = await start();
    try {
      const issueId = await issueWith(server);
      await api(server, `/issues/${issueId}/github`, { method: 'POST' });
      const link = await linked(server, issueId);
      const closed = await fake.act(REPO, link.number!, 'closed', 'octocat');
      assert.equal(closed.status, 200);
      assert.equal((await server.botpulse.store.getIssue(issueId))?.status, 'resolved');
      let now = (await server.botpulse.github.links.getLink(issueId))!;
      assert.deepEqual([now.lastAction, now.lastActor, now.githubState], ['closed', 'octocat', 'closed']);
      const history = await server.botpulse.store.issueHistory(issueId);
      assert.ok(history.some((h) => h.action === 'linked' && h.detail.number === link.number), 'the link is in the issue\'s history');
      assert.ok(history.some((h) => h.action === 'resolved' && h.actor.kind === 'github' && h.actor.name === 'octocat'), 'so is who closed it on GitHub');
      const shown = (await (await api(server, `/issues/${issueId}/github`)).json()) as { link: { lastAction: { action: string; actor: string } } };
      assert.deepEqual(shown.link.lastAction.actor, 'octocat');
      assert.equal((await fake.act(REPO, link.number!, 'reopened', 'hubot')).status, 200);
      assert.equal((await server.botpulse.store.getIssue(issueId))?.status, 'new');
      now = (await server.botpulse.github.links.getLink(issueId))!;
      assert.deepEqual([now.lastAction, now.lastActor, now.githubState], ['reopened', 'hubot', 'open']);
      // Closed as not planned: recorded, the Botpulse issue left open.
      await fake.act(REPO, link.number!, 'closed', 'octocat', 'not_planned');
      assert.equal((await server.botpulse.store.getIssue(issueId))?.status, 'new');
      // A wrong signature changes nothing and is counted.
      await fake.act(REPO, link.number!, 'reopened', 'hubot');
      const gh = fake.repoIssues(REPO).find((i) => i.number === link.number)!;
      const forged = await fake.deliver(REPO, { ...gh, state: 'closed', state_reason: 'completed' }, 'closed', 'mallory', 'sha256=' + '0'.repeat(64));
      assert.equal(forged.status, 401);
      const unsigned = await fetch(`${server.url}/api/github/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'issues' }, body: '{}' });
      assert.equal(unsigned.status, 401);
      assert.equal((await server.botpulse.store.getIssue(issueId))?.status, 'new');
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /botpulse_github_webhooks_total\{result="bad_signature"\} 2/);
    } finally {
      await server.close();
    }
  });

  it('closes the GitHub issue with a comment when the issue is resolved in Botpulse (per-project switch)', async () => {
    const { server } = await start({ closeOnResolve: true });
    try {
      const issueId = await issueWith(server);
      await api(server, `/issues/${issueId}/github`, { method: 'POST' });
      const link = await linked(server, issueId);
      const res = await api(server, `/issues/${issueId}`, { method: 'PATCH', body: JSON.stringify({ status: 'resolved', inRelease: 'pay-bot@1.4.3' }) });
      assert.equal(res.status, 200);
      const gh = await waitFor('the close', async () => fake.repoIssues(REPO).find((i) => i.number === link.number && i.state === 'closed'));
      assert.match(gh.comments[0] ?? '', /Resolved in Botpulse in release `pay-bot@1\.4\.3`/);
      const now = await waitFor('the record', async () => ((await server.botpulse.github.links.getLink(issueId))?.githubState === 'closed' ? server.botpulse.github.links.getLink(issueId) : null));
      assert.equal(now!.lastActor, 'botpulse');
      assert.equal((await server.botpulse.store.getIssue(issueId))?.status, 'resolved');
    } finally {
      await server.close();
    }
  });

  it('honours a rate limit: the create waits for x-ratelimit-reset', async () => {
    const { server } = await start();
    try {
      const issueId = await issueWith(server);
      const reset = Math.ceil(Date.now() / 1000) + 2;
      fake.failNext('create', { kind: 'status', status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }, message: 'API rate limit exceeded' });
      const before = creates().length;
      await api(server, `/issues/${issueId}/github`, { method: 'POST' });
      await linked(server, issueId);
      const tries = creates().slice(before);
      assert.deepEqual(tries.map((r) => r.status), [403, 201]);
      assert.ok(tries[1]!.at >= reset * 1000, `retried at ${tries[1]!.at}, reset ${reset * 1000}`);
      assert.match(await (await fetch(`${server.url}/metrics`)).text(), /botpulse_github_calls_total\{result="rate_limited"\} 1/);
    } finally {
      await server.close();
    }
  });

  it('after a timeout on a create GitHub did, the retry finds the issue by its marker: still one issue', async () => {
    const { server } = await start();
    try {
      const issueId = await issueWith(server);
      const issue = (await server.botpulse.store.getIssue(issueId))!;
      fake.failNext('create', { kind: 'hang', afterWork: true });
      await api(server, `/issues/${issueId}/github`, { method: 'POST' });
      const link = await linked(server, issueId);
      const made = fake.repoIssues(REPO).filter((i) => i.body.includes(`botpulse:${issue.shortId}:test-bot`));
      assert.equal(made.length, 1);
      assert.equal(link.number, made[0]!.number);
      assert.match(await (await fetch(`${server.url}/metrics`)).text(), /botpulse_github_issues_found_total 1/);
    } finally {
      await server.close();
    }
  });

  it('a bad token disables the project\'s link, says so in the API, /status and /metrics, and a new token enables it', async () => {
    const { server } = await start({ token: WRONG });
    try {
      const issueId = await issueWith(server);
      await api(server, `/issues/${issueId}/github`, { method: 'POST' });
      const settings = await waitFor('the disabled mark', async () => {
        const s = (await (await api(server, '/projects/test-bot/github')).json()) as { disabled: { reason: string } | null; token: string };
        return s.disabled ? s : null;
      });
      assert.match(settings.disabled!.reason, /401/);
      assert.equal(settings.token, '…WXYZ');
      const refused = await api(server, `/issues/${await issueWith(server)}/github`, { method: 'POST' });
      assert.equal(refused.status, 409);
      assert.match(await refused.text(), /disabled: HTTP 401/);
      assert.ok((await server.botpulse.github.statusLines()).some((l) => l.includes('disabled') && l.includes('401')));
      assert.match(await (await fetch(`${server.url}/metrics`)).text(), /botpulse_github_links_disabled_total 1/);
      const cookie = await dashboardLogin(server);
      assert.match(await (await fetch(`${server.url}/issues/${issueId}`, { headers: { cookie } })).text(), /GitHub link of this project disabled since .*HTTP 401/);
      const put = await api(server, '/projects/test-bot/github', { method: 'PUT', body: JSON.stringify({ token: TOKEN }) });
      assert.equal(put.status, 200);
      assert.equal(((await put.json()) as { disabled: unknown }).disabled, null);
      await linked(server, issueId);
    } finally {
      await server.close();
    }
  });

  it('refuses when GitHub is not configured, and bad settings with 400', async () => {
    const { server } = await start({}, { BOTPULSE_GITHUB: '' });
    try {
      const issueId = await issueWith(server);
      const res = await api(server, `/issues/${issueId}/github`, { method: 'POST' });
      assert.equal(res.status, 409);
      assert.equal((await api(server, '/projects/test-bot/github', { method: 'PUT', body: JSON.stringify({ repo: 'not a repo' }) })).status, 400);
      const bad = await api(server, '/projects/test-bot/github', { method: 'PUT', body: JSON.stringify({ token: 'short' }) });
      assert.equal(bad.status, 400);
      assert.ok(!(await bad.text()).includes('short"'), 'the refused token is not echoed');
    } finally {
      await server.close();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { FakeGithub } from '../test-support/fake-github.js';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../test-support/postgres.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

const skip = await postgresUnavailable();
const TOKEN = 'github_pat_11ABCDEFG0123456789_racerace_race_race_TOKEN';
const REPO = 'acme/race';

/** Polls `check` until it holds (a bound that keeps a broken run from hanging, not a timing claim). */
async function eventually<T>(what: string, check: () => Promise<T | null | false>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('two Botpulse servers on one PostgreSQL database, one GitHub repository', { skip }, () => {
  let schema: TestSchema;
  let fake: FakeGithub;
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    schema = await createTestSchema('github_race');
    fake = await FakeGithub.start({ tokens: { [TOKEN]: 'botpulse-app' }, repos: [REPO] });
    const env = {
      BOTPULSE_DATABASE_URL: schema.url.reveal(),
      BOTPULSE_GITHUB_API_URL: fake.url,
      BOTPULSE_GITHUB: JSON.stringify({ 'test-bot': { repo: REPO, token: TOKEN, autoCreateAt: 3 } }),
      BOTPULSE_GITHUB_TIMEOUT_SECONDS: '1',
    };
    a = await startTestServer(env, { create: { github: { idleMs: 20 } } });
    b = await startTestServer(env, { create: { github: { idleMs: 20 } } });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await fake?.close();
    await schema?.drop();
  });

  async function send(server: TestServer, fn: string): Promise<void> {
    const event = { exception: { values: [{ type: 'RaceError', value: fn, stacktrace: { frames: [{ function: fn, filename: 'src/race.ts', in_app: true }] } }] } };
    const body = serializeEnvelope({ headers: {}, items: [jsonItem('event', event)] });
    const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body });
    assert.equal(res.status, 200, await res.text());
  }

  it('presses, API calls and automatic creation on both servers at once make one GitHub issue per Botpulse issue', async () => {
    assert.equal(a.project.id, b.project.id);
    // One create is answered after GitHub did the work: its retry must find it, not make another.
    fake.failNext('create', { kind: 'hang', afterWork: true });
    const names = ['one', 'two', 'three', 'four', 'five'];
    // Two events each: below the automatic creation's 3, so the API calls race the third event.
    await Promise.all(names.flatMap((n) => [send(a, n), send(b, n)]));
    await eventually('10 events digested', async () => (await a.botpulse.store.listIssues({ projectId: a.project.id, limit: 50 })).issues.reduce((sum, i) => sum + i.eventCount, 0) === 10);
    const { issues } = await a.botpulse.store.listIssues({ projectId: a.project.id, limit: 50 });
    const post = (server: TestServer, id: number) =>
      fetch(`${server.url}/api/v1/issues/${id}/github`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: '{}' });
    const answers = await Promise.all([
      ...issues.flatMap((issue) => Array.from({ length: 6 }, (_, k) => post(k % 2 ? a : b, issue.id))),
      ...names.map((n) => send(a, n)),
    ]);
    for (const res of answers) if (res) assert.ok([200, 202].includes(res.status), String(res.status));
    await eventually('every issue linked', async () => {
      const links = await Promise.all(issues.map((i) => a.botpulse.github.links.getLink(i.id)));
      return links.every((l) => l?.state === 'linked');
    });
    const made = fake.repoIssues(REPO);
    for (const issue of issues) {
      assert.equal(made.filter((g) => g.body.includes(`<!-- botpulse:${issue.shortId}:test-bot -->`)).length, 1, `one GitHub issue for ${issue.shortId}`);
    }
    assert.equal(made.length, issues.length);
    assert.ok(fake.requests.some((r) => r.status === 'hung'), 'the lost answer happened');
  });
});

// The CLI says what it did (issue 16): a taken project name, the issues table, prune's progress,
// through the real, built CLI.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli as botpulse } from '../test-support/cli.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

describe('the CLI says what it did', () => {
  let server: TestServer;
  let env: Record<string, string>;

  before(async () => {
    server = await startTestServer();
    env = { BOTPULSE_DATA_DIR: server.dataDir, BOTPULSE_URL: server.url, BOTPULSE_LOG_LEVEL: 'silent' };
  });
  after(async () => server.close());

  it('refuses a second `project create pay-bot` (the name is taken) instead of making pay-bot-2', async () => {
    const first = await botpulse(['project', 'create', 'pay-bot'], env);
    assert.equal(first.code, 0, first.stderr);
    const second = await botpulse(['project', 'create', 'pay-bot'], env);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /a project with the slug "pay-bot" already exists/);
    const slugs = (await server.botpulse.store.listProjects()).map((p) => p.slug);
    assert.ok(!slugs.includes('pay-bot-2'), slugs.join());
  });

  it('prints the issues table with a header, naming fatal "critical" as the dashboard does', async () => {
    const sent = await botpulse(['send', '--dsn', server.dsn, '--message', 'Payment webhook crashed', '--level', 'critical'], env);
    assert.equal(sent.code, 0, sent.stderr);
    await server.digested();
    const run = await botpulse(['issues', '--project', server.project.slug], env);
    assert.equal(run.code, 0, run.stderr);
    const [header, ...rows] = run.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+STATUS\s+LEVEL\s+EVENTS\s+USERS\s+LAST SEEN\s+TITLE$/);
    const row = rows.find((r) => r.includes('Payment webhook crashed'));
    assert.match(row ?? '', /^B-\d{3}\s+new\s+critical\s+1\s+0\s+(just now|\d+ s ago)\s+Payment webhook crashed$/);
    assert.doesNotMatch(run.stdout, /\bfatal\b/);
  });

  it('`prune` says what it is deleting as it goes (standard error) and the result at the end', async () => {
    const run = await botpulse(['prune'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^botpulse: deleting events received before \d{4}-\d\d-\d\d \d\d:\d\d UTC \(30 days ago\)\.\.\.$/m);
    assert.match(run.stderr, /^botpulse: deleting raw items received before .* UTC/m);
    assert.match(run.stdout, /^pruned \d+ event\(s\) older than 30 days/);
  });
});

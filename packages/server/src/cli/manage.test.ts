// The CLI's management commands (issue 16, CLI parity): user list|remove, token list|revoke,
// project delete, through the real, built CLI.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli as botpulse } from '../test-support/cli.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

describe('the CLI manages users, tokens and projects', () => {
  let server: TestServer;
  let env: Record<string, string>;

  before(async () => {
    server = await startTestServer();
    env = { BOTPULSE_DATA_DIR: server.dataDir, BOTPULSE_URL: server.url, BOTPULSE_LOG_LEVEL: 'silent' };
  });
  after(async () => server.close());

  it('lists and removes users, and lists and revokes tokens, never printing a secret', async () => {
    assert.equal((await botpulse(['user', 'add', 'carol'], env, 'correct horse battery\n')).code, 0);
    const users = await botpulse(['user', 'list'], env);
    assert.match(users.stdout, /^LOGIN\s+ROLE\s+CREATED\n/);
    assert.match(users.stdout, /^carol\s+\w+\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC/m);
    assert.doesNotMatch(users.stdout, /scrypt/);
    const removed = await botpulse(['user', 'remove', 'carol'], env);
    assert.match(removed.stdout, /removed user "carol"/);
    assert.equal(await server.botpulse.store.getUser('carol'), null);

    const token = (await botpulse(['token', 'create', '--label', 'deploy'], env)).stdout.trim();
    const listed = JSON.parse((await botpulse(['token', 'list', '--json'], env)).stdout) as { id: number; label: string }[];
    const deploy = listed.find((t) => t.label === 'deploy')!;
    assert.ok(!JSON.stringify(listed).includes(token));
    const revoked = await botpulse(['token', 'revoke', String(deploy.id)], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    const refused = await fetch(`${server.url}/api/v1/projects`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(refused.status, 403, 'a revoked token stops working');
  });

  it('`project delete` asks for --yes, then deletes the project and its issues', async () => {
    const created = JSON.parse((await botpulse(['project', 'create', 'Doomed Bot', '--json'], env)).stdout) as { slug: string; dsn: string; id: number };
    assert.equal((await botpulse(['send', '--dsn', created.dsn, '--message', 'doomed'], env)).code, 0);
    await server.digested();
    const asked = await botpulse(['project', 'delete', created.slug], env);
    assert.equal(asked.code, 2);
    assert.match(asked.stderr, /deletes project "doomed-bot" \("Doomed Bot"\) with its 1 issue\(s\).*Run again with --yes/);
    assert.ok(await server.botpulse.store.getProject(created.slug), 'nothing deleted without --yes');
    const run = await botpulse(['project', 'delete', created.slug, '--yes'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /deleted project "doomed-bot" and [1-9]\d* row\(s\) of data; its DSN is refused from now/);
    assert.match(run.stderr, /deleting project "doomed-bot"\.\.\./);
    assert.equal(await server.botpulse.store.getProject(created.id), null);
  });
});

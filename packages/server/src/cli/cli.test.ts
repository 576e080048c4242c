import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, startTestServer, type TestServer } from '../test-support/server.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI asynchronously (a test server may be running in this very process). */
function botpulse(args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input ?? '');
  });
}

describe('botpulse CLI', { skip: !existsSync(CLI) && 'run `npm run build` first (npm test does)' }, () => {
  let server: TestServer;
  let env: Record<string, string>;

  before(async () => {
    server = await startTestServer();
    env = { BOTPULSE_DATA_DIR: server.dataDir, BOTPULSE_URL: server.url, BOTPULSE_LOG_LEVEL: 'silent' };
  });
  after(async () => server.close());

  it('creates a project and prints its slug and DSN as JSON', async () => {
    const run = await botpulse(['project', 'create', 'Payments Bot', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const project = JSON.parse(run.stdout);
    assert.equal(project.slug, 'payments-bot');
    assert.equal(project.shortIdPrefix, 'PB');
    assert.match(project.dsn, new RegExp(`^http://[0-9a-f]{32}@127\\.0\\.0\\.1:\\d+/${project.id}$`));
    const list = JSON.parse((await botpulse(['project', 'list', '--json'], env)).stdout);
    assert.ok(list.some((p: { slug: string }) => p.slug === 'payments-bot'));
  });

  it('sends a test event through the endpoint and lists it with `issues --json`', async () => {
    const sent = await botpulse(['send', '--dsn', server.dsn, '--message', 'Webhook timeout after 30s', '--level', 'fatal'], env);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /sent event [0-9a-f]{32}.*200/);
    await server.digested();
    const run = await botpulse(['issues', '--project', server.project.slug, '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const issues = JSON.parse(run.stdout);
    const issue = issues.find((i: { title: string }) => i.title === 'Webhook timeout after 30s');
    assert.ok(issue, run.stdout);
    for (const key of ['shortId', 'title', 'status', 'level', 'count', 'firstSeen', 'lastSeen']) assert.ok(key in issue, key);
    assert.equal(issue.status, 'new');
    assert.equal(issue.level, 'fatal');
    assert.equal(issue.count, 1);
    assert.match(issue.shortId, /^B-\d{3}$/);
  });

  it('creates an API token that the API accepts', async () => {
    const run = await botpulse(['token', 'create', '--label', 'ci'], env);
    const token = run.stdout.trim();
    assert.match(token, /^bp_[\w-]{20,}$/);
    const ok = await fetch(`${server.url}/api/v1/projects`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    const bad = await fetch(`${server.url}/api/v1/projects`, { headers: { authorization: 'Bearer bp_nope' } });
    assert.equal(bad.status, 403);
  });

  it('adds a user with the password from standard input, stored hashed', async () => {
    const run = await botpulse(['user', 'add', 'ann'], env, 'correct horse battery\n');
    assert.equal(run.code, 0, run.stderr);
    const user = await server.botpulse.store.getUser('ann');
    assert.match(user!.passwordHash, /^scrypt\$/);
    assert.ok(!user!.passwordHash.includes('correct horse'));
    const short = await botpulse(['user', 'add', 'bob'], env, 'short\n');
    assert.equal(short.code, 1);
    assert.match(short.stderr, /at least 8 characters/);
  });

  it('links a user to a Telegram account, and says what is wrong with a bad account or an unknown user', async () => {
    const linked = await botpulse(['user', 'telegram', 'ann', '@Ann_Oncall'], env);
    assert.equal(linked.code, 0, linked.stderr);
    assert.match(linked.stdout, /user "ann" linked to Telegram @Ann_Oncall/);
    assert.equal(await server.botpulse.store.loginForTelegram({ id: 1, username: 'ann_oncall' }), 'ann');
    const bad = await botpulse(['user', 'telegram', 'ann', 'not a name!'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /numeric user id .* or the @username/);
    const unknown = await botpulse(['user', 'telegram', 'zed', '12345'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no dashboard user "zed".*botpulse user add zed/);
    const unlinked = await botpulse(['user', 'telegram', 'ann'], env);
    assert.equal(unlinked.code, 0, unlinked.stderr);
    assert.equal(await server.botpulse.store.loginForTelegram({ id: 1, username: 'ann_oncall' }), null);
  });

  it('prunes and migrates', async () => {
    const prune = await botpulse(['prune', '--json'], env);
    assert.equal(prune.code, 0, prune.stderr);
    assert.deepEqual(Object.keys(JSON.parse(prune.stdout)).sort(), ['events', 'latencyMinutes', 'logLines', 'rawItems']);
    const migrate = await botpulse(['migrate'], env);
    assert.match(migrate.stdout, /up to date/);
  });

  it('is installed as the `botpulse` command that the README uses (npx botpulse ...)', async () => {
    const bin = fileURLToPath(new URL('../../../../node_modules/.bin/botpulse', import.meta.url));
    const run = await new Promise<Run>((resolve) =>
      execFile(bin, ['project', 'list', '--json'], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok(JSON.parse(run.stdout).some((p: { slug: string }) => p.slug === server.project.slug));
  });

  it('refuses a bad configuration value and says which key to fix', async () => {
    const run = await botpulse(['project', 'list'], { ...env, BOTPULSE_PORT: 'eighty' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /BOTPULSE_PORT/);
  });
});

describe('botpulse serve on a fresh data directory', { skip: !existsSync(CLI) && 'run `npm run build` first' }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-serve-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates a default project and prints the URL, a DSN and how to log in', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'serve'], {
      env: { ...process.env, BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: String(port), BOTPULSE_LOG_LEVEL: 'warn' },
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner; got: ${out}`)), 20_000);
      child.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.includes('More: npx botpulse --help')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'graceful shutdown exits 0');
    assert.match(out, new RegExp(`running at http://127\\.0\\.0\\.1:${port}`));
    assert.match(out, new RegExp(`DSN: http://[0-9a-f]{32}@127\\.0\\.0\\.1:${port}/1`));
    const tokenFile = join(dataDir, 'initial-api-token');
    assert.ok(out.includes(tokenFile));
    assert.match(readFileSync(tokenFile, 'utf8'), /^bp_/);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    assert.ok(!out.includes(readFileSync(tokenFile, 'utf8').trim()), 'the token itself is not printed');
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import { FakeGithub } from '../test-support/fake-github.js';
import { startTestServer } from '../test-support/server.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TOKEN = 'github_pat_11ABCDEFG0123456789_cli_cli_cli_cli_clTOKEN';

function botpulse(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end('');
  });
}

describe('botpulse github create', { skip: !existsSync(CLI) && 'run `npm run build` first (npm test does)' }, () => {
  let fake: FakeGithub;
  let dataDir: string;
  let shortId: string;
  let env: Record<string, string>;

  before(async () => {
    fake = await FakeGithub.start({ tokens: { [TOKEN]: 'botpulse-app' }, repos: ['acme/cli'] });
    // A server stores one issue and stops: the command works with no server running.
    const server = await startTestServer();
    const body = serializeEnvelope({ headers: {}, items: [jsonItem('event', { exception: { values: [{ type: 'KeyError', value: "'message'" }] } })] });
    assert.equal((await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${server.project.publicKey}`, { method: 'POST', body })).status, 200);
    await server.digested();
    shortId = (await server.botpulse.store.listIssues({ projectId: server.project.id })).issues[0]!.shortId;
    dataDir = server.dataDir;
    await server.close({ keepData: true });
    env = {
      BOTPULSE_DATA_DIR: dataDir,
      BOTPULSE_LOG_LEVEL: 'silent',
      BOTPULSE_GITHUB_API_URL: fake.url,
      BOTPULSE_GITHUB_TOKEN: TOKEN,
      BOTPULSE_GITHUB: JSON.stringify({ 'test-bot': { repo: 'acme/cli' } }),
    };
  });
  after(async () => {
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the GitHub issue and prints its number and URL; a second run answers the same one', async () => {
    const first = await botpulse(['github', 'create', shortId], env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `${shortId}\t#1\thttps://github.example/acme/cli/issues/1\n`);
    const again = await botpulse(['github', 'create', shortId.toLowerCase(), '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    const out = JSON.parse(again.stdout) as { claimed: boolean; link: { number: number; requestedBy: string } };
    assert.deepEqual([out.claimed, out.link.number, out.link.requestedBy], [false, 1, 'cli']);
    assert.equal(fake.repoIssues('acme/cli').length, 1);
    assert.ok(!first.stdout.includes(TOKEN) && !first.stderr.includes(TOKEN));
  });

  it('says what is wrong: an unknown issue, a project without GitHub', async () => {
    const unknown = await botpulse(['github', 'create', 'B-999'], env);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no issue B-999/);
    const off = await botpulse(['github', 'create', shortId], { ...env, BOTPULSE_GITHUB: '', BOTPULSE_GITHUB_TOKEN: '' });
    assert.notEqual(off.code, 0);
  });
});

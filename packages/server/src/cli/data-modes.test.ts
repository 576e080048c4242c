import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test-support/server.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const mode = (path: string) => statSync(path).mode & 0o777;

/** Runs `botpulse serve` with umask 022 (files would be 0644) until its banner, then stops it. */
async function serveOnce(dataDir: string): Promise<{ out: string; logs: Record<string, unknown>[] }> {
  const port = await freePort();
  const child = spawn('/bin/sh', ['-c', 'umask 022 && exec "$0" "$@"', process.execPath, CLI, 'serve'], {
    env: { ...process.env, BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: String(port), BOTPULSE_LOG_LEVEL: 'warn' },
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner; got: ${out}`)), 30_000);
    child.stdout.on('data', () => {
      if (out.includes('More: npx botpulse --help')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  const logs = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { out, logs };
}

function assertPrivate(dataDir: string): void {
  assert.equal(mode(dataDir).toString(8), '700', 'the data directory');
  const files = readdirSync(dataDir);
  for (const expected of ['botpulse.db', 'botpulse-spool.db', 'initial-api-token', 'initial-admin-password']) assert.ok(files.includes(expected), expected);
  for (const file of files) assert.equal(mode(join(dataDir, file)).toString(8), '600', file);
}

describe('data files are private to the owner', { skip: !statSync(CLI, { throwIfNoEntry: false }) && 'run `npm run build` first' }, () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'botpulse-modes-')), 'data');
  after(() => rmSync(join(dataDir, '..'), { recursive: true, force: true }));

  it('creates the data directory 0700 and every file in it 0600, even with umask 022', async () => {
    const { logs } = await serveOnce(dataDir);
    assertPrivate(dataDir);
    assert.ok(!logs.some((l) => /readable by other users/.test(String(l.msg))), 'nothing to tighten on a fresh start');
  });

  it('tightens a directory and files left readable by others at the next start, and logs it', async () => {
    chmodSync(dataDir, 0o755);
    for (const file of readdirSync(dataDir)) chmodSync(join(dataDir, file), 0o644);
    const { logs } = await serveOnce(dataDir);
    assertPrivate(dataDir);
    const tightenedPaths = logs
      .filter((l) => /readable by other users/.test(String(l.msg)))
      .flatMap((l) => (l.tightened as { path: string; from: string; to: string }[]).map((t) => `${t.path} ${t.from}→${t.to}`));
    for (const name of ['botpulse.db', 'botpulse-spool.db', 'initial-api-token', 'initial-admin-password']) {
      assert.ok(tightenedPaths.includes(`${join(dataDir, name)} 644→600`), `${name} in the log: ${tightenedPaths.join(', ')}`);
    }
    assert.ok(tightenedPaths.includes(`${dataDir} 755→700`), 'the directory in the log');
  });
});

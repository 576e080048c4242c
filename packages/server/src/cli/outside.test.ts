// The CLI outside a running setup (issue 16): --version (also before the first build), a port in
// use, the lock holder's time, through the real, built CLI.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { assertNoStack, runCli as botpulse, SERVER_PACKAGE as PACKAGE } from '../test-support/cli.js';

const REDIS_URL = process.env.BOTPULSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('the CLI outside a running setup', () => {
  it('`--version` prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(PACKAGE, 'utf8'));
    const run = await botpulse(['--version'], {});
    assert.equal(run.stdout, `${version}\n`);
  });

  it('`--version` answers through the bin script before the first build', async () => {
    const pkg = mkdtempSync(join(tmpdir(), 'botpulse-unbuilt-'));
    try {
      mkdirSync(join(pkg, 'bin'));
      copyFileSync(fileURLToPath(new URL('../../bin/botpulse.mjs', import.meta.url)), join(pkg, 'bin', 'botpulse.mjs'));
      copyFileSync(PACKAGE, join(pkg, 'package.json'));
      const { version } = JSON.parse(readFileSync(PACKAGE, 'utf8'));
      const run = await botpulse(['--version'], {}, '', join(pkg, 'bin', 'botpulse.mjs'));
      assert.equal(run.stdout, `${version}\n`, run.stderr);
      const other = await botpulse(['project', 'list'], {}, '', join(pkg, 'bin', 'botpulse.mjs'));
      assert.equal(other.code, 1);
      assert.match(other.stderr, /not built yet; run `npm run build`/);
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });

  it('a port in use names BOTPULSE_PORT and creates nothing: no data directory, no credential files', async () => {
    const taken: Server = createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
    const parent = mkdtempSync(join(tmpdir(), 'botpulse-port-'));
    const dataDir = join(parent, 'data');
    try {
      const run = await botpulse(['serve'], { BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: String(port), BOTPULSE_LOG_LEVEL: 'silent' });
      assert.equal(run.code, 1);
      assert.match(run.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*set BOTPULSE_PORT to a free port, e\\.g\\. BOTPULSE_PORT=${port + 1}\\. Nothing was created\\.`));
      assert.equal(existsSync(dataDir), false, 'no data directory (and so no database, no initial token or password file)');
      assertNoStack(run);
    } finally {
      taken.close();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('`lock status` prints the holder\'s time for a person: UTC minute and how long ago', async () => {
    const redis = new Redis(REDIS_URL);
    const key = `botpulse-cli-test-${process.pid}-${Date.now()}`;
    try {
      const since = new Date(Date.now() - 5 * 60_000 - 10_000).toISOString();
      await redis.set(key, JSON.stringify({ host: 'box-1', pid: 4242, env: 'production', ts: since }), 'EX', 60);
      const run = await botpulse(['lock', 'status', '--redis', REDIS_URL, '--key', key], {});
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /held by host box-1 pid 4242 \(production, since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(5 min ago\)\), expires in \d+\.\d s; live/);
      assert.ok(!run.stdout.includes(since), 'not the ISO string');
      // A tool that writes epoch seconds (the seed's Python bot: time.time()) reads the same way.
      await redis.set(key, JSON.stringify({ host: 'box-2', pid: 7, env: '', ts: String(Date.now() / 1000 - 7200) }));
      const epoch = await botpulse(['lock', 'status', '--redis', REDIS_URL, '--key', key], {});
      assert.match(epoch.stdout, /since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(2 h ago\)\), no expiry; stale/);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });
});

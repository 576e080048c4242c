import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { migrations } from '../store/migrations/index.js';
import { createTestSchema, postgresUnavailable } from '../test-support/postgres.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const SECRET = 'n0t-For-Logs-9431';
const built = existsSync(CLI);
const noPostgres = built && (await postgresUnavailable());

function botpulse(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('`botpulse migrate` on PostgreSQL', { skip: (!built && 'run `npm run build` first (npm test does)') || noPostgres }, () => {
  it('applies every migration once, then finds the schema up to date', async () => {
    const schema = await createTestSchema('cli_migrate');
    try {
      const env = { BOTPULSE_LOG_LEVEL: 'silent', BOTPULSE_DATABASE_URL: schema.url.reveal() };
      const first = await botpulse(['migrate'], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, new RegExp(`^applied ${Object.keys(migrations).length} migration\\(s\\)$`, 'm'));
      const again = await botpulse(['migrate'], env);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /database is up to date/);
    } finally {
      await schema.drop();
    }
  });
});

describe('the CLI on PostgreSQL', { skip: (!built && 'run `npm run build` first (npm test does)') || noPostgres }, () => {
  it('creates and lists projects and tokens in the database, and never creates a SQLite file', async () => {
    const schema = await createTestSchema('cli_store');
    const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-pg-cli-'));
    try {
      const env = { BOTPULSE_DATA_DIR: dataDir, BOTPULSE_LOG_LEVEL: 'silent', BOTPULSE_DATABASE_URL: schema.url.reveal() };
      const created = await botpulse(['project', 'create', 'Shop Bot'], env);
      assert.equal(created.code, 0, created.stderr);
      const listed = await botpulse(['project', 'list', '--json'], env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual((JSON.parse(listed.stdout) as { slug: string }[]).map((p) => p.slug), ['shop-bot']);
      const token = await botpulse(['token', 'create'], env);
      assert.equal(token.code, 0, token.stderr);
      assert.match(token.stdout, /^bp_/);
      assert.deepEqual(readdirSync(dataDir), [], 'no SQLite file was created');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await schema.drop();
    }
  });
});

describe('a postgres:// BOTPULSE_DATABASE_URL that cannot be reached', { skip: !built && 'run `npm run build` first (npm test does)' }, () => {
  for (const args of [['serve'], ['project', 'list']]) {
    it(`\`botpulse ${args.join(' ')}\` stops at start naming the server without its password, and never falls back to SQLite`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-pg-refusal-'));
      try {
        // Port 1: nothing listens there.
        const run = await botpulse(args, { BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: '0', BOTPULSE_LOG_LEVEL: 'silent', BOTPULSE_DATABASE_URL: `postgres://bot:${SECRET}@127.0.0.1:1/botpulse` });
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.match(run.stderr, /cannot use PostgreSQL at postgres:\/\/bot:\*\*\*@127\.0\.0\.1:1\/botpulse/);
        assert.ok(!(run.stdout + run.stderr).includes(SECRET), 'the password is never printed');
        assert.deepEqual(readdirSync(dataDir), [], 'no SQLite file was created');
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});

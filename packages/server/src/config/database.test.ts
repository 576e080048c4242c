import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { ConfigError, loadConfig } from './load.js';

const SECRET = 's3cr3t-Pa55word';

describe('database configuration', () => {
  it('is the embedded SQLite file when BOTPULSE_DATABASE_URL is unset', () => {
    const config = loadConfig({ BOTPULSE_DATA_DIR: '/tmp/bp-data' });
    assert.deepEqual(config.database, { kind: 'sqlite', file: '/tmp/bp-data/botpulse.db' });
  });

  it('selects PostgreSQL from postgres:// or postgresql://, with a bounded pool and a statement timeout', () => {
    for (const url of [`postgres://bot:${SECRET}@db:5432/botpulse`, `postgresql://bot:${SECRET}@db/botpulse?sslmode=require`]) {
      const { database } = loadConfig({ BOTPULSE_DATABASE_URL: url });
      assert.equal(database.kind, 'postgres');
      if (database.kind !== 'postgres') continue;
      assert.equal(database.url.reveal(), url);
      assert.equal(database.poolMax, 10);
      assert.equal(database.statementTimeoutMs, 30_000);
    }
    const tuned = loadConfig({ BOTPULSE_DATABASE_URL: 'postgres://db/x', BOTPULSE_DATABASE_POOL_MAX: '3', BOTPULSE_DATABASE_STATEMENT_TIMEOUT_MS: '0' }).database;
    assert.deepEqual(tuned.kind === 'postgres' && [tuned.poolMax, tuned.statementTimeoutMs], [3, 0]);
    assert.throws(() => loadConfig({ BOTPULSE_DATABASE_URL: 'postgres://db/x', BOTPULSE_DATABASE_POOL_MAX: '0' }), /BOTPULSE_DATABASE_POOL_MAX/);
  });

  it('reads the URL from BOTPULSE_DATABASE_URL_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-dburl-'));
    try {
      writeFileSync(join(dir, 'url'), `postgres://bot:${SECRET}@db/botpulse\n`);
      const { database } = loadConfig({ BOTPULSE_DATABASE_URL_FILE: join(dir, 'url') });
      assert.equal(database.kind === 'postgres' && database.url.reveal(), `postgres://bot:${SECRET}@db/botpulse`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses another scheme or a broken URL, naming the key and never quoting the password', () => {
    for (const url of [`mysql://bot:${SECRET}@db/botpulse`, `postgres://bot:${SECRET}@[not-a-host/botpulse`, `bot:${SECRET}@db`]) {
      assert.throws(
        () => loadConfig({ BOTPULSE_DATABASE_URL: url }),
        (err: Error) => err instanceof ConfigError && /BOTPULSE_DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/.test(err.message) && !err.message.includes(SECRET),
        url,
      );
    }
  });

  it('never shows the password: not in String(), JSON, util.inspect, nor a pino line of the whole config', () => {
    const config = loadConfig({ BOTPULSE_DATABASE_URL: `postgres://bot:${SECRET}@db:5432/botpulse?password=${SECRET}` });
    assert.equal(config.database.kind, 'postgres');
    const lines: string[] = [];
    pino({}, { write: (line: string) => void lines.push(line) }).info({ config }, 'config');
    for (const shown of [String(config.database.kind === 'postgres' && config.database.url), JSON.stringify(config), inspect(config, { depth: 10 }), lines.join('')]) {
      assert.ok(!shown.includes(SECRET), shown);
    }
    assert.match(JSON.stringify(config), /postgres:\/\/bot:\*\*\*@db:5432\/botpulse/, 'the rest of the URL stays readable');
    assert.equal(config.database.kind === 'postgres' && config.database.url.scrub(`could not connect with ${SECRET}`), 'could not connect with ***');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestSchema, postgresUnavailable, TEST_POSTGRES_URL, type TestSchema } from '../../test-support/postgres.js';
import { PostgresDatabase } from './database.js';

const skip = await postgresUnavailable();

describe('the PostgreSQL pool', { skip }, () => {
  let schema: TestSchema;
  before(async () => (schema = await createTestSchema('pool')));
  after(async () => schema?.drop());

  it('survives its idle connections being killed (as by a PostgreSQL restart): reported, never thrown, and the next query reconnects', async () => {
    const applicationName = `botpulse-test-${process.pid}-${Date.now()}`;
    const idleErrors: Error[] = [];
    const database = await PostgresDatabase.open(schema.options({ applicationName, onIdleError: (err) => idleErrors.push(err) }), { migrate: false });
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    try {
      await Promise.all([1, 2].map(() => database.pool.query('SELECT pg_sleep(0.05)'))); // two idle connections in the pool
      const { rows } = await admin.query('SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      assert.ok(rows.length >= 1 && rows.every((r) => r.killed));
      while (idleErrors.length < rows.length) await new Promise((resolve) => setImmediate(resolve)); // the pool hears of it
      assert.match(idleErrors[0]!.message, /terminat/);
      assert.deepEqual((await database.pool.query('SELECT 41 + 1 AS n')).rows, [{ n: 42 }]);
    } finally {
      await admin.end();
      await database.close();
    }
  });

  it('closes its connections on close(), also when no query went through Kysely (so a CLI command exits at once)', async () => {
    const database = await PostgresDatabase.open(schema.options(), { migrate: false });
    assert.ok(database.pool.totalCount >= 1, 'the connection check left a pooled connection');
    await database.close();
    assert.equal(database.pool.ended, true);
    assert.equal(database.pool.totalCount, 0, 'no idle connection keeps the process alive');
  });

  it('bounds the pool and has PostgreSQL cancel a statement that runs past the timeout', async () => {
    const database = await PostgresDatabase.open(schema.options({ poolMax: 2, statementTimeoutMs: 200 }), { migrate: false });
    try {
      assert.equal(database.pool.options.max, 2);
      await assert.rejects(database.pool.query('SELECT pg_sleep(5)'), /canceling statement due to statement timeout/);
      assert.deepEqual((await database.pool.query('SELECT 1 AS ok')).rows, [{ ok: 1 }], 'the connection is usable after the cancel');
    } finally {
      await database.close();
    }
  });

  it('reads bigint as numbers and refuses to round one past 2^53', async () => {
    const database = await PostgresDatabase.open(schema.options(), { migrate: false });
    try {
      assert.deepEqual((await database.pool.query('SELECT 1733400000000::bigint AS t, SUM(x) AS s FROM (VALUES (2::bigint), (3::bigint)) v(x)')).rows, [{ t: 1733400000000, s: 5 }]);
      await assert.rejects(database.pool.query('SELECT 9007199254740993::bigint AS t'), /does not fit a JavaScript number/);
    } finally {
      await database.close();
    }
  });
});

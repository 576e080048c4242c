import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { postgresUnavailable, TEST_POSTGRES_URL } from '../test-support/postgres.js';
import { databaseUnavailable, isDatabaseUnavailable } from './errors.js';

const skip = await postgresUnavailable();

/** The error a real node-postgres call fails with. */
async function failure(connectionString: string, statement: string): Promise<unknown> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(statement);
  } catch (err) {
    return err;
  } finally {
    await client.end().catch(() => {});
  }
  assert.fail(`${statement} did not fail`);
}

describe('isDatabaseUnavailable: real node-postgres failures', { skip }, () => {
  it('says "away" for a refused connection and a session the server terminated', async () => {
    assert.equal(isDatabaseUnavailable(await failure('postgres://postgres@127.0.0.1:1/test', 'SELECT 1')), true, 'ECONNREFUSED');
    assert.equal(isDatabaseUnavailable(await failure(TEST_POSTGRES_URL, 'SELECT pg_terminate_backend(pg_backend_pid())')), true, '57P01 admin shutdown');
  });

  it('says "wrong" for errors a retry would not fix', async () => {
    assert.equal(isDatabaseUnavailable(await failure(TEST_POSTGRES_URL, 'SELEC 1')), false, 'syntax error');
    assert.equal(isDatabaseUnavailable(await failure(TEST_POSTGRES_URL, 'SELECT 1/0')), false, 'division by zero');
    assert.equal(isDatabaseUnavailable(await failure(TEST_POSTGRES_URL, 'SELECT * FROM no_such_table_anywhere')), false, 'undefined table');
    assert.equal(isDatabaseUnavailable(new Error('boom')), false);
    assert.equal(isDatabaseUnavailable('ECONNREFUSED'), false, 'not an Error');
  });

  it('answers 503 with Retry-After', () => {
    const err = databaseUnavailable();
    assert.equal(err.status, 503);
    assert.deepEqual(err.headers, { 'Retry-After': '5' });
  });
});

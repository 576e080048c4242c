// PostgreSQL for the tests: BOTPULSE_TEST_DATABASE_URL (default the machine's server,
// postgres://postgres@127.0.0.1:5432/test). Each test file works in a schema of its own, dropped
// at the end, so parallel files never see each other's rows. When the server is unreachable the
// PostgreSQL tests are skipped with a loud notice, except under CI where they fail.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DatabaseUrl } from '../lib/database-url.js';
import type { PostgresOptions } from '../store/postgres/database.js';

export const TEST_POSTGRES_URL = process.env['BOTPULSE_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Resolves to a skip reason (string) when PostgreSQL is unreachable outside CI; throws under CI. */
export async function postgresUnavailable(): Promise<string | false> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return false;
  } catch (error) {
    const reason = `PostgreSQL at ${new DatabaseUrl(TEST_POSTGRES_URL).redacted} is unreachable (${(error as Error).message})`;
    if (process.env['CI']) throw new Error(`${reason}; CI requires it`);
    console.warn(`\n!!! SKIPPING PostgreSQL tests: ${reason} !!!\n`);
    return reason;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface TestSchema {
  /** The schema's name (`bp_<label>_<pid>_<random>`). */
  name: string;
  /** A URL whose connections use only this schema (`options=-c search_path=<name>`). */
  url: DatabaseUrl;
  options(over?: Partial<PostgresOptions>): PostgresOptions;
  drop(): Promise<void>;
}

/** A new empty schema for one test file. */
export async function createTestSchema(label: string): Promise<TestSchema> {
  await dropSchemasOfDeadRuns();
  const name = `bp_${label.toLowerCase().replace(/[^a-z0-9]+/g, '_')}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE SCHEMA ${name}`);
  const url = new URL(TEST_POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${name}`);
  const dbUrl = new DatabaseUrl(url.toString());
  return {
    name,
    url: dbUrl,
    options: (over = {}) => ({ url: dbUrl, poolMax: 4, statementTimeoutMs: 30_000, ...over }),
    drop: async () => void (await admin(`DROP SCHEMA IF EXISTS ${name} CASCADE`)),
  };
}

/**
 * Schemas left by test processes that were killed before their `after` hook (their pid is in the
 * name and no longer runs on this machine): dropped so they do not pile up in the shared database.
 */
async function dropSchemasOfDeadRuns(): Promise<void> {
  const { rows } = await admin(`SELECT nspname AS name FROM pg_namespace WHERE nspname ~ '^bp_[a-z0-9_]+_[0-9]+_[0-9a-f]{8}$'`);
  for (const { name } of rows as { name: string }[]) {
    const pid = Number(/_([0-9]+)_[0-9a-f]{8}$/.exec(name)![1]);
    if (!isAlive(pid)) await admin(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
  }
}

/** Whether a process of this machine still runs (a test run that left a schema or a cluster behind). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

async function admin(statement: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return await client.query(statement);
  } finally {
    await client.end();
  }
}

// Several real `botpulse serve` processes on one PostgreSQL schema (issue 12): each in its own
// process (so it can be killed with SIGKILL) and its own data directory (what is per machine),
// all with BOTPULSE_DATABASE_URL pointing at one per-test schema (test-support/postgres.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { TestSchema } from '../../../packages/server/src/test-support/postgres.js';
import { freePort } from '../../../packages/server/src/test-support/server.js';
import { reapOnExit } from '../support/children.js';

export const CLI = fileURLToPath(new URL('../../../packages/server/dist/cli/main.js', import.meta.url));

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `condition` until it holds; the deadline only keeps a broken run from hanging (no timing claim). */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export interface ServeProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
  alive(): boolean;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** `botpulse serve` on the schema, answering /health before it resolves. */
export async function startServe(schema: TestSchema, env: Record<string, string> = {}): Promise<ServeProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'botpulse-pg-proc-'));
  const child = reapOnExit(spawn(process.execPath, [CLI, 'serve'], {
    env: {
      ...process.env,
      BOTPULSE_DATA_DIR: dataDir,
      BOTPULSE_PORT: String(port),
      BOTPULSE_LOG_LEVEL: 'warn',
      BOTPULSE_DATABASE_URL: schema.url.reveal(),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  }));
  child.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  const url = `http://127.0.0.1:${port}`;
  const alive = () => child.exitCode === null && child.signalCode === null;
  const exited = () => new Promise<void>((r) => (alive() ? child.once('exit', () => r()) : r()));
  await waitUntil(async () => {
    if (!alive()) throw new Error(`botpulse serve exited with ${child.exitCode ?? child.signalCode}`);
    try {
      return (await fetch(`${url}/health`)).ok;
    } catch {
      return false; // not listening yet
    }
  }, 'botpulse serve to start', 90_000);
  return {
    child,
    pid: child.pid!,
    port,
    url,
    alive,
    async kill9() {
      child.kill('SIGKILL');
      await exited();
    },
    async stop() {
      if (!alive()) return;
      child.kill('SIGTERM');
      await exited();
    },
  };
}

/** One short-lived connection to the schema, for the tests' own counting queries. */
export async function query<T extends Record<string, unknown>>(schema: TestSchema, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: schema.url.reveal() });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function firstProject(schema: TestSchema): Promise<{ id: number; publicKey: string }> {
  const [row] = await query<{ id: number; public_key: string }>(schema, 'SELECT id, public_key FROM projects ORDER BY id LIMIT 1');
  if (!row) throw new Error('no project in the schema');
  return { id: Number(row.id), publicKey: row.public_key };
}

/** The holder of a lease (`alert_leases`), as `host:pid:random`, or null when nobody holds it now. */
export async function leaseHolderPid(schema: TestSchema, name: string): Promise<number | null> {
  const [row] = await query<{ holder: string }>(schema, 'SELECT holder FROM alert_leases WHERE name = $1 AND until > $2', [name, Date.now()]);
  return row ? Number(row.holder.split(':').at(-2)) : null;
}

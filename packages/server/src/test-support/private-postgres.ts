// A PostgreSQL cluster of the test's own (initdb + pg_ctl in a temporary directory, on a free port
// of 127.0.0.1), for tests that stop and start the database: the machine's shared server must
// never be restarted by a test. Binaries come from BOTPULSE_TEST_PG_BIN or the newest
// /usr/lib/postgresql/<version>/bin. As in postgres.ts: when they are missing the tests are skipped
// with a loud notice, except under CI where they fail.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isAlive } from './postgres.js';
import { freePort } from './server.js';

const run = promisify(execFile);

/** The directory holding initdb, pg_ctl and postgres, or null. */
function findBinaries(): string | null {
  const override = process.env['BOTPULSE_TEST_PG_BIN'];
  if (override) return hasBinaries(override) ? override : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (hasBinaries(join(root, v, 'bin'))) return join(root, v, 'bin');
  return null;
}

const hasBinaries = (dir: string) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)));

/**
 * initdb and postgres refuse to run as root: under root the cluster belongs to this user, whose
 * uid/gid the child processes take (Node's spawn `uid`/`gid`, no runuser or sudo needed).
 */
const CLUSTER_USER = process.env['BOTPULSE_TEST_PG_USER'] ?? 'postgres';

interface RunAs {
  uid: number;
  gid: number;
}

async function runAsFor(): Promise<RunAs | null> {
  if (process.getuid?.() !== 0) return null;
  const { stdout: uid } = await run('id', ['-u', CLUSTER_USER]);
  const { stdout: gid } = await run('id', ['-g', CLUSTER_USER]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** Resolves to a skip reason (string) when no private cluster can be made outside CI; throws under CI. */
export async function privatePostgresUnavailable(): Promise<string | false> {
  let reason: string | null = null;
  if (!findBinaries()) reason = 'no PostgreSQL binaries (initdb, pg_ctl, postgres) in /usr/lib/postgresql/<version>/bin or BOTPULSE_TEST_PG_BIN';
  else {
    try {
      await runAsFor();
    } catch (error) {
      reason = `running as root and there is no user "${CLUSTER_USER}" to own the cluster (${(error as Error).message.trim()})`;
    }
  }
  if (!reason) return false;
  if (process.env['CI']) throw new Error(`a private PostgreSQL cluster cannot be made: ${reason}; CI requires it`);
  console.warn(`\n!!! SKIPPING private PostgreSQL tests: ${reason} !!!\n`);
  return reason;
}

export interface PrivatePostgres {
  /** postgres://<superuser>@127.0.0.1:<port>/postgres (trust authentication, 127.0.0.1 only). */
  url: string;
  port: number;
  /** `pg_ctl stop`: `fast` rolls back open transactions and closes every connection (a restart). */
  stop(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  /** `pg_ctl start -w`, on the same port and data (nothing to do when it runs). */
  start(): Promise<void>;
  /** The server log so far (for a failing test's message). */
  log(): string;
  /** Stops the cluster if it runs and removes its directory. */
  destroy(): Promise<void>;
}

/** initdb in a new temporary directory, then starts the cluster. */
export async function startPrivatePostgres(label = 'botpulse'): Promise<PrivatePostgres> {
  const bin = findBinaries();
  if (!bin) throw new Error('no PostgreSQL binaries; call privatePostgresUnavailable() first');
  const runAs = await runAsFor();
  await stopClustersOfDeadRuns(bin, runAs);
  const dir = mkdtempSync(join(tmpdir(), `${label}-pg-${process.pid}-`));
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  const superuser = runAs ? CLUSTER_USER : userInfo().username;
  const pgCtl = (args: string[]) => run(join(bin, 'pg_ctl'), ['-D', data, ...args], { ...runAs, cwd: dir });
  let running = false;

  await run(join(bin, 'initdb'), ['-D', data, '-U', superuser, '--auth=trust', '-E', 'UTF8', '--no-sync'], { ...runAs, cwd: dir });
  const cluster: PrivatePostgres = {
    url: `postgres://${superuser}@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      if (running) return;
      // fsync off: the test restarts the server cleanly, never the machine, so nothing needs it.
      const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off`;
      await pgCtl(['start', '-w', '-t', '120', '-l', logFile, '-o', options]);
      running = true;
    },
    async stop(mode = 'fast') {
      await pgCtl(['stop', '-w', '-t', '120', '-m', mode]);
      running = false;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async destroy() {
      if (running) await cluster.stop('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await cluster.start();
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}

/**
 * Clusters left by test processes that were killed before their `after` hook (their pid is in the
 * directory's name and no longer runs): stopped and removed, so they do not pile up on the machine.
 */
async function stopClustersOfDeadRuns(bin: string, runAs: RunAs | null): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    const pid = /-pg-(\d+)-[A-Za-z0-9]{6}$/.exec(name)?.[1];
    const dir = join(tmpdir(), name);
    if (!pid || isAlive(Number(pid)) || !existsSync(join(dir, 'data', 'PG_VERSION'))) continue;
    await run(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), 'stop', '-m', 'immediate'], { ...runAs, cwd: dir }).catch(() => {}); // not running: nothing to stop
    rmSync(dir, { recursive: true, force: true });
  }
}


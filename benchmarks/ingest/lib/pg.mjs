// PostgreSQL side of the ingest benchmark: one fresh database per row on the machine's server, what
// the row's Botpulse processes left in it (spool, events, issues), the connections they hold and the
// CPU of the backends serving them. Uses the `pg` client the server itself depends on.
//
// Also runnable, so run.mjs can drop its databases synchronously while it exits:
//   node lib/pg.mjs drop <admin url> <database>...
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const pg = createRequire(join(resolve(HERE, '../../../packages/server'), 'package.json'))('pg');

/** Our own connections say so, so that they are left out of the counts and the CPU figures. */
export const BENCH_APP_NAME = 'botpulse-bench';
const DB_PREFIX = 'botpulse_bench_';
/** Our databases' names, exactly: only such a name is ever put into a DROP statement. */
const OUR_DATABASE = /^botpulse_bench_(\d+)_\d+$/;

/** The same server and credentials as `adminUrl`, another database. */
export function urlForDatabase(adminUrl, database) {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The URL without its password, for the console and the JSON. */
export function redactUrl(url) {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url, application_name: BENCH_APP_NAME });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database for one row; the name carries our pid so leftovers can be told apart. */
export async function createDatabase(adminUrl, rowIndex) {
  const name = `${DB_PREFIX}${process.pid}_${rowIndex}`;
  await withClient(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  return name;
}

export async function dropDatabase(adminUrl, name) {
  if (!OUR_DATABASE.test(name)) throw new Error(`not a benchmark database: ${name}`);
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Drops databases a benchmark run left when it was killed (its pid is gone). Returns their names. */
export async function dropOrphans(adminUrl) {
  return withClient(adminUrl, async (c) => {
    const { rows } = await c.query(`SELECT datname FROM pg_database WHERE datname LIKE '${DB_PREFIX}%'`);
    const dropped = [];
    for (const { datname } of rows) {
      const pid = Number(OUR_DATABASE.exec(datname)?.[1]);
      if (!pid || pidAlive(pid)) continue;
      await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      dropped.push(datname);
    }
    return dropped;
  });
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Version and the settings that shape the figures, for the JSON. */
export async function serverInfo(adminUrl) {
  return withClient(adminUrl, async (c) => {
    const version = (await c.query('SHOW server_version')).rows[0].server_version;
    const names = ['max_connections', 'shared_buffers', 'synchronous_commit', 'fsync', 'wal_level', 'max_wal_size'];
    const { rows } = await c.query('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [names]);
    const settings = Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting]));
    return { version, settings };
  });
}

/**
 * A monitoring connection to one row's database. `progress()` is what /health says for SQLite, but
 * read from the tables every process shares: the spool still to digest and the events stored.
 * `activity()` lists the other connections to this database (the Botpulse processes' pools, their
 * digest threads, leases) with their backend pids.
 */
export async function openMonitor(url, database) {
  const client = new pg.Client({ connectionString: url, application_name: BENCH_APP_NAME });
  await client.connect();
  // Each of our statements is a transaction of its own; counted so they can be left out of the
  // database's commit count.
  let ownQueries = 0;
  const query = (...args) => {
    ownQueries += 1;
    return client.query(...args);
  };
  // The progress poll runs every 250 ms during the load, on the machine being measured. As plain
  // seq scans, its two counts went parallel once the events table grew: PostgreSQL forked two
  // worker processes per poll, about a third of a core taken from the row it measures (perf, c=8:
  // 42 short-lived backends, 16% of the 2 cores' samples). Counted through the primary keys,
  // without parallel workers, a poll costs what the server's own backlog count costs.
  await query('SET max_parallel_workers_per_gather = 0; SET enable_seqscan = off; SET enable_bitmapscan = off');
  return {
    async progress() {
      const { rows } = await query('SELECT (SELECT count(*) FROM spool)::int AS backlog, (SELECT count(*) FROM events)::int AS events');
      return rows[0];
    },
    async activity() {
      const { rows } = await query(
        'SELECT pid, application_name AS app FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> $2',
        [database, BENCH_APP_NAME],
      );
      return rows;
    },
    /**
     * After the row's processes exited (their statistics are flushed then): what is stored, and the
     * transactions committed in this database by them (ours left out; approximate, since our own
     * statistics reach pg_stat_database at most once a second).
     */
    async contents() {
      const { rows } = await query(
        `SELECT (SELECT count(*) FROM issues)::int AS issues, (SELECT count(*) FROM events)::int AS events,
                pg_database_size(current_database())::float8 AS bytes,
                (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())::float8 AS commits`,
      );
      return { ...rows[0], commits: Math.max(0, rows[0].commits - ownQueries) };
    },
    close: () => client.end(),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [cmd, adminUrl, ...names] = process.argv.slice(2);
  if (cmd !== 'drop' || !adminUrl) {
    console.error('usage: node lib/pg.mjs drop <admin url> <database>...');
    process.exit(2);
  }
  for (const name of names) if (OUR_DATABASE.test(name)) await dropDatabase(adminUrl, name).catch((err) => console.error(`bench: drop ${name}: ${err.message}`));
}

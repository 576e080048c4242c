import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient, type DatabaseIntrospector, type SchemaMetadata, type TableMetadata } from 'kysely';
import pg from 'pg';
import type { DatabaseUrl } from '../../lib/database-url.js';
import { applyMigrations } from '../migrations/apply.js';

export interface PostgresOptions {
  url: DatabaseUrl;
  /** Connections this process may hold at once. */
  poolMax: number;
  /** PostgreSQL cancels a statement running longer (`statement_timeout`); 0: no limit. */
  statementTimeoutMs: number;
  /**
   * An idle pooled connection failed (PostgreSQL restarted, the network dropped it). pg-pool has
   * already thrown that connection away and opens a new one on the next query; without a
   * listener the error would crash the process. The message is scrubbed of the URL's password.
   */
  onIdleError?: (err: Error) => void;
  /** How this process's sessions show in pg_stat_activity (default `botpulse`). */
  applicationName?: string;
}

/** How long a query waits for a free pooled connection (or a new one) before it fails instead of hanging. */
const CONNECT_TIMEOUT_MS = 10_000;

/** pg_advisory_lock key of `migrate`: any constant of ours ("botp" in ASCII). */
const MIGRATION_LOCK = 0x626f7470;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Botpulse stores times (ms), ids and counts as `bigint`, and node-postgres returns bigint as a
 * string by default (it may not fit a JS number). Every such value of ours fits: read them as
 * numbers, and fail loudly rather than round one that does not.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${text} does not fit a JavaScript number`);
  return n;
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return parseInt8;
    if (oid === NUMERIC_OID) return Number; // SUM() of bigint columns
    return pg.types.getTypeParser(oid, format);
  },
};

/** A bounded pool for this process. */
export function createPostgresPool(opts: PostgresOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url.reveal(),
    max: opts.poolMax,
    statement_timeout: opts.statementTimeoutMs,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: opts.applicationName ?? 'botpulse',
    types,
  });
  pool.on('error', (err) => opts.onIdleError?.(scrubbed(err, opts.url)));
  // pg-pool listens for errors of idle connections only. A connection that breaks while checked
  // out between two queries (inside a transaction) emits 'error' with no listener, which would
  // crash the process. Its next query fails instead ("not queryable"), the pool drops it on
  // release, and an idle one is still reported through the pool's 'error' above.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Kysely over a pool (the pool is closed with it). */
export function createPostgresKysely<DB = any>(pool: pg.Pool): Kysely<DB> {
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) });
}

/**
 * The pool as Kysely sees it: a statement whose text starts with PREPARED_MARK (query.ts
 * `prepared`) is sent as a named prepared statement, named after its text, so each connection
 * parses and plans it once instead of at every execution (the digest's ~15 statements per batch).
 * Only statements whose text does not vary with their values may be marked: each distinct text is
 * one prepared statement kept per connection.
 */
function preparingPool(pool: pg.Pool): PostgresPool {
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let w = wrapped.get(client);
      if (!w) {
        w = {
          query: ((text: unknown, values?: unknown[]) =>
            typeof text === 'string' && text.startsWith(PREPARED_MARK)
              ? client.query({ name: statementName(text), text, values: values ?? [] })
              : client.query(text as string, values)) as unknown as PostgresPoolClient['query'],
          release: (err?: Error | boolean) => client.release(err),
        };
        wrapped.set(client, w);
      }
      return w;
    },
    end: () => pool.end(),
  };
}

/** Marks a statement text for preparingPool. */
export const PREPARED_MARK = '/*prepared*/ ';

const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) statementNames.set(text, (name = `botpulse_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`));
  return name;
}

/** One process's connection to PostgreSQL: the pool, Kysely over it, and the schema's migrations. */
export class PostgresDatabase {
  private readonly url: DatabaseUrl;

  private constructor(
    readonly pool: pg.Pool,
    readonly db: Kysely<any>,
    private readonly opts: PostgresOptions,
  ) {
    this.url = opts.url;
  }

  /**
   * Connects (failing at once, with the URL's password removed, if PostgreSQL cannot be reached)
   * and, unless `migrate: false`, applies pending migrations.
   */
  static async open(opts: PostgresOptions, { migrate = true }: { migrate?: boolean } = {}): Promise<PostgresDatabase> {
    const pool = createPostgresPool(opts);
    const database = new PostgresDatabase(pool, createPostgresKysely(pool), opts);
    try {
      await database.check();
      if (migrate) await database.migrate();
      return database;
    } catch (err) {
      await database.close();
      throw err;
    }
  }

  /**
   * Applies pending migrations; returns how many ran. Processes starting together on an empty
   * database would race to create Kysely's own bookkeeping tables (its lock only exists once they
   * do), so they queue on a session advisory lock first, held on a connection outside the pool
   * (a pool of one could not lend it and still migrate). Migrations run on a small pool of their
   * own without the statement timeout: rewriting a large table may take longer than any query should.
   */
  async migrate(): Promise<number> {
    let migrator: Kysely<any> | null = null;
    const lock = new pg.Client({ connectionString: this.url.reveal(), connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'botpulse-migrate' });
    try {
      await lock.connect();
      await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      const { rows } = await lock.query<{ schema: string | null }>('SELECT current_schema() AS schema');
      if (!rows[0]?.schema) throw new Error('no schema to create tables in: the search_path names none that exists');
      const schema = rows[0].schema;
      const pool = createPostgresPool({ ...this.opts, poolMax: 2, statementTimeoutMs: 0, applicationName: 'botpulse-migrate' });
      migrator = new Kysely<any>({ dialect: new MigrationDialect(pool, schema) });
      return await applyMigrations(migrator, { schema });
    } catch (err) {
      throw this.explain('migrating the PostgreSQL schema failed', err);
    } finally {
      await migrator?.destroy();
      await lock.end().catch(() => {}); // ending the session releases the lock
    }
  }

  /**
   * Runs `fn` holding the session advisory lock (space, hashtext(name)), on a connection outside
   * the pool (a pool of one could not lend it and still run `fn`). Ending the session releases
   * the lock, also when this process dies.
   */
  async withSessionLock<T>(space: number, name: string, fn: () => Promise<T>): Promise<T> {
    const lock = new pg.Client({ connectionString: this.url.reveal(), connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'botpulse-lock' });
    try {
      await lock.connect();
      await lock.query('SELECT pg_advisory_lock($1::int, hashtext($2))', [space, name]);
    } catch (err) {
      await lock.end().catch(() => {});
      throw this.explain(`taking the lock "${name}" failed`, err);
    }
    try {
      return await fn();
    } finally {
      await lock.end().catch(() => {});
    }
  }

  private async check(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
    } catch (err) {
      throw this.explain(`cannot use PostgreSQL at ${this.url.redacted}`, err);
    }
  }

  private explain(what: string, err: unknown): Error {
    return new Error(`${what}: ${scrubbed(err, this.url).message}`);
  }

  /** This process's pool now (for /metrics). */
  poolFigures(): DatabasePoolFigures {
    return { max: this.opts.poolMax, total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async close(): Promise<void> {
    await this.db.destroy();
    // Kysely ends the pool only if it ever ran a query through it (its driver starts lazily): a
    // process that only checked the connection and migrated would otherwise keep an idle
    // connection, and live, for the pool's idle timeout (`botpulse migrate` exited 10 s late).
    if (!this.pool.ended) await this.pool.end();
  }
}

export interface DatabasePoolFigures {
  /** BOTPULSE_DATABASE_POOL_MAX. */
  max: number;
  /** Connections open (busy and idle). */
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

/** A Kysely for Kysely's Migrator on `pool`, looking only at `schema` (see MigrationDialect). Tests migrate step by step with it. */
export function migrationKysely(pool: pg.Pool, schema: string): Kysely<any> {
  return new Kysely<any>({ dialect: new MigrationDialect(pool, schema) });
}

/**
 * Kysely's Migrator asks the introspector whether its bookkeeping tables exist, and Kysely's
 * PostgreSQL introspector reads every column of every table of every schema, failing outright
 * when another session drops a schema meanwhile. This one looks at the one schema we migrate.
 */
class MigrationDialect extends PostgresDialect {
  constructor(
    pool: pg.Pool,
    private readonly schema: string,
  ) {
    super({ pool });
  }

  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    const schema = this.schema;
    const getTables = async (): Promise<TableMetadata[]> => {
      const { rows } = await sql<{ name: string; kind: string }>`SELECT c.relname AS name, c.relkind AS kind FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${schema} AND c.relkind IN ('r', 'v', 'p')`.execute(db);
      return rows.map((r) => ({ name: r.name, isView: r.kind === 'v', columns: [], schema }));
    };
    return {
      getSchemas: async (): Promise<SchemaMetadata[]> => {
        const { rows } = await sql<{ name: string }>`SELECT nspname AS name FROM pg_catalog.pg_namespace WHERE nspname = ${schema}`.execute(db);
        return rows;
      },
      getTables,
      getMetadata: async () => ({ tables: await getTables() }),
    };
  }
}

/** A new Error with the message only (a driver error's own fields may quote the connection string). */
function scrubbed(err: unknown, url: DatabaseUrl): Error {
  return new Error(url.scrub(err instanceof Error ? err.message : String(err)));
}

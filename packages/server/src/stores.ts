import type { Config } from './config/load.js';
import type { DigestThreadData } from './digest/thread-messages.js';
import { DatabaseUrl } from './lib/database-url.js';
import type { AlertStore } from './store/alerts.js';
import type { LogStore } from './store/logs.js';
import type { GithubStore } from './store/github.js';
import { PostgresGithubStore } from './store/postgres/github.js';
import { SqliteGithubStore } from './store/sqlite/github.js';
import type { MonitorStore } from './store/monitors.js';
import { PostgresAlertStore } from './store/postgres/alerts.js';
import type { DatabasePoolFigures } from './store/postgres/database.js';
import { PostgresStore } from './store/postgres/index.js';
import { PostgresLogStore } from './store/postgres/logs.js';
import { PostgresMonitorStore } from './store/postgres/monitors.js';
import { SqliteAlertStore } from './store/sqlite/alerts.js';
import { SqliteStore } from './store/sqlite/index.js';
import { SqliteLogStore } from './store/sqlite/logs.js';
import { SqliteMonitorStore } from './store/sqlite/monitors.js';
import { SqliteUpstreamStore } from './store/sqlite/upstream.js';
import { PostgresUpstreamStore } from './store/postgres/upstream.js';
import type { UpstreamStore } from './store/upstream.js';
import type { UpstreamThreadData, UpstreamThreadStores } from './upstream/thread.js';
import type { Store } from './store/store.js';

/**
 * The one place that names concrete stores. main.ts (the composition root) and the digest thread's
 * entry (digest-thread.ts: a worker thread cannot be handed objects, so it opens its own) pick them
 * here; every domain receives the interfaces. `BOTPULSE_DATABASE_URL=postgres://…` picks
 * PostgreSQL for all of them; unset, the embedded SQLite file.
 */

/** Connections of the digest thread's own pool: it runs one batch (one transaction) at a time. */
const DIGEST_THREAD_POOL = 2;

export interface OpenStoreOptions {
  /** SQLite: leave WAL checkpoints to the other connections (see SqliteStore.open). */
  checkpoints?: boolean;
  /** PostgreSQL: an idle pooled connection failed (restart, network); the pool reconnects by itself. */
  onIdleError?: (err: Error) => void;
}

export async function openStore(config: Pick<Config, 'databaseFile' | 'database'>, opts: OpenStoreOptions = {}): Promise<Store> {
  const { database } = config;
  if (database.kind === 'postgres') {
    return PostgresStore.open({ url: database.url, poolMax: database.poolMax, statementTimeoutMs: database.statementTimeoutMs, ...(opts.onIdleError ? { onIdleError: opts.onIdleError } : {}) });
  }
  return SqliteStore.open(config.databaseFile, opts.checkpoints === undefined ? {} : { checkpoints: opts.checkpoints });
}

/** The AlertStore on the Store's database, sharing its connection (pool). */
export function alertStoreFor(store: Store): AlertStore {
  if (store instanceof SqliteStore) return new SqliteAlertStore(store.db);
  if (store instanceof PostgresStore) return new PostgresAlertStore(store.db);
  throw new Error('no AlertStore for this kind of Store');
}

/** The GithubStore on the Store's database, sharing its connection (pool). */
export function githubStoreFor(store: Store): GithubStore {
  if (store instanceof SqliteStore) return new SqliteGithubStore(store.db);
  if (store instanceof PostgresStore) return new PostgresGithubStore(store.db);
  throw new Error('no GithubStore for this kind of Store');
}

/** The MonitorStore on the Store's database, sharing its connection (pool). */
export function monitorStoreFor(store: Store): MonitorStore {
  if (store instanceof SqliteStore) return new SqliteMonitorStore(store.db);
  if (store instanceof PostgresStore) return new PostgresMonitorStore(store.db);
  throw new Error('no MonitorStore for this kind of Store');
}

/** The LogStore on the Store's database, sharing its connection (pool). */
export function logStoreFor(store: Store): LogStore {
  if (store instanceof SqliteStore) return new SqliteLogStore(store.db);
  if (store instanceof PostgresStore) return new PostgresLogStore(store.db);
  throw new Error('no LogStore for this kind of Store');
}

/** The UpstreamStore on the Store's database, sharing its connection (pool). */
export function upstreamStoreFor(store: Store): UpstreamStore {
  if (store instanceof SqliteStore) return new SqliteUpstreamStore(store.db);
  if (store instanceof PostgresStore) return new PostgresUpstreamStore(store.db);
  throw new Error('no UpstreamStore for this kind of Store');
}

/**
 * Several processes share a PostgreSQL database: rows another process answered 200 and could not
 * digest (it died) are only found by looking. SQLite has one process, whose digest is kicked by
 * its own appends.
 */
export function isSharedStore(store: Store): boolean {
  return store instanceof PostgresStore;
}

/**
 * The spool's gather window (ingest/spool.ts): on PostgreSQL a flush waits until 2 ms after the one
 * before started, so that a commit carries several requests instead of about one (ingest
 * benchmark, c=32: ≈1.1 commits per event without it). SQLite: none, its flush ends within its turn.
 */
export function spoolGatherMsFor(store: Store): number {
  return store instanceof PostgresStore ? 2 : 0;
}

/**
 * How many spool flushes may wait for their commits at once (ingest/spool.ts). PostgreSQL: 2, each
 * on its own pooled connection, so a request that arrives while one commit waits for its WAL flush
 * goes in a second commit instead of waiting for that one and then its own; PostgreSQL's group
 * commit covers both flushes with one WAL write when they meet; BOTPULSE_SPOOL_FLUSHES sets another
 * number. SQLite: 1 whatever is set (its flush is synchronous).
 */
export function spoolFlushesFor(store: Store, configured: number | undefined): number {
  if (!(store instanceof PostgresStore)) return 1;
  return configured ?? 2;
}

/** The figures of the main thread's connection pool, for /metrics (none on SQLite). */
export function databasePoolOf(store: Store): (() => DatabasePoolFigures) | undefined {
  return store instanceof PostgresStore ? () => store.database.poolFigures() : undefined;
}

/**
 * The digest thread's own connection. The main thread migrated the schema before starting the
 * thread. SQLite: the main thread's connection leaves WAL checkpoints to this one (see
 * SqliteStore.open): its commits trigger them under load, and the timer keeps the WAL short when
 * no events arrive. PostgreSQL: a small pool of its own.
 */
export async function openDigestStore(data: Pick<DigestThreadData, 'databaseFile' | 'postgres'>): Promise<Store> {
  if (data.postgres) {
    return PostgresStore.open(
      { url: new DatabaseUrl(data.postgres.url), poolMax: DIGEST_THREAD_POOL, statementTimeoutMs: data.postgres.statementTimeoutMs, applicationName: 'botpulse-digest' },
      { migrate: false },
    );
  }
  const store = await SqliteStore.open(data.databaseFile, { migrate: false });
  setInterval(() => {
    if (store.db.open) store.db.pragma('wal_checkpoint(PASSIVE)');
  }, 60_000).unref();
  return store;
}

/**
 * The upstream thread's stores, on a connection of its own (the main thread migrated the
 * schema): SQLite leaves WAL checkpoints to the digest thread; PostgreSQL gets a pool of 2.
 */
export async function openUpstreamThreadStores(data: Pick<UpstreamThreadData, 'databaseFile' | 'postgres'>): Promise<UpstreamThreadStores> {
  const store: Store = data.postgres
    ? await PostgresStore.open(
        { url: new DatabaseUrl(data.postgres.url), poolMax: 2, statementTimeoutMs: data.postgres.statementTimeoutMs, applicationName: 'botpulse-upstream' },
        { migrate: false },
      )
    : await SqliteStore.open(data.databaseFile, { migrate: false, checkpoints: false });
  return { store, upstream: upstreamStoreFor(store), leases: alertStoreFor(store) };
}

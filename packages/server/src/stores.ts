import type { Config } from './config/load.js';
import type { AlertStore } from './store/alerts.js';
import type { MonitorStore } from './store/monitors.js';
import { SqliteAlertStore } from './store/sqlite/alerts.js';
import { SqliteStore } from './store/sqlite/index.js';
import { SqliteMonitorStore } from './store/sqlite/monitors.js';
import type { Store } from './store/store.js';

/**
 * The one place that names concrete stores. main.ts (the composition root) and the digest thread's
 * entry (digest-thread.ts: a worker thread cannot be handed objects, so it opens its own) pick them
 * here; every domain receives the interfaces. A second database (PostgreSQL, issue 12) is chosen here.
 */

export async function openStore(config: Pick<Config, 'databaseFile'>, opts: { checkpoints?: boolean } = {}): Promise<Store> {
  return SqliteStore.open(config.databaseFile, opts);
}

/** The AlertStore on the Store's database, sharing its connection (one SQLite writer per process). */
export function alertStoreFor(store: Store): AlertStore {
  if (store instanceof SqliteStore) return new SqliteAlertStore(store.db);
  throw new Error('alerting needs the SQLite store (the PostgreSQL AlertStore is not written yet)');
}

/** The MonitorStore on the Store's database, sharing its connection. */
export function monitorStoreFor(store: Store): MonitorStore {
  if (store instanceof SqliteStore) return new SqliteMonitorStore(store.db);
  throw new Error('monitors need the SQLite store (the PostgreSQL MonitorStore is not written yet)');
}

/**
 * The digest thread's own connection. The main thread migrated the schema before starting the
 * thread. The main thread's connection leaves WAL checkpoints to this one (see SqliteStore.open):
 * its commits trigger them under load, and the timer keeps the WAL short when no events arrive.
 */
export async function openDigestStore(databaseFile: string): Promise<Store> {
  const store = await SqliteStore.open(databaseFile, { migrate: false });
  setInterval(() => {
    if (store.db.open) store.db.pragma('wal_checkpoint(PASSIVE)');
  }, 60_000).unref();
  return store;
}

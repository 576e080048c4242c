// A worker thread for the claim race test: its own SQLite connection claiming until the outbox is
// empty, reporting every row id it got. Truly concurrent with its siblings, unlike two
// connections driven from one thread.
import { parentPort, workerData } from 'node:worker_threads';
import Sqlite from 'better-sqlite3';
import { SqliteAlertStore } from '../../store/sqlite/alerts.js';

const { file, worker } = workerData as { file: string; worker: string };
const db = new Sqlite(file);
db.pragma('busy_timeout = 10000');
const alerts = new SqliteAlertStore(db);
const claimed: number[] = [];
// Start together: the parent says go once every worker has loaded.
await new Promise<void>((resolve) => {
  parentPort!.once('message', () => resolve());
  parentPort!.postMessage('ready');
});
let attempts = 0;
// Race until the outbox is empty: a worker that finds every target's head claimed by a sibling
// (one message in flight per target, by design) keeps trying.
while ((await alerts.outbox({ status: 'pending', limit: 1 })).length > 0) {
  attempts++;
  const batches = await alerts.claimDue(worker, Date.now(), { leaseMs: 60_000, maxPerMessage: 2, paceMs: 0, groupPerMinute: 100_000 });
  const rows = batches.flat();
  if (!rows.length) {
    await new Promise((r) => setTimeout(r, 1));
    continue;
  }
  claimed.push(...rows.map((r) => r.id));
  await new Promise((r) => setTimeout(r, 1)); // the send: the write lock is free meanwhile
  await alerts.markSent(worker, rows, { sentAt: Date.now(), messageId: null, sentIds: rows.map((r) => r.id), collapsedIds: [], states: [], message: null });
}
db.close();
parentPort!.postMessage({ claimed, attempts });

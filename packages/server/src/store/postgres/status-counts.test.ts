import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { createTestSchema, postgresUnavailable } from '../../test-support/postgres.js';
import { TOTALS_LOCK } from '../migrations/030_issue_status_deltas.js';
import { PostgresStore } from './index.js';
import { LOCKS } from './query.js';

const skip = await postgresUnavailable();

/**
 * Migration 027 kept the counters in rows per (project, status, pid mod 8), locked by each change
 * until commit. Two transactions on backends of one slot moving issues between statuses in
 * crossing order deadlocked there, and PostgreSQL aborted one (a person's change: an error).
 * Migration 030 appends deltas instead: nothing waits on a counter.
 */
describe('issue status counters on PostgreSQL (migration 030)', { skip }, () => {
  it('a person reopening an issue while a digest-style batch reopens an ignored then a resolved one on a backend of the same slot: both commit, the counts stay exact', async () => {
    const schema = await createTestSchema('status_counts_deadlock');
    const store = await PostgresStore.open(schema.options({ poolMax: 12 }));
    const { pool } = store.database;
    const held: pg.PoolClient[] = [];
    try {
      const { rows: [p] } = await pool.query(`INSERT INTO projects (slug, name, public_key, short_id_prefix, created_at) VALUES ('a', 'A', 'k1', 'A', 1) RETURNING id`);
      const issue = async (n: number, status: string) =>
        Number((await pool.query(`INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, level, status, first_seen, last_seen)
          VALUES ($1, $2, 1, $3, 't', 'error', $4, 1, 1) RETURNING id`, [p.id, n, `fp${n}`, status])).rows[0].id);
      const [ignored, resolvedByBatch, resolvedByPerson] = [await issue(1, 'ignored'), await issue(2, 'resolved'), await issue(3, 'resolved')];
      const [batch, person] = await sameSlotPair(pool, held);
      for (const c of [batch, person]) await c.query(`SET deadlock_timeout = '50ms'`); // the deadlock, if any, shows at once

      await batch.query('BEGIN');
      // The batch's first issue: ignored → new (027: holds the slot's `ignored` and `new` rows).
      await batch.query(`UPDATE issues SET status = 'new' WHERE id = $1`, [ignored]);
      // A person reopens a resolved issue (027: takes `resolved`, then waits for `new`).
      const personDone = settle(person.query(`UPDATE issues SET status = 'new' WHERE id = $1`, [resolvedByPerson]));
      await waitingOrDone(pool, (person as unknown as { processID: number }).processID, personDone);
      // The batch's second issue: resolved → new (027: waits for `resolved`, held by the person: a cycle).
      const batchError = await settle(batch.query(`UPDATE issues SET status = 'new' WHERE id = $1`, [resolvedByBatch]));
      await batch.query(batchError ? 'ROLLBACK' : 'COMMIT');
      const personError = await personDone;
      assert.equal(personError?.code, undefined, `the person's change: ${personError?.message}`);
      assert.equal(batchError?.code, undefined, `the batch: ${batchError?.message}`);

      const recount = async () => Object.fromEntries((await pool.query(`SELECT status, COUNT(*)::int AS n FROM issues GROUP BY status`)).rows.map((r) => [r.status, r.n]));
      const none = { new: 0, in_progress: 0, resolved: 0, ignored: 0 };
      assert.deepEqual(await store.issueStatusCounts(Number(p.id)), { ...none, ...(await recount()) }, 'before the fold');
      assert.deepEqual(await recount(), { new: 3 });
      assert.equal(await store.compactIssueStatusCounts(), 9, 'three issues created, three moved (two deltas each)');
      assert.deepEqual(await store.issueStatusCounts(Number(p.id)), { ...none, new: 3 }, 'after the fold');
      assert.equal(Number((await pool.query('SELECT COUNT(*) AS n FROM issue_status_deltas')).rows[0].n), 0);
      assert.deepEqual((await pool.query(`SELECT status, slot, count::int AS n FROM issue_status_counts ORDER BY status`)).rows, [{ status: 'new', slot: 0, n: 3 }], 'totals of zero dropped');
    } finally {
      for (const c of held) c.release();
      await store.close();
      await schema.drop();
    }
  });

  it('folds under a try-lock: a second folder skips instead of waiting; the truncation trigger takes the same lock', async () => {
    assert.equal(TOTALS_LOCK, LOCKS.statusCounts, 'the migration\'s copy of the key');
    const schema = await createTestSchema('status_counts_fold');
    const store = await PostgresStore.open(schema.options());
    const { pool } = store.database;
    const holder = await pool.connect();
    try {
      const { rows: [p] } = await pool.query(`INSERT INTO projects (slug, name, public_key, short_id_prefix, created_at) VALUES ('a', 'A', 'k1', 'A', 1) RETURNING id`);
      await pool.query(`INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, level, first_seen, last_seen) VALUES ($1, 1, 1, 'fp', 't', 'error', 1, 1)`, [p.id]);
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCKS.statusCounts]);
      assert.equal(await store.compactIssueStatusCounts(), 0, 'another folder holds the lock: skipped');
      await holder.query('COMMIT');
      assert.equal(await store.compactIssueStatusCounts(), 1);
      assert.deepEqual(await store.issueStatusCounts(), { new: 1, in_progress: 0, resolved: 0, ignored: 0 });
    } finally {
      holder.release();
      await store.close();
      await schema.drop();
    }
  });
});

/** Two pooled connections whose backends share 027's slot (pid mod 8): among nine, two always do. */
async function sameSlotPair(pool: pg.Pool, held: pg.PoolClient[]): Promise<[pg.PoolClient, pg.PoolClient]> {
  const bySlot = new Map<number, pg.PoolClient>();
  for (let i = 0; i < 9; i++) {
    const client = await pool.connect();
    held.push(client);
    const pid = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    const mate = bySlot.get(pid % 8);
    if (mate) return [mate, client];
    bySlot.set(pid % 8, client);
  }
  throw new Error('nine backends, no two in one slot');
}

/** A query's error, or null once it succeeded (never rejects). */
function settle(query: Promise<unknown>): Promise<(Error & { code?: string }) | null> {
  return query.then(
    () => null,
    (err: Error & { code?: string }) => err,
  );
}

/** Resolves once the backend `pid` waits on a lock or `done` has settled, whichever comes first. */
async function waitingOrDone(pool: pg.Pool, pid: number, done: Promise<unknown>): Promise<void> {
  let settled = false;
  void done.then(() => (settled = true));
  for (let i = 0; i < 400 && !settled; i++) {
    const { rows } = await pool.query('SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1', [pid]);
    if (rows[0]?.wait_event_type === 'Lock') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!settled) throw new Error('the person\'s change neither finished nor waited on a lock within 10 s');
}

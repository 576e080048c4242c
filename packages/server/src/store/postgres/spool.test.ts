import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { issueLifecycle } from '../../digest/lifecycle.js';
import { DatabaseUrl } from '../../lib/database-url.js';
import { createTestSchema, postgresUnavailable, TEST_POSTGRES_URL, type TestSchema } from '../../test-support/postgres.js';
import type { DigestedRow, SpoolRow } from '../store.js';
import { PostgresStore } from './index.js';
import { appendSpoolRows, byPayloadBytes, spoolCountText, vacuumSpool } from './spool.js';

const skip = await postgresUnavailable();

const rejectAll = (rows: SpoolRow[]): DigestedRow[] => rows.map((r) => ({ kind: 'rejected', spoolId: r.id, projectId: r.projectId, reason: 'test' }));

describe('the spool table on PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  let store: PostgresStore;
  let other: pg.Client;

  before(async () => {
    schema = await createTestSchema('spool');
    store = await PostgresStore.open(schema.options());
    other = new pg.Client({ connectionString: schema.url.reveal() });
    await other.connect();
  });
  after(async () => {
    await other?.end();
    await store?.close();
    await schema?.drop();
  });

  // Bounded so that a digest that waits for the other process's rows fails instead of hanging.
  it('digests the rows after those another process is digesting, without waiting for it', { timeout: 30_000 }, async () => {
    const project = await store.createProject({ name: 'Spool' });
    await store.appendToSpool(Array.from({ length: 10 }, (_, n) => ({ projectId: project.id, kind: 'event', eventId: `e${n}`, receivedAt: n, payload: Buffer.from('{}') })));
    // Another process's digest holds the 4 oldest rows (its batch is not committed yet).
    await other.query('BEGIN');
    const { rows: held } = await other.query<{ id: string }>('SELECT id FROM spool ORDER BY id LIMIT 4 FOR UPDATE');
    let handed: SpoolRow[] = [];
    const result = await store.digestBatch(100, (rows) => rejectAll((handed = rows)), issueLifecycle);
    assert.equal(result.rows, 6);
    assert.deepEqual(handed.map((r) => r.eventId), ['e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
    await other.query(`DELETE FROM spool WHERE id = ANY($1::bigint[])`, [held.map((r) => r.id)]);
    await other.query('COMMIT');
    assert.equal(await store.spoolBacklog(), 0);
  });

  it('quarantines a row whose write fails (the row\u2019s fault, not the database\u2019s), and deletes a digested batch with its writes', async () => {
    const project = await store.createProject({ name: 'Spool poison' });
    await store.appendToSpool([{ projectId: project.id, kind: 'event', eventId: 'r1', receivedAt: 1, payload: Buffer.from('{}') }]);
    const before = (await store.quarantineSummary()).rows;
    // The row's write fails inside the transaction (an attachment without data: NOT NULL).
    const failed = await store.digestBatch(10, (rows) => rows.map((r) => ({ kind: 'attachment', spoolId: r.id, projectId: r.projectId, eventId: 'r1', filename: 'x', contentType: null, data: null as unknown as Buffer })), issueLifecycle);
    assert.deepEqual(failed.quarantined.map((q) => q.eventId), ['r1']);
    assert.match(failed.quarantined[0]!.error, /TypeError|23502/, 'the error is kept with the row');
    assert.equal(await store.spoolBacklog(), 0, 'out of the spool');
    assert.equal((await store.quarantineSummary()).rows, before + 1, 'kept in the quarantine');
    await store.appendToSpool([{ projectId: project.id, kind: 'event', eventId: 'r2', receivedAt: 2, payload: Buffer.from('{}') }]);
    assert.deepEqual((await store.digestBatch(10, rejectAll, issueLifecycle)).rows, 1);
    assert.equal(await store.spoolBacklog(), 0);
    assert.equal((await store.itemCounts(project.id))['rejected:test'], 1, 'the delete and the batch\u2019s writes committed together');
  });

  it('appends a flush as ONE prepared statement whatever its row count (parsed once per connection), ids and payloads in item order', async () => {
    const single = await PostgresStore.open({ ...schema.options(), poolMax: 1 });
    try {
      const project = await store.createProject({ name: 'Spool prepared' });
      // Payloads of unequal sizes (one empty, one binary), so a wrong offset would show.
      const payload = (prefix: string, i: number) => (i === 2 ? Buffer.alloc(0) : i === 3 ? Buffer.from([0, 255, 1, 254]) : Buffer.from(`{"${prefix}":${'x'.repeat(i)}}`));
      const items = (prefix: string, n: number) =>
        Array.from({ length: n }, (_, i) => ({ projectId: project.id, kind: 'event', eventId: `${prefix}${i}`, receivedAt: i, payload: payload(prefix, i), ...(i === 0 ? { meta: { m: 1 } } : {}) }));
      const flushes = [items('a', 1), items('b', 3), items('c', 40), items('d', 7)];
      const returned = [];
      for (const f of flushes) returned.push(...(await single.appendToSpool(f)));
      await single.appendToSpool([]); // a flush of requests that only brought counts
      const { rows: prepared } = await single.database.pool.query<{ name: string }>(`SELECT name FROM pg_prepared_statements WHERE name LIKE 'botpulse_spool%'`);
      assert.deepEqual(prepared.map((r) => r.name), ['botpulse_spool_append'], 'one statement for flushes of 1, 3, 40 and 7 rows');
      const { rows } = await other.query<{ id: string; event_id: string; payload: Buffer; meta: string | null }>(
        `SELECT id, event_id, payload, meta FROM spool WHERE project_id = $1 ORDER BY id`,
        [project.id],
      );
      const all = flushes.flat();
      assert.deepEqual(rows.map((r) => r.event_id), all.map((i) => i.eventId), 'ids follow the items');
      assert.deepEqual(returned.map((r) => [r.id, r.eventId]), rows.map((r) => [Number(r.id), r.event_id]), 'each returned row carries its own id');
      assert.deepEqual(rows.map((r) => r.payload.toString('hex')), all.map((i) => i.payload.toString('hex')), 'every payload stored byte for byte');
      assert.deepEqual(rows.map((r) => r.meta).filter(Boolean), ['{"m":1}', '{"m":1}', '{"m":1}', '{"m":1}']);
      assert.equal((await store.digestBatch(100, rejectAll, issueLifecycle)).rows, all.length);
    } finally {
      await single.close();
    }
  });

  it('splits a flush larger than the bytea bound into several statements, committed together, ids and payloads in item order', async () => {
    const project = await store.createProject({ name: 'Spool split' });
    const items = Array.from({ length: 7 }, (_, i) => ({ projectId: project.id, kind: 'event', eventId: `split${i}`, receivedAt: i, payload: Buffer.from(`{"n":${'y'.repeat(i * 3)}}`) }));
    // A bound of 20 bytes puts one to three of these payloads (6, 9, 12 ... 24 bytes) in each statement, the largest alone.
    assert.deepEqual(byPayloadBytes(items, 20).map((part) => part.map((i) => i.payload.length)), [[6, 9], [12], [15], [18], [21], [24]]);
    const returned = await appendSpoolRows(store.database.pool, items, undefined, 20);
    const { rows } = await other.query<{ id: string; event_id: string; payload: Buffer }>(`SELECT id, event_id, payload FROM spool WHERE project_id = $1 ORDER BY id`, [project.id]);
    assert.deepEqual(rows.map((r) => r.event_id), items.map((i) => i.eventId));
    assert.deepEqual(returned.map((r) => [r.id, r.eventId]), rows.map((r) => [Number(r.id), r.event_id]));
    assert.deepEqual(rows.map((r) => r.payload.toString()), items.map((i) => i.payload.toString()));
    // One commit: a statement that fails takes the parts before it back with it.
    const failing = [...items.map((i) => ({ ...i, eventId: `again-${i.eventId}` })), { ...items[0]!, kind: null as unknown as string, eventId: 'no-kind' }];
    await assert.rejects(appendSpoolRows(store.database.pool, failing, undefined, 20));
    assert.equal((await other.query(`SELECT 1 FROM spool WHERE event_id LIKE 'again-%'`)).rowCount, 0, 'nothing of the failed flush stayed');
    assert.equal((await store.digestBatch(100, rejectAll, issueLifecycle)).rows, items.length);
  });

  it('keeps spool payloads up to 8 KB in the row, uncompressed, and never compresses event payloads (migration 017)', async () => {
    const { rows: [spool] } = await other.query<{ reloptions: string[] }>(`SELECT reloptions FROM pg_class WHERE oid = 'spool'::regclass`);
    assert.deepEqual(spool!.reloptions, ['toast_tuple_target=8160']);
    const { rows: [payload] } = await other.query<{ attstorage: string }>(`SELECT attstorage FROM pg_attribute WHERE attrelid = 'events'::regclass AND attname = 'payload'`);
    assert.equal(payload!.attstorage, 'e', 'EXTERNAL: out of line when large, never compressed (brotli already)');
    const project = await store.createProject({ name: 'Spool inline' });
    const json = Buffer.from(JSON.stringify({ text: 'x'.repeat(6000) }));
    await store.appendToSpool([{ projectId: project.id, kind: 'event', eventId: 'big', receivedAt: 1, payload: json }]);
    const { rows: [stored] } = await other.query<{ stored: number }>(`SELECT pg_column_size(payload) AS stored FROM spool WHERE event_id = 'big'`);
    assert.ok(stored!.stored >= json.length, `stored as is (${stored!.stored} bytes for ${json.length}), not compressed`);
    assert.equal((await store.digestBatch(100, rejectAll, issueLifecycle)).rows, 1);
  });

  it('counts the backlog through the primary key, not by reading every page of a spool full of digested rows', async () => {
    const project = await store.createProject({ name: 'Spool count' });
    // As between two autovacuum runs (at most one a minute): the digested rows stay in their pages.
    await other.query('ALTER TABLE spool SET (autovacuum_enabled = false)');
    try {
      const payload = Buffer.from(JSON.stringify({ text: 'z'.repeat(5000) })); // one row per page, as 5 KB events
      for (let i = 0; i < 4; i++) {
        await store.appendToSpool(Array.from({ length: 100 }, (_, n) => ({ projectId: project.id, kind: 'event', eventId: `c${i}-${n}`, receivedAt: n, payload })));
        assert.equal((await store.digestBatch(100, rejectAll, issueLifecycle)).rows, 100);
      }
      await store.appendToSpool(Array.from({ length: 3 }, (_, n) => ({ projectId: project.id, kind: 'event', eventId: `left${n}`, receivedAt: n, payload })));
      const { rows: [size] } = await other.query<{ pages: string }>(`SELECT pg_relation_size('spool') / 8192 AS pages`);
      assert.ok(Number(size!.pages) >= 400, `the table holds the digested rows' pages (${size!.pages})`);
      assert.equal(await store.spoolBacklog(), 3);
      assert.equal(await store.spoolBacklog(), 3, 'counted again once the dead rows\u2019 index entries are marked');
      // The plan, not the pages it read: how many of the dead rows' index entries a scan can skip
      // depends on the oldest snapshot of the whole cluster (other test files run beside this one).
      type Node = { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; Plans?: Node[] };
      const results = (await store.database.pool.query(spoolCountText('EXPLAIN (FORMAT JSON) '))) as unknown as pg.QueryResult<{ 'QUERY PLAN': [{ Plan: Node }] }>[];
      const scans = (n: Node): Node[] => [...(n['Relation Name'] ? [n] : []), ...(n.Plans ?? []).flatMap(scans)];
      const spoolScans = scans(results[2]!.rows[0]!['QUERY PLAN'][0].Plan).map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''}`.trim());
      assert.deepEqual(spoolScans, ['Index Only Scan spool_pkey'], `the count of a ${size!.pages}-page spool reads the index, not every page`);
    } finally {
      await other.query('ALTER TABLE spool RESET (autovacuum_enabled)');
      assert.equal((await store.digestBatch(100, rejectAll, issueLifecycle)).rows, 3);
    }
  });

  it('leaves a batch in the spool, quarantining nothing, when the database fails (a statement timeout)', { timeout: 30_000 }, async () => {
    const impatient = await PostgresStore.open({ ...schema.options(), statementTimeoutMs: 300 });
    try {
      const project = await store.createProject({ name: 'Spool fault' });
      await store.appendToSpool([{ projectId: project.id, kind: 'event', eventId: 'f1', receivedAt: 1, payload: Buffer.from('{}') }]);
      const before = (await store.quarantineSummary()).rows;
      // Another session holds item_counts: the batch's write waits past its statement timeout (57014).
      await other.query('BEGIN');
      await other.query('LOCK TABLE item_counts IN ACCESS EXCLUSIVE MODE');
      await assert.rejects(impatient.digestBatch(10, rejectAll, issueLifecycle), (err: { code?: string }) => err.code === '57014');
      await other.query('COMMIT');
      assert.equal(await store.spoolBacklog(), 1, 'rolled back: the row waits for the next digest');
      assert.equal((await store.quarantineSummary()).rows, before, 'nothing quarantined for the database\u2019s fault');
      assert.equal((await store.digestBatch(10, rejectAll, issueLifecycle)).rows, 1);
    } finally {
      await impatient.close();
    }
  });
});

// A database of its own: VACUUM frees only rows no transaction of the same database can still
// see, and the other test files' transactions in the shared database would keep some visible.
describe('the spool table on PostgreSQL, reclaimed', { skip }, () => {
  const name = `bp_spool_reclaim_${process.pid}_${Date.now() % 1_000_000}`;
  let admin: pg.Client;
  let store: PostgresStore;

  before(async () => {
    admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${name}`;
    store = await PostgresStore.open({ url: new DatabaseUrl(url.toString()), poolMax: 4, statementTimeoutMs: 30_000 });
    // Only the store's own reclaim may free the rows while this test runs.
    await store.database.pool.query('ALTER TABLE spool SET (autovacuum_enabled = false)');
  });
  after(async () => {
    await store?.close();
    await admin?.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin?.end();
  });

  it('reuses the pages of digested rows once their space is reclaimed, instead of growing by a page per 5 KB event', { timeout: 60_000 }, async () => {
    const project = await store.createProject({ name: 'Reclaim' });
    const payload = Buffer.from(JSON.stringify({ message: 'x'.repeat(5_000) }));
    const pages = async () => Number((await store.database.pool.query<{ n: string }>(`SELECT pg_relation_size('spool') / 8192 AS n`)).rows[0]!.n);
    const rounds: number[] = [];
    for (let round = 0; round < 4; round++) {
      await store.appendToSpool(Array.from({ length: 40 }, (_, n) => ({ projectId: project.id, kind: 'event', eventId: `r${round}-${n}`, receivedAt: n, payload })));
      assert.equal((await store.digestBatch(100, rejectAll, issueLifecycle)).rows, 40);
      await store.reclaimSpoolSpace();
      rounds.push(await pages());
    }
    // Without the reclaim each round adds 40 pages (one 5 KB row per 8 KB page): 40, 80, 120, 160.
    assert.ok(rounds[0]! >= 40, `the first round's rows fill their own pages: ${rounds.join(', ')}`);
    assert.ok(rounds[3]! <= rounds[0]! + 5, `the later rounds reuse them: pages after each round ${rounds.join(', ')}`);
    const { rows } = await store.database.pool.query<{ n: string }>(`SELECT vacuum_count AS n FROM pg_stat_user_tables WHERE relid = 'spool'::regclass`);
    assert.equal(Number(rows[0]!.n), 4, 'one VACUUM per reclaim');
  });

  it('fails, instead of doing nothing without a word, when its role does not own the spool table', { timeout: 30_000 }, async () => {
    const role = `bp_not_owner_${process.pid}`;
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${name}`;
    url.username = role;
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    try {
      await store.database.pool.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
      // PostgreSQL only warns ("skipping ... only table or database owner can vacuum it").
      await assert.rejects(vacuumSpool(pool), /VACUUM of the spool did nothing: .*(owner|permission denied)/);
      await vacuumSpool(store.database.pool); // the owner's goes through
    } finally {
      await pool.end();
      await store.database.pool.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`);
      await admin.query(`DROP ROLE ${role}`);
    }
  });
});

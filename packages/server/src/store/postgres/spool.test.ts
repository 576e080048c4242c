import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { issueLifecycle } from '../../digest/lifecycle.js';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../../test-support/postgres.js';
import type { DigestedRow, SpoolRow } from '../store.js';
import { PostgresStore } from './index.js';

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

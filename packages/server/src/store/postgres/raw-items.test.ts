import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../../test-support/postgres.js';
import { PostgresStore } from './index.js';
import { LOCKS } from './query.js';

const skip = await postgresUnavailable();

describe('parked raw items on PostgreSQL, read by an id cursor while several processes append', { skip }, () => {
  let schema: TestSchema;
  let store: PostgresStore;
  let other: pg.Client;

  before(async () => {
    schema = await createTestSchema('raw_items');
    store = await PostgresStore.open(schema.options());
    other = new pg.Client({ connectionString: schema.url.reveal() });
    await other.connect();
  });
  after(async () => {
    await other?.end();
    await store?.close();
    await schema?.drop();
  });

  it('never lets a cursor pass an item whose append has not committed yet', async () => {
    const project = await store.createProject({ name: 'Cursor' });
    // Another process is in the middle of its append (as PostgresStore.appendToSpool does it): its row has an id, uncommitted.
    await other.query('BEGIN');
    await other.query('SELECT pg_advisory_xact_lock($1::int, 0)', [LOCKS.rawItemsAppend]);
    await other.query(`INSERT INTO raw_items (project_id, kind, received_at, payload) VALUES ($1, 'check_in', 1, '\\x7b7d')`, [project.id]);
    // This process appends next, so its row gets the higher id.
    let appended = false;
    const append = store.appendToSpool([{ projectId: project.id, kind: 'check_in', eventId: null, receivedAt: 2, payload: Buffer.from('{}') }]).then(() => (appended = true));
    // Either our append waits for the other one (what must happen), or it commits first.
    for (;;) {
      const { rows } = await other.query(`SELECT COUNT(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
      if (appended || rows[0].n > 0) break;
      await new Promise((r) => setImmediate(r));
    }
    // A cursor reader reads now and moves past what it saw.
    const seenEarly = await store.listRawItems('check_in', { projectId: project.id });
    const cursor = seenEarly.length ? seenEarly[seenEarly.length - 1]!.id : 0;
    await other.query('COMMIT');
    await append;
    const seenLater = await store.listRawItems('check_in', { projectId: project.id, after: cursor });
    assert.deepEqual([...seenEarly, ...seenLater].map((r) => r.receivedAt), [1, 2], 'both items, in id order, none skipped');
  });
});

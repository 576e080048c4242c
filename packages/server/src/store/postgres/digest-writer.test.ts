import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { issueLifecycle } from '../../digest/lifecycle.js';
import { createRowDigester } from '../../digest/process.js';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../../test-support/postgres.js';
import type { SpoolItemInput, SpoolRow } from '../store.js';
import { PostgresStore } from './index.js';
import { spoolClaim } from './spool.js';

const skip = await postgresUnavailable();

type PlanNode = { 'Relation Name'?: string; Plans?: PlanNode[] };
const relations = (node: PlanNode): string[] => [...(node['Relation Name'] ? [node['Relation Name']] : []), ...(node.Plans ?? []).flatMap(relations)];

describe('the digest batch statements on PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  let store: PostgresStore;

  before(async () => {
    schema = await createTestSchema('digestwriter');
    store = await PostgresStore.open({ ...schema.options(), poolMax: 1 });
  });
  after(async () => {
    await store?.close();
    await schema?.drop();
  });

  it('writes a batch\u2019s events with ONE prepared statement whatever the batch\u2019s size, each payload byte for byte', async () => {
    const project = await store.createProject({ name: 'Digest writer' });
    // Payloads of unequal sizes, so a wrong offset or length would show.
    const event = (id: string, i: number) => Buffer.from(JSON.stringify({ event_id: id, level: 'error', platform: 'node', message: `m${i} ${'x'.repeat((i * 37) % 900)}` }));
    const written = new Map<string, Buffer>();
    const digest = createRowDigester({});
    const recording = (rows: SpoolRow[]) => {
      const out = digest(rows);
      for (const r of out) if (r.kind === 'event') written.set(r.event.eventId, r.compressedPayload);
      return out;
    };
    let n = 0;
    // 1 and 3 rows were prepared before too (one statement per row count up to 64); 70 and 130 were not.
    for (const size of [1, 3, 70, 130]) {
      const items: SpoolItemInput[] = Array.from({ length: size }, () => {
        const id = (n++).toString(16).padStart(32, '0');
        return { projectId: project.id, kind: 'event', eventId: id, receivedAt: 1_000 + n, payload: event(id, n) };
      });
      await store.appendToSpool(items);
      assert.equal((await store.digestBatch(500, recording, issueLifecycle)).rows, size);
    }
    const { rows: statements } = await store.database.pool.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%INSERT INTO events%'`);
    assert.equal(statements.length, 1, 'one prepared statement for batches of 1, 3, 70 and 130 events');
    const { rows } = await store.database.pool.query<{ event_id: string; payload: Buffer }>(`SELECT event_id, payload FROM events WHERE project_id = $1 ORDER BY id`, [project.id]);
    assert.equal(rows.length, n);
    assert.equal(written.size, n);
    for (const r of rows) assert.ok(written.get(r.event_id)?.equals(r.payload), `event ${r.event_id}: the payload stored byte for byte`);
  });

  it('claims spool rows reading the spool table once (no join back to it, no payload sorted)', async () => {
    const { sql: text, parameters } = spoolClaim(100).compile(store.database.db);
    const { rows } = await store.database.pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${text}`, [...parameters]);
    const plan = rows[0]!['QUERY PLAN'][0].Plan;
    assert.deepEqual(relations(plan).filter((r) => r === 'spool'), ['spool'], 'one scan of spool: the locked rows carry their own sizes');
  });
});

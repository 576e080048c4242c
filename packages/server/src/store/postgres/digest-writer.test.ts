import assert from 'node:assert/strict';
import pg from 'pg';
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

  it('writes a batch\u2019s events, tags, issue updates and change feed and deletes its spool rows in ONE statement', async () => {
    const project = await store.createProject({ name: 'One write' });
    const event = (id: string) => Buffer.from(JSON.stringify({ event_id: id, level: 'error', platform: 'node', message: 'same', tags: { t: id.slice(0, 1) } }));
    const digest = createRowDigester({});
    const sent: string[] = [];
    const query = pg.Client.prototype.query;
    let n = 0;
    for (const size of [2, 3]) {
      const items: SpoolItemInput[] = Array.from({ length: size }, () => {
        const id = `${(n++).toString(16)}`.padStart(32, 'e');
        return { projectId: project.id, kind: 'event', eventId: id, receivedAt: 1_000 + n, payload: event(id) };
      });
      await store.appendToSpool(items);
      sent.length = 0;
      pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
        const q = args[0] as string | { text: string };
        sent.push(typeof q === 'string' ? q : q.text);
        return (query as (...a: unknown[]) => unknown).apply(this, args);
      } as typeof query;
      try {
        assert.equal((await store.digestBatch(500, digest, issueLifecycle)).rows, size);
      } finally {
        pg.Client.prototype.query = query;
      }
    }
    // The second batch: its issue exists. BEGIN, the claim, the payloads (no hand-off here), the issue
    // locks, the stored-event check, the issue read, the writes, COMMIT (it was 12: five writes apart).
    const writes = sent.filter((t) => /INSERT INTO events/.test(t));
    assert.equal(writes.length, 1);
    for (const part of ['INSERT INTO issue_tags', 'UPDATE issues', 'INSERT INTO alert_changes', 'DELETE FROM spool']) {
      assert.ok(writes[0]!.includes(part), `${part} in the events statement`);
      assert.equal(sent.filter((t) => t.includes(part)).length, 1, `${part} in no other statement`);
    }
    assert.equal(sent.length, 8, sent.map((t) => t.slice(0, 60).replace(/\s+/g, ' ')).join('\n'));
    const { rows } = await store.database.pool.query<{ n: string }>(`SELECT (SELECT count(*) FROM events WHERE project_id = $1) AS n`, [project.id]);
    assert.equal(Number(rows[0]!.n), 5);
    assert.equal((await store.listIssues({ projectId: project.id })).issues[0]!.eventCount, 5);
  });

  it('claims spool rows reading the spool table once (no join back to it, no payload sorted)', async () => {
    const { sql: text, parameters } = spoolClaim(100).compile(store.database.db);
    const { rows } = await store.database.pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${text}`, [...parameters]);
    const plan = rows[0]!['QUERY PLAN'][0].Plan;
    assert.deepEqual(relations(plan).filter((r) => r === 'spool'), ['spool'], 'one scan of spool: the locked rows carry their own sizes');
  });
});

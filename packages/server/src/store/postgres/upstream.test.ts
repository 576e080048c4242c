import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { issueLifecycle } from '../../digest/lifecycle.js';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../../test-support/postgres.js';
import { encodePayload } from '../payload.js';
import { upstreamStoreContract } from '../upstream.contract.js';
import { PostgresStore } from './index.js';
import { PostgresUpstreamStore } from './upstream.js';

const skip = await postgresUnavailable();

if (skip) describe('UpstreamStore contract: PostgreSQL', { skip }, () => {});
else {
  upstreamStoreContract(
    'PostgreSQL (two pools on one schema, as two processes)',
    async () => {
      const schema = await createTestSchema('upstream');
      const store = await PostgresStore.open(schema.options());
      const second = await PostgresStore.open(schema.options(), { migrate: false });
      return {
        store,
        a: new PostgresUpstreamStore(store.db),
        b: new PostgresUpstreamStore(second.db),
        cleanup: async () => {
          await store.close();
          await second.close();
          await schema.drop();
        },
      };
    },
    issueLifecycle,
  );

  describe('PostgresUpstreamStore horizon', () => {
    let schema: TestSchema;
    let store: PostgresStore;
    before(async () => {
      schema = await createTestSchema('upstream_horizon');
      store = await PostgresStore.open(schema.options());
    });
    after(async () => {
      await store.close();
      await schema.drop();
    });

    it('never passes an event whose transaction took a lower id and has not committed yet', async () => {
      const project = await store.createProject({ name: 'Horizon' });
      const issue = await store.db
        .insertInto('issues')
        .values({ project_id: project.id, short_number: 1, grouping_version: 1, fingerprint: 'h', title: 't', level: 'error', first_seen: 1, last_seen: 1 })
        .returning('id')
        .executeTakeFirstOrThrow();
      // Different hours and days: the hourly and daily count triggers would otherwise make the second
      // insert wait for the first (both upsert the issue's count row for that hour, and for that day).
      const row = (eventId: string, hour: number) =>
        `(${project.id}, ${issue.id}, '${eventId}', ${hour * 3_600_000}, 1, 'error', 't', '{}', '\\x${encodePayload({}).toString('hex')}'::bytea)`;
      const insert = (eventId: string, hour: number) => `INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, title, tags, payload) VALUES ${row(eventId, hour)} RETURNING id`;
      // A digest batch of another process: it takes its id now and commits later.
      const slow = new pg.Client({ connectionString: schema.url.reveal() });
      await slow.connect();
      try {
        await slow.query('BEGIN');
        const lateId = Number((await slow.query(insert('a'.repeat(32), 1))).rows[0].id);
        await sql.raw(insert('b'.repeat(32), 26)).execute(store.db);
        const upstream = new PostgresUpstreamStore(store.db);
        const outcome = await upstream.eventHorizon().then(
          async (horizon) => ({ horizon, ids: (await upstream.eventsAfter(0, horizon, 10)).map((e) => e.id) }),
          (err: { code?: string }) => ({ refused: err.code }),
        );
        if ('refused' in outcome) assert.equal(outcome.refused, '55P03', 'waited for the open transaction, then gave up this round (lock_timeout)');
        else assert.ok(outcome.ids.includes(lateId) || outcome.horizon < lateId, `the horizon ${outcome.horizon} passed uncommitted id ${lateId}: ${outcome.ids}`);
        await slow.query('COMMIT');
        const horizon = await upstream.eventHorizon();
        assert.ok((await upstream.eventsAfter(0, horizon, 10)).some((e) => e.id === lateId), 'once committed, it is read');
      } finally {
        await slow.end();
      }
    });
  });
}

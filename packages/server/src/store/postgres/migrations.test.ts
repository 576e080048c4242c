import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { DatabaseUrl } from '../../lib/database-url.js';
import { createTestSchema, postgresUnavailable, TEST_POSTGRES_URL, type TestSchema } from '../../test-support/postgres.js';
import { createMigrator } from '../migrations/apply.js';
import { migrations } from '../migrations/index.js';
import { migrationKysely, PostgresDatabase } from './database.js';
import { withArgs } from './query.js';
import { issueSearchSql } from './search.js';

const skip = await postgresUnavailable();

describe('the migrations on PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  before(async () => (schema = await createTestSchema('migrations')));
  after(async () => schema?.drop());

  it('run 001..010 step by step over existing data: hourly counts backfilled and kept by the trigger, item kinds folded, monitor states moved with their ids', async () => {
    const database = await PostgresDatabase.open(schema.options(), { migrate: false });
    const { db, pool } = database;
    // Kysely's own introspector reads every schema and fails when another test drops one meanwhile.
    const to = (name: string) => createMigrator(migrationKysely(pool, schema.name), { schema: schema.name }).migrateTo(name);
    try {
      assert.equal((await to('001_initial')).error, undefined);
      const { rows: [project] } = await pool.query(`INSERT INTO projects (slug, name, public_key, short_id_prefix, created_at) VALUES ('pay', 'Pay', 'k1', 'P', 1) RETURNING id`);
      const { rows: [issue] } = await pool.query(
        `INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, level, first_seen, last_seen) VALUES ($1, 1, 1, 'fp', 'Boom', 'error', 1, 1) RETURNING id`,
        [project.id],
      );
      const payload = Buffer.from([0, 1, 2, 255, 0x78, 0x9c]);
      const event = (eventId: string, timestamp: number) =>
        pool.query(`INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, title, payload) VALUES ($1, $2, $3, $4, $4, 'error', 'Boom', $5)`, [project.id, issue.id, eventId, timestamp, payload]);
      await event('e1', 3_600_000 * 5 + 1);
      await event('e2', 3_600_000 * 5 + 2);
      await pool.query(`INSERT INTO item_counts (project_id, kind, count) VALUES ($1, 'event', 3), ($1, 'made-up', 4), ($1, 'also-made-up', 5), ($1, 'rejected:size', 1)`, [project.id]);

      assert.equal((await to('002_dashboard')).error, undefined);
      assert.deepEqual((await pool.query('SELECT hour, count FROM issue_hourly')).rows, [{ hour: 5, count: 2 }], 'backfilled from the events');
      await event('e3', 3_600_000 * 6);
      assert.deepEqual((await pool.query('SELECT hour, count FROM issue_hourly ORDER BY hour')).rows, [{ hour: 5, count: 2 }, { hour: 6, count: 1 }], 'the trigger counts new events');
      assert.deepEqual((await pool.query(`SELECT payload FROM events WHERE event_id = 'e1'`)).rows[0].payload, payload, 'payloads are bytea, byte for byte');

      assert.equal((await to('006_monitor_outbox')).error, undefined);
      for (const [id, slug, status] of [[7, 'poller', 'down'], [8, 'nightly', 'up']] as const) {
        await pool.query(
          `INSERT INTO monitors (id, project_id, slug, kind, source, status, period_ms, grace_ms, deadline, created_at, updated_at) VALUES ($1, $2, $3, 'heartbeat', 'api', $4, 60000, 240000, 90000, 100, 200)`,
          [id, project.id, slug, status],
        );
      }
      assert.equal((await to('010_client_discards')).error, undefined);
      assert.deepEqual(
        (await pool.query('SELECT kind, count FROM item_counts ORDER BY kind')).rows,
        [{ kind: 'event', count: 3 }, { kind: 'rejected:size', count: 1 }, { kind: 'unknown', count: 9 }],
        'invented item kinds folded into unknown (bigint read as a number)',
      );
      assert.deepEqual((await pool.query('SELECT id, monitor_id, status, deadline FROM monitor_states ORDER BY id')).rows, [
        { id: 7, monitor_id: 7, status: 'down', deadline: 90000 },
        { id: 8, monitor_id: 8, status: 'up', deadline: 90000 },
      ]);
      const { rows: [fresh] } = await pool.query(`INSERT INTO monitor_states (monitor_id, status, created_at, updated_at) VALUES (8, 'new', 1, 1) RETURNING id`);
      assert.ok(fresh.id > 8, 'the id sequence continues after the copied ids');
      assert.match((await pool.query(`SELECT manual_fields FROM monitors WHERE id = 8`)).rows[0].manual_fields, /periodMs/);

      await pool.query(`INSERT INTO monitor_latency (project_id, minute, buckets, count, sum_ms) VALUES ($1, 1, '[]', 1, 1234567.891)`, [project.id]);
      assert.equal((await pool.query('SELECT sum_ms FROM monitor_latency')).rows[0].sum_ms, 1234567.891, 'floats are 8 bytes, as in SQLite');
      await database.migrate(); // the migrations after 010 over the same data
      assert.deepEqual((await pool.query('SELECT status, count::int AS n FROM issue_status_counts')).rows, [{ status: 'new', n: 1 }], '027 counts the issues already there');
      assert.deepEqual((await pool.query('SELECT day, count FROM issue_daily')).rows, [{ day: 0, count: 3 }], '028 backfills the days from the hourly counts');
      // Two events of day 1 and one of day 0 in one statement: the statement-level trigger adds them per day.
      await pool.query(`INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, title, payload)
        SELECT $1, $2, 'd' || n, CASE WHEN n = 3 THEN 7 ELSE 86400000 + n END, 0, 'error', 'Boom', '\\x00' FROM generate_series(1, 3) n`, [project.id, issue.id]);
      assert.deepEqual((await pool.query('SELECT day, count FROM issue_daily ORDER BY day')).rows, [{ day: 0, count: 4 }, { day: 1, count: 2 }], 'the trigger counts per day');
      assert.deepEqual((await pool.query('SELECT hour, count FROM issue_hourly ORDER BY hour')).rows, [{ hour: 0, count: 1 }, { hour: 5, count: 2 }, { hour: 6, count: 1 }, { hour: 24, count: 2 }], 'and per hour as before');
      assert.equal((await pool.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'issues_level_status_last_seen'`)).rows.length, 1, '029: the level index');
      const { rows: statistics } = await pool.query(
        `SELECT pg_get_statisticsobjdef(s.oid) AS def FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE n.nspname = current_schema() AND s.stxname = 'issue_tags_key_value_stats'`,
      );
      assert.match(statistics[0]?.def ?? '', /\(mcv\) ON key, value FROM .*issue_tags/, '029: statistics on tag key and value together');
      assert.equal(await database.migrate(), 0, 'nothing left to apply');
    } finally {
      await database.close();
    }
  });

  it('020 + 026: a trigram index (pg_trgm, outside the schema) on issue_text serves the free-text search\'s candidates; issues carries none', async () => {
    const fresh = await createTestSchema('migrations_trgm');
    const database = await PostgresDatabase.open(fresh.options());
    try {
      const { rows: opclass } = await database.pool.query(`SELECT n.nspname FROM pg_opclass c JOIN pg_namespace n ON n.oid = c.opcnamespace WHERE c.opcname = 'gin_trgm_ops'`);
      assert.notEqual(opclass[0]?.nspname, fresh.name, 'the extension lives outside Botpulse\'s schema, which may be dropped');
      const { rows: indexes } = await database.pool.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'issue_text_trgm'`, [fresh.name]);
      assert.match(indexes[0]?.indexdef ?? '', /ON \S*issue_text USING gin .*gin_trgm_ops/);
      // The digest rewrites every issue row it touches: a GIN index there re-indexes an unchanged title each time.
      const { rows: onIssues } = await database.pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'issues' AND indexdef LIKE '%USING gin%'`, [fresh.name]);
      assert.deepEqual(onIssues, []);
      const { from, where, args } = issueSearchSql({ text: 'payments' });
      const plan = await database.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL enable_seqscan = off`.execute(trx); // an empty table: make the planner show what it would use at size
        const explained = await withArgs(`EXPLAIN SELECT i.id ${from} WHERE ${where.join(' AND ')}`, args).execute(trx);
        return explained.rows.map((r) => Object.values(r as object)[0]).join('\n');
      });
      assert.match(plan, /issue_text_trgm/);
    } finally {
      await database.close();
      await fresh.drop();
    }
  });

  it('026: issue_text follows the issues table (insert, title change, delete, truncate); the hourly counts are counted per statement', async () => {
    const fresh = await createTestSchema('migrations_issue_text');
    const database = await PostgresDatabase.open(fresh.options());
    const { pool } = database;
    const texts = async () => (await pool.query('SELECT issue_id::int AS id, text FROM issue_text ORDER BY issue_id')).rows;
    try {
      const { rows: [project] } = await pool.query(`INSERT INTO projects (slug, name, public_key, short_id_prefix, created_at) VALUES ('pay', 'Pay', 'k1', 'P', 1) RETURNING id`);
      const issue = async (n: number, title: string, culprit: string | null) =>
        (await pool.query(`INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, culprit, level, first_seen, last_seen) VALUES ($1, $2, 1, $3, $4, $5, 'error', 1, 1) RETURNING id`, [project.id, n, `fp${n}`, title, culprit])).rows[0].id;
      const a = Number(await issue(1, 'TypeError: boom', 'pay.ts'));
      const b = Number(await issue(2, 'KeyError: user', null));
      assert.deepEqual(await texts(), [{ id: a, text: 'TypeError: boom\npay.ts' }, { id: b, text: 'KeyError: user\n' }]);
      await pool.query(`UPDATE issues SET event_count = event_count + 1, last_seen = 2, title = title WHERE id = $1`, [a]);
      await pool.query(`UPDATE issues SET culprit = 'users.py' WHERE id = $1`, [b]);
      assert.deepEqual(await texts(), [{ id: a, text: 'TypeError: boom\npay.ts' }, { id: b, text: 'KeyError: user\nusers.py' }]);
      const { from, where, args } = issueSearchSql({ text: 'users.PY' });
      const found = await withArgs(`SELECT i.id ${from} WHERE ${where.join(' AND ')}`, args).execute(database.db);
      assert.deepEqual(found.rows.map((r) => Number((r as { id: number }).id)), [b]);
      await pool.query(`DELETE FROM issues WHERE id = $1`, [a]);
      assert.deepEqual((await texts()).map((t) => t.id), [b]);
      // Three events of one issue and hour in one statement, one in the next hour: two upserts.
      await pool.query(`INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, title, payload)
        SELECT $1, $2, 'e' || n, 3600000 * 5 + n * (CASE WHEN n = 4 THEN 3600000 ELSE 1 END), 0, 'error', 't', '\\x00' FROM generate_series(1, 4) n`, [project.id, b]);
      const { rows: hourly } = await pool.query('SELECT hour::int AS hour, count FROM issue_hourly WHERE issue_id = $1 ORDER BY hour', [b]);
      assert.deepEqual(hourly, [{ hour: 5, count: 3 }, { hour: 9, count: 1 }]);
      await pool.query('TRUNCATE issues, events, issue_hourly');
      assert.deepEqual(await texts(), []);
    } finally {
      await database.close();
      await fresh.drop();
    }
  });

  it('027 + 030: issue status counters follow inserts, status and project changes, deletes and truncation (totals plus deltas)', async () => {
    const fresh = await createTestSchema('migrations_status_counts');
    const database = await PostgresDatabase.open(fresh.options());
    const { pool } = database;
    const counts = async (projectId?: number) =>
      (await pool.query(`SELECT status, SUM(n)::int AS n FROM (SELECT project_id, status, count AS n FROM issue_status_counts UNION ALL SELECT project_id, status, delta FROM issue_status_deltas) t
          ${projectId ? 'WHERE project_id = $1' : ''} GROUP BY status HAVING SUM(n) <> 0 ORDER BY status`, projectId ? [projectId] : []))
        .rows.map((r) => `${r.status} ${r.n}`);
    try {
      const projects = (await pool.query(`INSERT INTO projects (slug, name, public_key, short_id_prefix, created_at) VALUES ('a', 'A', 'k1', 'A', 1), ('b', 'B', 'k2', 'B', 1) RETURNING id`)).rows.map((r) => Number(r.id));
      const issue = async (client: pg.Pool | pg.PoolClient, projectId: number, n: number, status: string) =>
        Number((await client.query(`INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, level, status, first_seen, last_seen) VALUES ($1, $2, 1, $3, 't', 'error', $4, 1, 1) RETURNING id`, [projectId, n, `fp${n}`, status])).rows[0].id);
      // Two connections held at once: two backends, most likely two slots.
      const [one, two] = [await pool.connect(), await pool.connect()];
      const a = await issue(one, projects[0]!, 1, 'new');
      const b = await issue(two, projects[0]!, 2, 'new');
      await issue(two, projects[1]!, 3, 'resolved');
      await one.query(`UPDATE issues SET status = 'resolved' WHERE id = $1`, [b]);
      await two.query(`UPDATE issues SET status = 'new', event_count = 3 WHERE id = $1`, [a]); // unchanged
      one.release();
      two.release();
      assert.deepEqual(await counts(projects[0]), ['new 1', 'resolved 1']);
      await pool.query(`UPDATE issues SET project_id = $1 WHERE id = $2`, [projects[1], a]);
      assert.deepEqual(await counts(projects[0]), ['resolved 1']);
      assert.deepEqual(await counts(projects[1]), ['new 1', 'resolved 1']);
      await pool.query(`DELETE FROM issues WHERE id = $1`, [b]);
      assert.deepEqual(await counts(), ['new 1', 'resolved 1']);
      await pool.query('TRUNCATE issues, events, issue_hourly');
      assert.deepEqual(await counts(), []);
      assert.equal(Number((await pool.query('SELECT COUNT(*) AS n FROM issue_status_counts')).rows[0].n), 0, 'truncated with the issues');
      assert.equal(Number((await pool.query('SELECT COUNT(*) AS n FROM issue_status_deltas')).rows[0].n), 0, 'and the deltas');
    } finally {
      await database.close();
      await fresh.drop();
    }
  });

  it('030: the slots 027 kept per connection become deltas, the counts read the same, and 030 goes down again', async () => {
    const fresh = await createTestSchema('migrations_status_deltas');
    const database = await PostgresDatabase.open(fresh.options(), { migrate: false });
    const { pool } = database;
    const to = (name: string) => createMigrator(migrationKysely(pool, fresh.name), { schema: fresh.name }).migrateTo(name);
    const sums = async () =>
      (await pool.query(`SELECT status, SUM(n)::int AS n FROM (SELECT status, count AS n FROM issue_status_counts UNION ALL SELECT status, delta FROM issue_status_deltas) t GROUP BY status HAVING SUM(n) <> 0 ORDER BY status`))
        .rows.map((r) => `${r.status} ${r.n}`);
    try {
      assert.equal((await to('027_issue_status_counts')).error, undefined);
      const { rows: [p] } = await pool.query(`INSERT INTO projects (slug, name, public_key, short_id_prefix, created_at) VALUES ('a', 'A', 'k1', 'A', 1) RETURNING id`);
      const [one, two] = [await pool.connect(), await pool.connect()];
      for (const [n, client] of [[1, one], [2, two], [3, two]] as const) {
        await client.query(`INSERT INTO issues (project_id, short_number, grouping_version, fingerprint, title, level, first_seen, last_seen) VALUES ($1, $2, 1, $3, 't', 'error', 1, 1)`, [p.id, n, `fp${n}`]);
      }
      await one.query(`UPDATE issues SET status = 'resolved' WHERE short_number = 3`);
      one.release();
      two.release();
      assert.equal((await to('030_issue_status_deltas')).error, undefined);
      assert.deepEqual(await sums(), ['new 2', 'resolved 1'], 'the same counts');
      assert.equal(Number((await pool.query('SELECT COUNT(*) AS n FROM issue_status_counts WHERE slot <> 0')).rows[0].n), 0, 'no slot but 0 left');
      await pool.query(`UPDATE issues SET status = 'ignored' WHERE short_number = 1`);
      assert.equal(Number((await pool.query(`SELECT COUNT(*) AS n FROM issue_status_deltas WHERE status = 'ignored' AND delta = 1`)).rows[0].n), 1, 'a change inserts a delta');
      assert.deepEqual(await sums(), ['ignored 1', 'new 1', 'resolved 1'], 'a change appends');
      assert.equal((await to('027_issue_status_counts')).error, undefined, 'down');
      assert.equal(Number((await pool.query(`SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'issue_status_deltas'`, [fresh.name])).rows[0].n), 0);
      await pool.query(`UPDATE issues SET status = 'new' WHERE short_number = 1`);
      assert.deepEqual((await pool.query(`SELECT status, SUM(count)::int AS n FROM issue_status_counts GROUP BY status HAVING SUM(count) <> 0 ORDER BY status`)).rows.map((r) => `${r.status} ${r.n}`), ['new 2', 'resolved 1'], '027 counts again');
    } finally {
      await database.close();
      await fresh.drop();
    }
  });

  it('are applied once when several processes start together', async () => {
    const fresh = await createTestSchema('migrations_race');
    try {
      const opened = await Promise.all([1, 2, 3].map(() => PostgresDatabase.open(fresh.options({ poolMax: 2 }))));
      const { rows } = await opened[0]!.pool.query('SELECT name FROM kysely_migration ORDER BY name');
      assert.deepEqual(rows.map((r) => r.name), Object.keys(migrations));
      await Promise.all(opened.map((d) => d.close()));
    } finally {
      await fresh.drop();
    }
  });

  it('are not thrown off by other sessions creating and dropping schemas meanwhile (parallel test files, other apps)', async () => {
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    let churning = true;
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        const name = `bp_churn_${process.pid}_${i}`;
        await admin.query(`CREATE SCHEMA ${name}; CREATE TABLE ${name}.t (a int, b text, c bigint); CREATE TABLE ${name}.u (a int)`);
        await admin.query(`DROP SCHEMA ${name} CASCADE`);
      }
    })();
    try {
      for (let round = 0; round < 3; round++) {
        const fresh = await createTestSchema(`migrations_churn_${round}`);
        try {
          await (await PostgresDatabase.open(fresh.options({ poolMax: 2 }))).close();
        } finally {
          await fresh.drop();
        }
      }
    } finally {
      churning = false;
      await churn;
      await admin.end();
    }
  });

  it('never shows the password when PostgreSQL refuses or cannot be reached', async () => {
    const secret = 'hunter2-' + 'x'.repeat(8);
    const url = new URL(TEST_POSTGRES_URL);
    url.password = secret;
    const noDatabase = new URL(url);
    noDatabase.pathname = '/bp_no_such_database';
    const closed = new URL(url);
    closed.port = '1';
    for (const target of [noDatabase, closed]) {
      const dbUrl = new DatabaseUrl(target.toString());
      await assert.rejects(PostgresDatabase.open({ url: dbUrl, poolMax: 1, statementTimeoutMs: 1000 }), (err: Error) => {
        assert.ok(err.message.startsWith(`cannot use PostgreSQL at ${dbUrl.redacted}: `), err.message);
        assert.ok(!err.message.includes(secret) && !JSON.stringify(err).includes(secret), err.message);
        return true;
      });
    }
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jsonItem, serializeEnvelope } from '@botpulse/protocol';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { hashPassword } from '../lib/password.js';
import { monitorStoreFor } from '../main.js';
import { PostgresDatabase } from '../store/postgres/database.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../test-support/postgres.js';
import { startTestServer, type TestServer } from '../test-support/server.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const SECRET = 'n0t-For-Output-7719';
const built = existsSync(CLI);
const skip = (!built && 'run `npm run build` first (npm test does)') || (await postgresUnavailable());

function botpulse(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, BOTPULSE_LOG_LEVEL: 'silent', ...env }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Polls `check` until it holds; fails with `what` if it never does (a generous bound, not a timing claim). */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The schema's URL with a password added (the local server trusts 127.0.0.1, so any password works). */
function withPassword(schema: TestSchema): string {
  const url = new URL(schema.url.reveal());
  url.password = SECRET;
  return url.toString();
}

/** Rows per table of a SQLite data directory, as the copy must reproduce them (the spool is in its own file). */
function sqliteCounts(dataDir: string): Map<string, number> {
  const main = new Sqlite(join(dataDir, 'botpulse.db'), { readonly: true });
  const spool = new Sqlite(join(dataDir, 'botpulse-spool.db'), { readonly: true });
  try {
    const tables = (main.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'kysely_%' AND name NOT LIKE 'log_lines_fts%' AND name NOT LIKE 'issues_text%'`).all() as { name: string }[]).map((r) => r.name);
    const counts = new Map(tables.map((t) => [t, Number(main.prepare(`SELECT COUNT(*) FROM "${t}"`).pluck().get())]));
    counts.set('spool', counts.get('spool')! + Number(spool.prepare('SELECT COUNT(*) FROM spool').pluck().get()));
    return counts;
  } finally {
    main.close();
    spool.close();
  }
}

async function postgresCounts(schema: TestSchema, tables: Iterable<string>): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: schema.url.reveal() });
  await client.connect();
  try {
    const counts = new Map<string, number>();
    for (const t of tables) counts.set(t, Number((await client.query(`SELECT COUNT(*) AS n FROM "${t}"`)).rows[0].n));
    return counts;
  } finally {
    await client.end();
  }
}

async function onPostgres(schema: TestSchema, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: schema.url.reveal() });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

describe('`botpulse migrate-data` from a populated SQLite data directory to PostgreSQL', { skip }, () => {
  let sqlite: TestServer;
  let dataDir: string;
  let shortIds: Map<string, string>;
  const eventId = () => crypto.randomUUID().replace(/-/g, '');

  async function send(server: TestServer, publicKey: string, items: ReturnType<typeof jsonItem>[], headers: Record<string, unknown> = {}): Promise<number> {
    const res = await fetch(`${server.url}/api/${server.project.id}/envelope/?sentry_key=${publicKey}`, { method: 'POST', body: serializeEnvelope({ headers, items }) });
    await res.text();
    return res.status;
  }

  before(async () => {
    sqlite = await startTestServer();
    dataDir = sqlite.dataDir;
    const key = sqlite.project.publicKey;
    // Two issues (one with two events, a release, tags and a user), an attachment, and a client report.
    const withFile = eventId();
    assert.equal(
      await send(sqlite, key, [jsonItem('event', { event_id: withFile, message: 'Payment timeout', level: 'error', release: 'shop@1.0', tags: { chat: 'private' }, user: { id: '42' } }), { headers: { type: 'attachment', filename: 'update.json', content_type: 'application/json' }, payload: Buffer.from('{"update_id":1}') }], { event_id: withFile }),
      200,
    );
    assert.equal(await send(sqlite, key, [jsonItem('event', { event_id: eventId(), message: 'Payment timeout', level: 'error', release: 'shop@1.1' })]), 200);
    assert.equal(await send(sqlite, key, [jsonItem('event', { event_id: eventId(), message: 'Menu crashed', level: 'fatal' })]), 200);
    assert.equal(await send(sqlite, key, [jsonItem('client_report', { timestamp: Date.now() / 1000, discarded_events: [{ reason: 'queue_overflow', category: 'error', quantity: 3 }] })]), 200);
    // Log lines (SQLite's full-text index stays behind: PostgreSQL indexes the column itself).
    const logs = await fetch(`${sqlite.url}/api/${sqlite.project.id}/logs/?sentry_key=${key}`, { method: 'POST', body: '{"msg":"Payment provider slow","level":"warn","duration_ms":812,"botpulse.line_id":"l-1"}\n{"msg":"Payment done","level":"info"}' });
    assert.equal(logs.status, 200);
    await sqlite.digested();
    await sqlite.botpulse.store.createProject({ name: 'Second Bot', shortIdPrefix: 'SEC' });
    await monitorStoreFor(sqlite.botpulse.store).createMonitor({ projectId: sqlite.project.id, slug: 'poller', kind: 'heartbeat', source: 'ping', periodMs: 60_000, graceMs: 30_000 }, Date.now());
    await sqlite.botpulse.store.addUser('admin', await hashPassword('correct horse battery'));
    const { issues } = await sqlite.botpulse.store.listIssues({ projectId: sqlite.project.id });
    shortIds = new Map(issues.map((i) => [i.title, i.shortId]));
    assert.equal(shortIds.size, 2);
    await sqlite.close({ keepData: true });

    // An item answered 200 by a server that stopped before digesting it.
    const store = await SqliteStore.open(join(dataDir, 'botpulse.db'));
    const spooled = eventId();
    await store.appendToSpool([{ projectId: sqlite.project.id, kind: 'event', eventId: spooled, receivedAt: Date.now(), payload: Buffer.from(JSON.stringify({ event_id: spooled, message: 'Left in the spool', level: 'error' })) }]);
    await store.close();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('copies every table with equal counts; the old DSN, token and short ids work on a server started on PostgreSQL, which digests the spooled item', async () => {
    const schema = await createTestSchema('migrate_data');
    let server: TestServer | undefined;
    try {
      const expected = sqliteCounts(dataDir);
      for (const table of ['projects', 'issues', 'events', 'attachments', 'releases', 'issue_tags', 'issue_users', 'issue_hourly', 'item_counts', 'client_discards', 'monitors', 'monitor_states', 'users', 'api_tokens', 'log_lines']) {
        assert.ok(expected.get(table)! > 0, `the SQLite data has ${table} rows to copy`);
      }
      assert.equal(expected.get('spool'), 1, 'one item waits in the spool');

      const run = await botpulse(['migrate-data', '--from', dataDir, '--to', withPassword(schema)]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.ok(!(run.stdout + run.stderr).includes(SECRET), 'the password is never printed');
      for (const [table, rows] of expected) assert.match(run.stdout, new RegExp(`^  ${table} +${rows} row\\(s\\)$`, 'm'), `a progress line for ${table}`);
      assert.match(run.stdout, new RegExp(`^verified: ${expected.size} tables, `, 'm'));
      assert.deepEqual(await postgresCounts(schema, expected.keys()), expected);

      server = await startTestServer({ BOTPULSE_DATABASE_URL: schema.url.reveal() });
      const store = server.botpulse.store;
      assert.equal(server.project.publicKey, sqlite.project.publicKey, 'the same project, with the same key');
      await eventually('the spooled item digested', async () => (await store.listIssues({ projectId: server!.project.id, text: 'Left in the spool' })).issues.length === 1);
      const { issues } = await store.listIssues({ projectId: server.project.id });
      for (const [title, shortId] of shortIds) assert.equal(issues.find((i) => i.title === title)?.shortId, shortId, `${title} keeps its short id`);
      assert.equal(issues.find((i) => i.title === 'Payment timeout')?.eventCount, 2);
      // Copied issues are found by their text too (PostgreSQL's issue_text is filled from the copied rows).
      assert.deepEqual((await store.listIssues({ projectId: server.project.id, text: 'payment TIMEOUT' })).issues.map((i) => i.title), ['Payment timeout']);

      // The DSN every bot already has: accepted, stored, into a new issue numbered after the copied ones.
      const fresh = eventId();
      assert.equal(await send(server, sqlite.project.publicKey, [jsonItem('event', { event_id: fresh, message: 'After the move', level: 'error' })]), 200);
      await eventually('the new event stored', async () => (await store.getEvent(server!.project.id, fresh)) !== null);
      const after = (await store.listIssues({ projectId: server.project.id, text: 'After the move' })).issues[0]!;
      const numbers = [...shortIds.values(), issues.find((i) => i.title === 'Left in the spool')!.shortId].map((s) => Number(s.split('-')[1]));
      assert.ok(Number(after.shortId.split('-')[1]) > Math.max(...numbers), `${after.shortId} follows the copied short ids`);

      assert.ok(await store.verifyApiToken(sqlite.token), 'the API token made on SQLite is accepted');
      assert.ok(await store.getUser('admin'), 'the dashboard user moved');
      assert.deepEqual((await server.botpulse.monitoring.store.listMonitors()).map((m) => m.slug), ['poller']);
    } finally {
      await server?.close();
      await schema.drop();
    }
  });

  it('refuses a target that already holds Botpulse data, saying why, and replaces it with --force', async () => {
    const schema = await createTestSchema('migrate_data_full');
    try {
      const first = await botpulse(['migrate-data', '--from', dataDir], { BOTPULSE_DATABASE_URL: schema.url.reveal() });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const again = await botpulse(['migrate-data', '--from', dataDir], { BOTPULSE_DATABASE_URL: schema.url.reveal() });
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already holds Botpulse data \(.*projects.*\).*--force/);
      const forced = await botpulse(['migrate-data', '--from', dataDir, '--force'], { BOTPULSE_DATABASE_URL: schema.url.reveal() });
      assert.equal(forced.code, 0, forced.stdout + forced.stderr);
      assert.match(forced.stdout, /--force: deleted the rows the target held in .*projects/);
      const expected = sqliteCounts(dataDir);
      assert.deepEqual(await postgresCounts(schema, expected.keys()), expected, 'each row once, not twice');
    } finally {
      await schema.drop();
    }
  });

  it('exits 1 naming the table when a count differs after the copy, and commits nothing', async () => {
    const schema = await createTestSchema('migrate_data_mismatch');
    try {
      // Migrated first, then a rule that swallows the inserts into one table.
      await (await PostgresDatabase.open(schema.options())).close();
      await onPostgres(schema, 'CREATE RULE swallow AS ON INSERT TO releases DO INSTEAD NOTHING');
      const run = await botpulse(['migrate-data', '--from', dataDir], { BOTPULSE_DATABASE_URL: schema.url.reveal() });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stderr, /row counts differ after the copy \(releases: SQLite 2, PostgreSQL 0\); nothing was committed/);
      const counts = await postgresCounts(schema, ['projects', 'events', 'users']);
      assert.deepEqual([...counts.values()], [0, 0, 0], 'the target is as it was');
    } finally {
      await schema.drop();
    }
  });

  it('also copies spool rows found in the main file (unused by SQLite stores, never dropped), numbered after the spool file\'s', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'botpulse-migrate-legacy-'));
    const schema = await createTestSchema('migrate_data_legacy');
    try {
      cpSync(dataDir, copy, { recursive: true });
      const spoolFile = new Sqlite(join(copy, 'botpulse-spool.db'), { readonly: true });
      const takenId = Number(spoolFile.prepare('SELECT MAX(id) FROM spool').pluck().get());
      spoolFile.close();
      // The same id as the spool file's row: the two files number their spools independently.
      const main = new Sqlite(join(copy, 'botpulse.db'));
      main.prepare('INSERT INTO spool (id, project_id, kind, event_id, received_at, payload) VALUES (?, ?, ?, ?, ?, ?)').run(takenId, sqlite.project.id, 'event', eventId(), Date.now(), Buffer.from('{"message":"legacy"}'));
      main.close();
      const run = await botpulse(['migrate-data', '--from', copy], { BOTPULSE_DATABASE_URL: schema.url.reveal() });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /^  spool +2 row\(s\)$/m);
      const client = new pg.Client({ connectionString: schema.url.reveal() });
      await client.connect();
      try {
        const { rows } = await client.query('SELECT id FROM spool ORDER BY id');
        assert.equal(new Set(rows.map((r: { id: string }) => r.id)).size, 2, 'two distinct ids');
      } finally {
        await client.end();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
      await schema.drop();
    }
  });

  it('names a missing data directory, and a --to that is not PostgreSQL without echoing its password', async () => {
    const missing = await botpulse(['migrate-data', '--from', join(dataDir, 'nope'), '--to', 'postgres://u@127.0.0.1/x']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such directory/);
    const wrong = await botpulse(['migrate-data', '--from', dataDir, '--to', `mysql://bot:${SECRET}@127.0.0.1/x`]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /--to must be a postgres:\/\/ or postgresql:\/\/ URL/);
    assert.ok(!wrong.stderr.includes(SECRET));
  });
});

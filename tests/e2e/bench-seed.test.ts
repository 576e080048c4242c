// The benchmarks' bulk seeder (benchmarks/lib/bulk-seed.mjs) must write what the digest writes:
// the same events are seeded once through it and once through the spool and the store's own
// digestBatch (what the digest thread runs after intake), and the two databases must hold the same
// rows (events compared column by column except the row id and the payload bytes, which a copied
// event takes from its template) and show the same issue list pages.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../../packages/server/src/config/load.js';
import { issueLifecycle } from '../../packages/server/src/digest/lifecycle.js';
import { createRowDigester } from '../../packages/server/src/digest/process.js';
import { hashPassword } from '../../packages/server/src/lib/password.js';
import { createBotpulse } from '../../packages/server/src/main.js';
import { decodePayload } from '../../packages/server/src/store/payload.js';
import { SqliteStore } from '../../packages/server/src/store/sqlite/index.js';

const Sqlite = createRequire(import.meta.url)('better-sqlite3');
const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'packages/server/src');
const ISSUES = 300;
const EVENTS = 5_000;
const PROJECTS = 2;

// The benchmark modules are plain ES modules outside the type-checked packages.
const lib = (await import(pathToFileURL(join(ROOT, 'benchmarks/lib/bulk-seed.mjs')).href)) as any;
const gen = (await import(pathToFileURL(join(ROOT, 'benchmarks/dashboard/seed.mjs')).href)) as any;

describe('the benchmarks bulk seeder', () => {
  const root = mkdtempSync(join(os.tmpdir(), 'botpulse-bench-seed-'));
  const seeded = join(root, 'seeded');
  const digested = join(root, 'digested');
  const now = Date.now();
  const plan = gen.eventPlan({ issues: ISSUES, events: EVENTS, now });

  before(async () => {
    for (const dir of [seeded, digested]) mkdirSync(dir);
    // Through the seeder (this source tree's modules), small batches so templates and copies cross them.
    const seeder = await lib.BulkSeeder.open(SRC, join(seeded, 'botpulse.db'));
    gen.createProjects(seeder.db, PROJECTS, plan.start);
    lib.seedEvents(seeder, EVENTS, (k: number) => gen.dashboardItem(k, plan.eventIssue[k], plan.eventTime[k], PROJECTS), { batch: 700 });
    gen.triage(seeder.db);
    seeder.close();

    // Through the spool and the digest's batches, every event digested from its own raw bytes.
    const store = await SqliteStore.open(join(digested, 'botpulse.db'));
    await store.close();
    const db = new Sqlite(join(digested, 'botpulse.db'));
    gen.createProjects(db, PROJECTS, plan.start);
    db.close();
    const again = await SqliteStore.open(join(digested, 'botpulse.db'));
    const items = [];
    for (let k = 0; k < EVENTS; k++) {
      const i = plan.eventIssue[k];
      const event = gen.dashboardEvent(k, i, plan.eventTime[k]);
      items.push({ projectId: (i % PROJECTS) + 1, kind: 'event', eventId: event.event_id, receivedAt: plan.eventTime[k], payload: Buffer.from(JSON.stringify(event)) });
    }
    await again.appendToSpool(items);
    const digest = createRowDigester({});
    while ((await again.digestBatch(400, digest, issueLifecycle)).rows > 0);
    await again.close();
    const db2 = new Sqlite(join(digested, 'botpulse.db'));
    gen.triage(db2);
    db2.close();
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  const both = (sql: string) =>
    [seeded, digested].map((dir) => {
      const db = new Sqlite(join(dir, 'botpulse.db'), { readonly: true });
      try {
        return db.prepare(sql).all();
      } finally {
        db.close();
      }
    });

  for (const [table, sql] of [
    ['issues', 'SELECT * FROM issues ORDER BY id'],
    ['issue_users', 'SELECT * FROM issue_users ORDER BY issue_id, user_key'],
    ['issue_tags', 'SELECT * FROM issue_tags ORDER BY issue_id, key, value'],
    ['issue_hourly', 'SELECT * FROM issue_hourly ORDER BY issue_id, hour'],
    ['issue_daily', 'SELECT * FROM issue_daily ORDER BY issue_id, day'],
    ['releases', 'SELECT * FROM releases ORDER BY project_id, version'],
    ['issue_history', 'SELECT issue_id, action, detail FROM issue_history ORDER BY id'],
    ['the text index', `SELECT rowid FROM issues_text WHERE issues_text MATCH '"payments"' ORDER BY rowid`],
    [
      'events (but the row id and payload)',
      `SELECT project_id, issue_id, event_id, timestamp, received_at, level, environment, release, origin, title, message, user_key,
         tg_chat_id, tg_user_id, tg_update_id, http_status, url_pattern, tags FROM events ORDER BY event_id`,
    ],
  ] as const) {
    it(`writes the same ${table} as the digest`, () => {
      const [a, b] = both(sql);
      // No regressions or mutes happen in a seed: the history stays empty on both sides.
      if (table !== 'issue_history') assert.ok(b!.length > 0, `the digest wrote ${table}`);
      assert.deepEqual(a, b);
    });
  }

  it('gives every event a payload the event page can read, with its issue exception', () => {
    const [rows] = both('SELECT e.payload, i.title FROM events e JOIN issues i ON i.id = e.issue_id ORDER BY e.id DESC LIMIT 50');
    for (const r of rows as { payload: Buffer; title: string }[]) {
      const payload = decodePayload<{ exception: { values: { type: string }[] } }>(r.payload);
      assert.ok(r.title.startsWith(`${payload.exception.values[0]!.type}:`), r.title);
    }
  });

  it('rebuilds the events indexes and hourly trigger it deferred', () => {
    const [a, b] = both(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'events' ORDER BY name`);
    assert.deepEqual(a, b);
  });

  it('shows the same issue list pages as the digest', async () => {
    const pages: string[][] = [];
    for (const dir of [seeded, digested]) {
      const botpulse = await createBotpulse(loadConfig({ BOTPULSE_DATA_DIR: dir, BOTPULSE_LOG_LEVEL: 'silent', BOTPULSE_PORT: '0' }));
      try {
        await botpulse.app.ready();
        const cookies = await logIn(botpulse);
        const bodies = [];
        for (const url of ['/issues?status=all&sort=count', '/issues?status=all&page=3', '/issues?q=payments', `/issues?q=${encodeURIComponent('chat_type:group level:error')}`]) {
          const res = await botpulse.app.inject({ method: 'GET', url, cookies });
          assert.equal(res.statusCode, 200, url);
          // Per session (CSRF token, nonce) or per clock (relative ages) parts differ between any two renders.
          bodies.push(res.body.replace(/(name="_csrf" value="|nonce=")[^"]*"/g, '$1"').replace(/data-abs>[^<]*</g, 'data-abs><'));
        }
        pages.push(bodies);
      } finally {
        await botpulse.close();
      }
    }
    assert.match(pages[1]![0]!, /B1-001/);
    assert.deepEqual(pages[0], pages[1]);
  });
});

async function logIn(botpulse: Awaited<ReturnType<typeof createBotpulse>>): Promise<Record<string, string>> {
  await botpulse.store.addUser('bench', await hashPassword('bench password'));
  const form = await botpulse.app.inject({ method: 'GET', url: '/login' });
  const token = /bp_login_csrf=([^;]+)/.exec(String(form.headers['set-cookie']))![1]!;
  const res = await botpulse.app.inject({
    method: 'POST',
    url: '/login',
    cookies: { bp_login_csrf: token },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: token, login: 'bench', password: 'bench password' }).toString(),
  });
  return { bp_session: /bp_session=([^;]+)/.exec([res.headers['set-cookie']].flat().join('\n'))![1]! };
}

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Migrator, sql, type Migration } from 'kysely';
import { migrations } from '../migrations/index.js';
import { SqliteStore } from './index.js';

describe('migration 020 (the issues text index) on SQLite', () => {
  it('indexes the issues already there, and triggers keep the index in step with inserts, title/culprit changes and deletes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-m020-'));
    try {
      const store = await SqliteStore.open(join(dir, 'botpulse.db'), { migrate: false });
      const migrator = new Migrator({ db: store.kysely, provider: { getMigrations: async (): Promise<Record<string, Migration>> => migrations } });
      assert.equal((await migrator.migrateTo('018_issue_story')).error, undefined);
      const db = store.kysely;
      await sql`INSERT INTO projects (id, slug, name, public_key, short_id_prefix, next_short_id, created_at) VALUES (1, 'pay', 'Pay', ${'0'.repeat(32)}, 'P', 3, 0)`.execute(db);
      const addIssue = (id: number, title: string, culprit: string | null) =>
        sql`INSERT INTO issues (id, project_id, short_number, grouping_version, fingerprint, title, culprit, level, first_seen, last_seen)
            VALUES (${id}, 1, ${id}, 1, ${`fp-${id}`}, ${title}, ${culprit}, 'error', 0, 0)`.execute(db);
      await addIssue(1, 'Timeout talking to payments', 'workers/queue in processJob');
      await addIssue(2, 'KeyError: user', null);
      await store.migrate();
      const found = async (text: string) =>
        (await sql<{ rowid: number }>`SELECT rowid FROM issues_text WHERE issues_text MATCH ${`"${text}"`} ORDER BY rowid`.execute(db)).rows.map((r) => Number(r.rowid));
      assert.deepEqual(await found('ayment'), [1], 'existing issues are indexed by the migration');
      assert.deepEqual(await found('QUEUE in'), [1], 'culprits too, any case');
      await addIssue(3, 'Payments gateway down', 'billing');
      assert.deepEqual(await found('ayment'), [1, 3], 'an insert is indexed');
      await sql`UPDATE issues SET title = 'Timeout talking to ledger', culprit = 'ledger' WHERE id = 1`.execute(db);
      assert.deepEqual(await found('ayment'), [3], 'the old title leaves the index');
      assert.deepEqual(await found('ledger'), [1], 'the new one enters it');
      await sql`UPDATE issues SET event_count = 5, title = title WHERE id = 3`.execute(db);
      assert.deepEqual(await found('gateway'), [3], 'an update that keeps the text keeps the entry');
      await sql`DELETE FROM issues WHERE id = 3`.execute(db);
      assert.deepEqual(await found('ayment'), [], 'a delete leaves the index');
      const integrity = await sql`INSERT INTO issues_text (issues_text, rank) VALUES ('integrity-check', 1)`.execute(db).then(() => 'ok', (e: Error) => e.message);
      assert.equal(integrity, 'ok', 'the index matches the issues table');
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers tag and text searches the same whether it reads the matches by id or walks issues_last_seen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-m020-'));
    try {
      const store = await SqliteStore.open(join(dir, 'botpulse.db'));
      const db = store.kysely;
      await sql`INSERT INTO projects (id, slug, name, public_key, short_id_prefix, next_short_id, created_at) VALUES (1, 'pay', 'Pay', ${'0'.repeat(32)}, 'P', 301, 0)`.execute(db);
      const issues = Array.from({ length: 300 }, (_, n) => ({
        id: n + 1,
        lastSeen: ((n * 7919) % 300) * 1000, // shuffled against the id
        status: n % 3 === 0 ? 'resolved' : 'new',
        level: n % 4 === 0 ? 'warning' : 'error',
        tag: n % 2 === 0 ? 'group' : n % 60 === 1 ? 'channel' : 'private', // dense: 150; sparse: 5
        title: n % 2 === 0 ? `Timeout talking to payments #${n}` : `KeyError #${n}`,
      }));
      for (const i of issues) {
        await sql`INSERT INTO issues (id, project_id, short_number, grouping_version, fingerprint, title, level, status, first_seen, last_seen)
                  VALUES (${i.id}, 1, ${i.id}, 1, ${`fp-${i.id}`}, ${i.title}, ${i.level}, ${i.status}, 0, ${i.lastSeen})`.execute(db);
        await sql`INSERT INTO issue_tags (issue_id, key, value, count, last_seen) VALUES (${i.id}, 'chat_type', ${i.tag}, 1, ${i.lastSeen})`.execute(db);
      }
      const expect = (match: (i: (typeof issues)[number]) => boolean, offset: number) => {
        const all = issues.filter((i) => i.status === 'new' && i.level === 'error' && i.lastSeen >= 100_000 && match(i)).sort((a, b) => b.lastSeen - a.lastSeen || b.id - a.id);
        return { total: all.length, ids: all.slice(offset, offset + 50).map((i) => i.id) };
      };
      const search = { status: ['new' as const], level: 'error', since: 100_000 };
      for (const offset of [0, 50]) {
        for (const [tag, text] of [['group', undefined], ['channel', undefined], [undefined, 'payments'], [undefined, '#1']] as const) {
          const got = await store.searchIssues({ ...search, ...(tag ? { tags: { chat_type: tag } } : {}), text, offset });
          const want = expect((i) => (tag ? i.tag === tag : i.title.toLowerCase().includes(text!)), offset);
          assert.deepEqual({ total: got.total, ids: got.issues.map((i) => i.id) }, want, `${tag ?? text} from ${offset}`);
        }
      }
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

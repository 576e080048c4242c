import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Sqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { SqliteStore } from './index.js';

/** The issue list's SQL as SQLite plans it (no statistics: the plan is fixed by the query's shape). */
describe('the issue search on SQLite', () => {
  it('reads a page of one project sorted by users down issues_user_count when the matches pass the bound, with the same answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-search-plan-'));
    try {
      const store = await SqliteStore.open(join(dir, 'botpulse.db'));
      const db = store.kysely;
      for (const p of [1, 2]) {
        await sql`INSERT INTO projects (id, slug, name, public_key, short_id_prefix, next_short_id, created_at) VALUES (${p}, ${`p${p}`}, 'P', ${String(p).repeat(32)}, 'P', 99, 0)`.execute(db);
      }
      const issues = Array.from({ length: 60 }, (_, n) => ({ id: n + 1, projectId: (n % 2) + 1, status: n % 3 === 0 ? 'resolved' : 'new', users: (n * 7) % 13 }));
      for (const i of issues) {
        await sql`INSERT INTO issues (id, project_id, short_number, grouping_version, fingerprint, title, level, status, first_seen, last_seen, user_count)
                  VALUES (${i.id}, ${i.projectId}, ${i.id}, 1, ${`fp-${i.id}`}, 't', 'error', ${i.status}, 0, 0, ${i.users})`.execute(db);
      }
      // The SQL the search compiles: the statement cache's proxy hands its misses to the connection's own prepare.
      const prepared: string[] = [];
      const connection = store.db as unknown as { prepare: (this: unknown, source: string) => unknown };
      connection.prepare = function (this: unknown, source: string) {
        prepared.push(source);
        return Sqlite.prototype.prepare.call(this as Sqlite.Database, source);
      };
      const got = await store.searchIssues({ projectId: 2, status: ['new', 'in_progress'], sort: 'users', limit: 5, offset: 2, countUpTo: 6 });
      const want = issues.filter((i) => i.projectId === 2 && i.status === 'new').sort((a, b) => b.users - a.users || b.id - a.id);
      assert.deepEqual(got.issues.map((i) => i.id), want.slice(2, 7).map((i) => i.id));
      assert.deepEqual([got.total, got.totalIsLowerBound], [6, true]);
      const page = prepared.find((s) => s.includes('ORDER BY i.user_count'))!;
      const plan = (store.db.prepare(`EXPLAIN QUERY PLAN ${page}`).all(...page.split('?').slice(1).map(() => null)) as { detail: string }[]).map((r) => r.detail).join('\n');
      assert.match(plan, /SCAN i USING INDEX issues_user_count/);
      assert.doesNotMatch(plan, /TEMP B-TREE/, 'no sort of every match');
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('"most frequent today" on SQLite', () => {
  it('walks the day\'s issue_daily_rank entries from the top (migration 028) instead of summing the hourly counts, with the same answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-search-plan-'));
    try {
      const store = await SqliteStore.open(join(dir, 'botpulse.db'));
      const db = store.kysely;
      await sql`INSERT INTO projects (id, slug, name, public_key, short_id_prefix, next_short_id, created_at) VALUES (1, 'p1', 'P', ${'1'.repeat(32)}, 'P', 99, 0)`.execute(db);
      const day = 86_400_000;
      const today = Math.floor(Date.now() / day) * day;
      for (let id = 1; id <= 30; id++) {
        await sql`INSERT INTO issues (id, project_id, short_number, grouping_version, fingerprint, title, level, status, first_seen, last_seen)
                  VALUES (${id}, 1, ${id}, 1, ${`fp-${id}`}, 't', 'error', 'new', 0, 0)`.execute(db);
        // (id % 7) events today, spread over the hours, and some yesterday: the triggers count them.
        for (let n = 0; n < id % 7; n++) {
          await sql`INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, title, payload) VALUES (1, ${id}, ${`e-${id}-${n}`}, ${today + n * 3_600_000}, ${today}, 'error', 't', x'00')`.execute(db);
        }
        await sql`INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, title, payload) VALUES (1, ${id}, ${`y-${id}`}, ${today - 1000}, ${today}, 'error', 't', x'00')`.execute(db);
      }
      const prepared: string[] = [];
      const connection = store.db as unknown as { prepare: (this: unknown, source: string) => unknown };
      connection.prepare = function (this: unknown, source: string) {
        prepared.push(source);
        return Sqlite.prototype.prepare.call(this as Sqlite.Database, source);
      };
      const got = await store.searchIssues({ eventsSince: today, limit: 5, offset: 2, countUpTo: 10 });
      const want = Array.from({ length: 30 }, (_, n) => n + 1).filter((id) => id % 7 > 0).sort((a, b) => (b % 7) - (a % 7) || b - a);
      assert.deepEqual(got.issues.map((i) => i.id), want.slice(2, 7));
      assert.deepEqual(got.issues.map((i) => got.recentCounts.get(i.id)), want.slice(2, 7).map((id) => id % 7));
      assert.deepEqual([got.total, got.totalIsLowerBound], [10, true]);
      const page = prepared.find((s) => s.includes('ORDER BY') && s.includes('LIMIT ? OFFSET ?'))!;
      const plan = (store.db.prepare(`EXPLAIN QUERY PLAN ${page}`).all(...page.split('?').slice(1).map(() => null)) as { detail: string }[]).map((r) => r.detail).join('\n');
      assert.match(plan, /issue_daily USING (COVERING )?INDEX issue_daily_rank/);
      assert.doesNotMatch(plan, /issue_hourly/);
      assert.doesNotMatch(plan, /TEMP B-TREE FOR ORDER BY/, 'no sort of every issue seen today');
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

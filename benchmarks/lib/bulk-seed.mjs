// Bulk seeding for the benchmarks (dashboard, issue-caps): events written as the digest writes
// them, minus the HTTP intake and the spool, fast enough for 10 M events.
//
// - The file is created by the server's own migrations (SqliteStore.open).
// - Raw Sentry events go through the server's own digester (digest/process.ts: parse, normalise,
//   group, compress) and are written by the server's SQLite batch writer's own statements and issue
//   lifecycle (store/sqlite/digest-writer.ts, digest/lifecycle.ts): the issue, its counts, users,
//   tags, releases, the system's history rows, the FTS rows migration 020's triggers keep.
// - Most events repeat a template: an item names one (`template`), and only the first item of a
//   template is digested and written as above. The others are copied from that event's row in SQL
//   (INSERT ... SELECT, tens of thousands per transaction) with their own columns by this file's
//   convention for event number k: event id = k in 32 hex digits, user `tg:<k % 50000>`, Telegram
//   chat k % 1000000 and update 100000 + k, time `receivedAt` (generators make their raw events
//   follow it, so a template's own row obeys it too). What the digest would add per copy is added
//   in SQL the same way: issue counts and last seen, issue_users, issue_tags (the template's indexed
//   tags), issue_hourly. Payload bytes are the template's (the event page body of a copy shows its
//   template's breadcrumbs), every column is the copy's own. benchmarks test: seeded rows equal what
//   the digest writes for the same events (tests/e2e/bench-seed.test.ts).
// - Left out: the duplicate check (event ids are unique by construction) and the alert feed
//   (`alert_changes`: a seed is history, and a benchmark server would otherwise start by
//   evaluating every seeded issue as new).
// - Loading: the events table's secondary indexes and its hourly and daily count triggers are dropped while
//   rows go in and recreated from their own SQL after (one sorted build instead of 10 M B-tree
//   inserts), and `issue_hourly` and `issue_daily` are filled with what the triggers would have counted.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const Sqlite = createRequire(import.meta.url)('better-sqlite3');

/** The server build's modules the seeder uses (`dist` = packages/server/dist). */
export async function loadServer(dist) {
  const load = (path) => import(pathToFileURL(join(dist, path)).href);
  return {
    ...(await load('store/sqlite/index.js')),
    ...(await load('store/sqlite/digest-writer.js')),
    ...(await load('store/digest-rows.js')),
    ...(await load('store/issue-story.js')),
    ...(await load('store/model.js')),
    ...(await load('digest/lifecycle.js')),
    ...(await load('digest/process.js')),
  };
}

export class BulkSeeder {
  /**
   * Creates (or opens) `file` through the server's own migrations, then holds a connection tuned
   * for loading: no fsync (a crash loses the dataset, which is seeded again), a large page cache.
   */
  static async open(dist, file) {
    const server = await loadServer(dist);
    await (await server.SqliteStore.open(file)).close();
    return new BulkSeeder(server, file);
  }

  constructor(server, file) {
    this.server = server;
    this.db = new Sqlite(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('cache_size = -262144'); // 256 MiB
    this.digest = server.createRowDigester({ onRejected: (_row, err) => { throw err; } });
    this.writer = new server.SqliteDigestWriter(this.db);
    this.templates = new Map();
    this.nextSpoolId = 1;
    this.written = 0;
    this.firstEventId = Number(this.db.prepare('SELECT COALESCE(MAX(id), 0) + 1 FROM events').pluck().get());
    this.deferred = this.dropEventIndexes();
    this.stmt = this.prepareCopies();
  }

  /** Statements of the copies; the staging tables live in this connection's memory. */
  prepareCopies() {
    const db = this.db;
    db.pragma('temp_store = MEMORY');
    db.exec(`CREATE TEMP TABLE seed_template (id INTEGER PRIMARY KEY, event_row INTEGER NOT NULL, issue_id INTEGER NOT NULL);
      CREATE TEMP TABLE seed_template_tag (template INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);
      CREATE INDEX temp.seed_template_tag_template ON seed_template_tag (template);
      CREATE TEMP TABLE seed_stage (k INTEGER NOT NULL, template INTEGER NOT NULL, t INTEGER NOT NULL);`);
    const staged = 'seed_stage s JOIN seed_template m ON m.id = s.template';
    return {
      template: db.prepare('INSERT INTO seed_template (id, event_row, issue_id) VALUES (?, ?, ?)'),
      templateTag: db.prepare('INSERT INTO seed_template_tag (template, key, value) VALUES (?, ?, ?)'),
      stage: db.prepare('INSERT INTO seed_stage (k, template, t) VALUES (?, ?, ?)'),
      // The convention (see the top): event id, user, Telegram ids and time from k and t.
      copyEvents: db.prepare(
        `INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, environment, release, origin, title, message,
           user_key, tg_chat_id, tg_user_id, tg_update_id, http_status, url_pattern, tags, payload)
         SELECT e.project_id, e.issue_id, printf('%032x', s.k), s.t, s.t, e.level, e.environment, e.release, e.origin, e.title, e.message,
           'tg:' || (s.k % 50000), CAST(s.k % 1000000 AS TEXT), CAST(s.k % 50000 AS TEXT), 100000 + s.k, e.http_status, e.url_pattern, e.tags, e.payload
         FROM ${staged} JOIN events e ON e.id = m.event_row ORDER BY s.rowid`,
      ),
      // RETURNING gives the rows inserted, not those already there: the digest counts a user when its row is new.
      copyUsers: db.prepare(
        `INSERT INTO issue_users (issue_id, user_key) SELECT DISTINCT m.issue_id, 'tg:' || (s.k % 50000) FROM ${staged} WHERE true
         ON CONFLICT DO NOTHING RETURNING issue_id`,
      ).pluck(),
      copyTags: db.prepare(
        `INSERT INTO issue_tags (issue_id, key, value, count, last_seen)
         SELECT m.issue_id, g.key, g.value, COUNT(*), MAX(s.t) FROM ${staged} JOIN seed_template_tag g ON g.template = s.template
         GROUP BY 1, 2, 3
         ON CONFLICT (issue_id, key, value) DO UPDATE SET count = count + excluded.count, last_seen = MAX(last_seen, excluded.last_seen)`,
      ),
      copyIssueCounts: db.prepare(
        `UPDATE issues SET event_count = event_count + a.n, last_seen = MAX(last_seen, a.t)
         FROM (SELECT m.issue_id, COUNT(*) AS n, MAX(s.t) AS t FROM ${staged} GROUP BY 1) AS a WHERE issues.id = a.issue_id`,
      ),
      addUsers: db.prepare('UPDATE issues SET user_count = user_count + ? WHERE id = ?'),
      clearStage: db.prepare('DELETE FROM seed_stage'),
    };
  }

  /** The events table's secondary indexes and triggers, dropped; their SQL is kept to recreate them. */
  dropEventIndexes() {
    const objects = this.db
      .prepare(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'events' AND type IN ('index', 'trigger') AND sql IS NOT NULL`)
      .all();
    for (const o of objects) this.db.exec(`DROP ${o.type === 'index' ? 'INDEX' : 'TRIGGER'} "${o.name}"`);
    return objects;
  }

  /**
   * Writes items in ONE transaction. An item: { projectId, receivedAt, template, event: () => object }
   * with `event` making the Sentry event as an SDK sends it (only called for a template's first item).
   */
  write(items, now = Date.now()) {
    const firsts = [];
    const copies = [];
    for (const item of items) {
      const known = this.templates.get(item.template);
      if (known !== undefined) copies.push([item.k, known, item.receivedAt]);
      else {
        const id = this.templates.size + 1;
        this.templates.set(item.template, id);
        firsts.push({ id, row: this.digestOne(this.nextSpoolId++, item, item.event()) });
      }
    }
    this.db.transaction(() => {
      if (firsts.length > 0) this.writeTemplates(firsts, now);
      if (copies.length > 0) this.writeCopies(copies);
    }).immediate();
    this.written += items.length;
  }

  digestOne(id, item, event) {
    const payload = Buffer.from(JSON.stringify(event));
    return this.digest([{ id, projectId: item.projectId, kind: 'event', eventId: event.event_id, receivedAt: item.receivedAt, payload }])[0];
  }

  /** A template's first event through the digest's writes; its row and indexed tags kept for the copies. */
  writeTemplates(firsts, now) {
    this.apply(firsts.map((f) => f.row), now);
    const find = this.db.prepare('SELECT id, issue_id FROM events WHERE project_id = ? AND event_id = ?');
    for (const { id, row } of firsts) {
      const e = find.get(row.projectId, row.event.eventId);
      this.stmt.template.run(id, e.id, e.issue_id);
      for (const [key, value] of this.server.indexedTags(row.event)) this.stmt.templateTag.run(id, key, value);
    }
  }

  /** Copies of template events, and what the digest would have added for them to their issues. */
  writeCopies(copies) {
    const { stmt } = this;
    for (const [k, tmpl, t] of copies) stmt.stage.run(k, tmpl, t);
    stmt.copyEvents.run();
    const newUsers = new Map();
    for (const issueId of stmt.copyUsers.all()) newUsers.set(issueId, (newUsers.get(issueId) ?? 0) + 1);
    stmt.copyTags.run();
    stmt.copyIssueCounts.run();
    for (const [issueId, n] of newUsers) stmt.addUsers.run(n, issueId);
    stmt.clearStage.run();
  }

  /** SqliteDigestWriter.apply without the duplicate check and the alert feed (see the top). */
  apply(writes, now) {
    const { writer: w, server: s } = this;
    const lifecycle = s.issueLifecycle;
    const issues = new Map();
    const events = [];
    for (const row of writes) {
      const key = `${row.projectId}:${row.groupingVersion}:${row.fingerprint}`;
      let into = issues.get(key);
      if (!into) issues.set(key, (into = w.findOrCreateIssue(row, lifecycle)));
      const newUser = !!row.event.userKey && w.stmt.insertIssueUser.run(into.issue.id, row.event.userKey).changes > 0;
      events.push({ row, batch: { into, event: row.event, newUser } });
    }
    const batchEvents = events.map((e) => e.batch);
    const { changes, releases } = lifecycle.digestIssues(batchEvents, w.knownReleases(lifecycle.releasesToCompare(batchEvents)), now);
    for (const r of releases) w.stmt.insertRelease.run(r.projectId, r.version, r.firstSeen);
    for (const { row, batch } of events) w.stmt.insertEvent.run(s.eventParams(row, batch.into.issue.id));
    w.countTags(events);
    for (const c of changes) w.stmt.updateIssue.run(s.issueParams(c.issue));
    for (const h of s.digestHistory(changes)) w.stmt.insertHistory.run(h.issueId, h.projectId, now, s.SYSTEM_ACTOR.kind, s.SYSTEM_ACTOR.name, h.action, h.detail);
  }

  /**
   * Counts the new events per issue and hour, and per issue and day, as the dropped triggers would have, recreates the
   * indexes and triggers, folds the WAL into the file (so its size is the dataset's) and closes.
   */
  close() {
    this.db.transaction(() => {
      // The counts the dropped triggers keep (issue_daily since migration 028: a seeding build from before it has none).
      for (const [table, bucket, ms] of [['issue_hourly', 'hour', 3_600_000], ['issue_daily', 'day', 86_400_000]]) {
        if (!this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table)) continue;
        this.db
          .prepare(
            `INSERT INTO ${table} (issue_id, ${bucket}, count)
             SELECT issue_id, timestamp / ${ms}, COUNT(*) FROM events WHERE id >= ? GROUP BY 1, 2
             ON CONFLICT (issue_id, ${bucket}) DO UPDATE SET count = count + excluded.count`,
          )
          .run(this.firstEventId);
      }
      for (const o of this.deferred) this.db.exec(o.sql);
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}

/** Writes `total` events from `make(k)` (event number k: see the convention at the top) in batches of `batch`, logging the rate every `every` events. */
export function seedEvents(seeder, total, make, { batch = 20_000, log = () => {}, every = 1_000_000, offset = 0 } = {}) {
  const t0 = performance.now();
  let nextLog = every;
  for (let from = 0; from < total; from += batch) {
    const items = [];
    for (let k = from; k < Math.min(total, from + batch); k++) items.push({ k: offset + k, ...make(offset + k) });
    seeder.write(items);
    const done = Math.min(total, from + batch);
    if (done >= nextLog || done === total) {
      const s = (performance.now() - t0) / 1000;
      log(`  events: ${done.toLocaleString('en-US')} in ${s.toFixed(0)} s (${Math.round(done / s).toLocaleString('en-US')}/s)`);
      nextLog += every;
    }
  }
  return (performance.now() - t0) / 1000;
}

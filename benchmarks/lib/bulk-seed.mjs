// Bulk seeding for the benchmarks (dashboard, issue-caps): events written as the digest writes
// them, minus the HTTP intake and the spool, fast enough for 10 M events.
//
// - The file is created by the server's own migrations (SqliteStore.open).
// - Raw Sentry events go through the server's own digester (digest/process.ts: parse, normalise,
//   group, compress). An item may name a `template`: the first item of a template is digested in
//   full; the next ones reuse its digest with their own per-event columns (`vary`: event id, time,
//   user, Telegram ids, tags), so 10 M events cost thousands of digests, not millions. Their
//   payload bytes are the template's (what the event page shows in its body), every column is theirs.
// - Rows are written by the server's SQLite batch writer's own statements and issue lifecycle
//   (store/sqlite/digest-writer.ts, digest/lifecycle.ts), tens of thousands of events per
//   transaction: issues with exact counts, issue_users, issue_tags, releases, the system's history
//   rows, the FTS rows migration 020's triggers keep. Left out: the duplicate check (seeded event
//   ids are unique by construction) and the alert feed (`alert_changes`: a seed is history, and a
//   benchmark server would otherwise start by evaluating every seeded issue as new).
// - Loading: the events table's secondary indexes and its hourly-count trigger are dropped while
//   rows go in and recreated from their own SQL after (one sorted build instead of 10 M B-tree
//   inserts), and `issue_hourly` is filled with what the trigger would have counted.
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
   * Digests and writes items in ONE transaction. An item: { projectId, receivedAt, event } with
   * `event` a Sentry event object as an SDK sends it (with its `event_id`), or
   * { projectId, receivedAt, template, event: () => object, vary: (templateEvent) => columns } to
   * reuse a template's digest (`vary` returns the NormalizedEvent fields this event has of its own).
   */
  write(items, now = Date.now()) {
    const writes = items.map((it) => this.digested(it));
    this.db.transaction(() => this.apply(writes, now)).immediate();
    this.written += items.length;
  }

  digested(item) {
    const spoolId = this.nextSpoolId++;
    if (item.template === undefined) return this.digestOne(spoolId, item, item.event);
    const template = this.templates.get(item.template);
    if (!template) {
      const row = this.digestOne(spoolId, item, item.event());
      // The parsed payload is needed no more (its bytes are compressed): 100k templates stay small.
      this.templates.set(item.template, { ...row, event: { ...row.event, payload: undefined } });
      return row;
    }
    return { ...template, spoolId, projectId: item.projectId, receivedAt: item.receivedAt, event: { ...template.event, ...item.vary(template.event) } };
  }

  digestOne(id, item, event) {
    const payload = Buffer.from(JSON.stringify(event));
    return this.digest([{ id, projectId: item.projectId, kind: 'event', eventId: event.event_id, receivedAt: item.receivedAt, payload }])[0];
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
   * Counts the new events per issue and hour as the dropped trigger would have, recreates the
   * indexes and triggers, folds the WAL into the file (so its size is the dataset's) and closes.
   */
  close() {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO issue_hourly (issue_id, hour, count)
           SELECT issue_id, timestamp / 3600000, COUNT(*) FROM events WHERE id >= ? GROUP BY 1, 2
           ON CONFLICT (issue_id, hour) DO UPDATE SET count = count + excluded.count`,
        )
        .run(this.firstEventId);
      for (const o of this.deferred) this.db.exec(o.sql);
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}

/** Writes `total` events from `make(k)` in batches of `batch`, logging the rate every `every` events. */
export function seedEvents(seeder, total, make, { batch = 20_000, log = () => {}, every = 1_000_000, offset = 0 } = {}) {
  const t0 = performance.now();
  let nextLog = every;
  for (let from = 0; from < total; from += batch) {
    const items = [];
    for (let k = from; k < Math.min(total, from + batch); k++) items.push(make(offset + k));
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

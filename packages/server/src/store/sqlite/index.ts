import { dirname } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql, type Migration } from 'kysely';
import { privateDirectory, privateFile, type Tightened } from '../../lib/private-files.js';
import { migrations } from '../migrations/index.js';
import type { Issue, IssueStatus } from '../model.js';
import { boundedTotal, DEFAULT_PAGE, issueStatusCounts, MAX_PAGE } from '../issue-queries.js';
import { IssueStory } from '../issue-story.js';
import { StoreBase } from '../store-base.js';
import { NamedQueue } from '../../lib/named-queue.js';
import { isDigested } from '../digest-rows.js';
import { parseShortId, toIssue, type IssueRow } from '../rows.js';
import type { Database } from '../schema.js';
import type { ClientDiscard, ClientDiscardTotal, DigestBatchResult, DigestedRow, HourlyCount, IssueFilter, IssueLifecycle, IssueSearch, IssueSearchResult, IssueTagSummary, QuarantinedRow, SpoolItemInput, SpoolRow, SpoolTally, Store, WebSession } from '../store.js';
import { DigestBatches } from './digest-batch.js';
import { deleteInChunks } from './chunked.js';
import { SqliteDigestWriter } from './digest-writer.js';
import { withStatementCache } from './statement-cache.js';
import { SpoolFile, spoolFileFor } from './spool-file.js';


/**
 * The embedded default store: one SQLite file in WAL mode. SQLite allows one writer at a time:
 * the main thread (spool appends, status changes) and the digest thread (digest batches) each
 * have a connection, and every write transaction is short and BEGIN IMMEDIATE, so they queue on
 * the lock (busy_timeout) instead of failing. Readers (the CLI, the dashboard) run concurrently.
 */
export class SqliteStore extends StoreBase implements Store {
  readonly db: Sqlite.Database;
  readonly kysely: Kysely<Database>;
  protected readonly story: IssueStory;
  /** The spool lives in its own file (see SpoolFile); the `spool` table of the schema is unused here. */
  private readonly spool: SpoolFile;
  private writer: SqliteDigestWriter | null = null;
  private readonly batches: DigestBatches;
  private readonly locks = new NamedQueue();
  private readonly appendRaw;
  private readonly countItem;
  private readonly addDiscard;
  /** Data files and the directory whose modes were tightened on open (to log: they were readable by others). */
  readonly tightened: Tightened[] = [];

  private constructor(file: string) {
    super();
    if (file !== ':memory:') this.tightened = makeDataPrivate(file);
    this.db = withStatementCache(new Sqlite(file));
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a committed transaction survives a process crash (kill -9);
    // only an OS crash or power loss may lose the last transactions.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: this.db }) });
    this.story = new IssueStory(this.kysely, async (queries) =>
      // One IMMEDIATE transaction, synchronously: nothing else can run between the statements.
      this.db.transaction(() => queries.map((q) => this.db.prepare(q.sql).run(...(q.parameters as unknown[])).changes)).immediate(),
    );
    this.spool = new SpoolFile(spoolFileFor(file));
    this.batches = new DigestBatches(this.db, this.spool);
    this.appendRaw = lazy(() =>
      this.db.prepare('INSERT INTO raw_items (project_id, kind, event_id, received_at, payload, meta) VALUES (?, ?, ?, ?, ?, ?)'),
    );
    this.addDiscard = lazy(() =>
      this.db.prepare(
        `INSERT INTO client_discards (project_id, reason, category, quantity, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (project_id, reason, category) DO UPDATE SET quantity = quantity + excluded.quantity,
           first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at)`,
      ),
    );
    this.countItem = lazy(() =>
      this.db.prepare(
        `INSERT INTO item_counts (project_id, kind, count) VALUES (?, ?, ?)
         ON CONFLICT (project_id, kind) DO UPDATE SET count = count + excluded.count`,
      ),
    );
  }

  /**
   * Opens (creating if needed) the database file and applies pending migrations.
   * `checkpoints: false` leaves WAL checkpoints (which copy pages into the database file and
   * fsync it) to the other connections: the main thread answers HTTP and should not be the one
   * that stalls on them; the digest thread, which writes most, does them.
   */
  static async open(file: string, opts: { migrate?: boolean; checkpoints?: boolean } = {}): Promise<SqliteStore> {
    const store = new SqliteStore(file);
    if (opts.checkpoints === false) store.db.pragma('wal_autocheckpoint = 0');
    if (opts.migrate !== false) await store.migrate();
    return store;
  }

  async migrate(): Promise<number> {
    const migrator = new Migrator({
      db: this.kysely,
      provider: { getMigrations: async (): Promise<Record<string, Migration>> => migrations },
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error;
    return results?.filter((r) => r.status === 'Success').length ?? 0;
  }

  /** One process owns a SQLite file: a queue per name in this process is enough. */
  async exclusively<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(name, fn);
  }

  async close(): Promise<void> {
    await this.kysely.destroy(); // closes the better-sqlite3 handle too
    this.spool.close();
  }

  // Projects, access, the issue story and the plain query modules: StoreBase (store-base.ts).

  protected isUniqueViolation(err: unknown): boolean {
    return (err as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
  }

  // ── spool and digest ──────────────────────────────────────────────────────

  async appendToSpool(items: SpoolItemInput[], tallies: SpoolTally[] = []): Promise<void> {
    this.spool.append(items.filter((item) => isDigested(item.kind)));
    // In the main file, after the spool file's commit (the spool is a file of its own: see SpoolFile).
    for (const t of tallies) {
      await this.countItems(t.projectId, t.counts);
      for (const report of t.discards ?? []) await this.recordClientDiscards(t.projectId, report.discards, report.at);
    }
    const parked = items.filter((item) => !isDigested(item.kind));
    if (parked.length === 0) return;
    const raw = this.appendRaw();
    this.db
      .transaction(() => {
        for (const item of parked) {
          raw.run(item.projectId, item.kind, item.eventId, item.receivedAt, item.payload, item.meta ? JSON.stringify(item.meta) : null);
        }
      })
      .immediate(); // take the write lock up front: the digest thread writes through its own connection
  }

  async spoolBacklog(): Promise<number> {
    return this.spool.count();
  }

  async reclaimSpoolSpace(): Promise<void> {
    // The spool file reuses the pages of deleted rows by itself (SQLite's free list): nothing to do.
  }

  async digestBatch(limit: number, digest: (rows: SpoolRow[]) => DigestedRow[], lifecycle: IssueLifecycle): Promise<DigestBatchResult> {
    // Tests run from source without type checks: a caller that forgot the lifecycle must fail here,
    // loudly and before any row is taken, not as a failure of every row inside the transaction.
    if (typeof lifecycle?.digestIssues !== 'function') throw new TypeError('digestBatch needs the issue lifecycle (digest/lifecycle.ts issueLifecycle)');
    // Read and digest OUTSIDE the write transaction, so the write lock is held only for the writes.
    const rows = this.spool.oldest(limit);
    if (rows.length === 0) return { rows: 0, changes: [], quarantined: [] };
    const writes = digest(rows);
    return this.batches.run(rows, writes, (batch) =>
      this.db
        .transaction(() => {
          this.writer ??= new SqliteDigestWriter(this.db); // prepared once the schema exists
          return this.writer.apply(batch, Date.now(), lifecycle);
        })
        .immediate(), // a deferred transaction that reads first fails with SQLITE_BUSY_SNAPSHOT under a concurrent writer
    );
  }

  async quarantineSummary(): Promise<{ rows: number; latest: QuarantinedRow | null }> {
    const rows = Number(this.db.prepare('SELECT COUNT(*) FROM digest_quarantine').pluck().get());
    const r = this.db
      .prepare('SELECT spool_id, project_id, kind, event_id, error, quarantined_at FROM digest_quarantine ORDER BY id DESC LIMIT 1')
      .get() as { spool_id: number; project_id: number; kind: string; event_id: string | null; error: string; quarantined_at: number } | undefined;
    const latest = r ? { spoolId: Number(r.spool_id), projectId: Number(r.project_id), kind: r.kind, eventId: r.event_id, error: r.error, quarantinedAt: Number(r.quarantined_at) } : null;
    return { rows, latest };
  }

  async countItems(projectId: number, counts: Record<string, number>): Promise<void> {
    const stmt = this.countItem();
    this.db.transaction(() => {
      for (const [kind, n] of Object.entries(counts)) if (n > 0) stmt.run(projectId, kind, n);
    }).immediate();
  }

  async itemCounts(projectId?: number): Promise<Record<string, number>> {
    let query = this.kysely.selectFrom('item_counts').select(['kind', (eb) => eb.fn.sum<number>('count').as('n')]).groupBy('kind');
    if (projectId !== undefined) query = query.where('project_id', '=', projectId);
    return Object.fromEntries((await query.execute()).map((r) => [r.kind, Number(r.n)]));
  }

  async recordClientDiscards(projectId: number, discards: ClientDiscard[], at: number): Promise<void> {
    const stmt = this.addDiscard();
    this.db.transaction(() => {
      for (const d of discards) if (d.quantity > 0) stmt.run(projectId, d.reason, d.category, d.quantity, at, at);
    }).immediate();
  }

  async clientDiscards(projectId?: number): Promise<ClientDiscardTotal[]> {
    let query = this.kysely.selectFrom('client_discards').selectAll();
    if (projectId !== undefined) query = query.where('project_id', '=', projectId);
    const rows = await query.orderBy('quantity', 'desc').orderBy('reason').orderBy('category').execute();
    return rows.map((r) => ({ projectId: r.project_id, reason: r.reason, category: r.category, quantity: Number(r.quantity), firstAt: Number(r.first_at), lastAt: Number(r.last_at) }));
  }

  // ── issues and events ─────────────────────────────────────────────────────

  private issueQuery() {
    return this.kysely
      .selectFrom('issues as i')
      .innerJoin('projects as p', 'p.id', 'i.project_id')
      .selectAll('i')
      .select('p.short_id_prefix');
  }

  async listIssues(filter: IssueFilter): Promise<{ issues: Issue[]; total: number }> {
    let query = this.issueQuery();
    if (filter.projectId !== undefined) query = query.where('i.project_id', '=', filter.projectId);
    if (filter.status) {
      const statuses = Array.isArray(filter.status) ? filter.status : [filter.status];
      query = query.where('i.status', 'in', statuses);
    }
    if (filter.level) query = query.where('i.level', '=', filter.level);
    if (filter.origin) query = query.where('i.origin', '=', filter.origin);
    if (filter.since !== undefined) query = query.where('i.last_seen', '>=', filter.since);
    if (filter.until !== undefined) query = query.where('i.first_seen', '<=', filter.until);
    const tags = { ...filter.tags };
    if (filter.environment) tags.environment = filter.environment;
    if (filter.release) tags.release = filter.release;
    for (const [key, value] of Object.entries(tags)) {
      query = query.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('issue_tags as t')
            .select(sql.lit(1).as('one'))
            .whereRef('t.issue_id', '=', 'i.id')
            .where('t.key', '=', key)
            .where('t.value', '=', value),
        ),
      );
    }
    const text = filter.text?.trim();
    if (text) {
      const like = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where((eb) =>
        eb.or([
          eb(sql`i.title`, 'like', sql`${like} ESCAPE '\\'`),
          eb(sql`i.culprit`, 'like', sql`${like} ESCAPE '\\'`),
          eb(sql`p.short_id_prefix || '-' || printf('%03d', i.short_number)`, '=', text.toUpperCase()),
        ]),
      );
    }
    const total = await query.clearSelect().select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    const sortColumn = ({ last_seen: 'i.last_seen', count: 'i.event_count', users: 'i.user_count', first_seen: 'i.first_seen' } as const)[
      filter.sort ?? 'last_seen'
    ];
    const rows = await query
      .orderBy(sortColumn, 'desc')
      .orderBy('i.id', 'desc')
      .limit(Math.min(filter.limit ?? DEFAULT_PAGE, MAX_PAGE))
      .offset(filter.offset ?? 0)
      .execute();
    return { issues: rows.map((r) => toIssue(r as IssueRow)), total: Number(total?.n ?? 0) };
  }

  async getIssue(id: number): Promise<Issue | null> {
    const row = await this.issueQuery().where('i.id', '=', id).executeTakeFirst();
    return row ? toIssue(row as IssueRow) : null;
  }

  async getIssueByShortId(projectId: number, shortId: string): Promise<Issue | null> {
    const project = await this.getProject(projectId);
    const n = project ? parseShortId(project.shortIdPrefix, shortId) : null;
    if (n === null) return null;
    const row = await this.issueQuery().where('i.project_id', '=', projectId).where('i.short_number', '=', n).executeTakeFirst();
    return row ? toIssue(row as IssueRow) : null;
  }

  // ── retention ─────────────────────────────────────────────────────────────

  // Each prune deletes in chunks with a turn of the event loop between them (deleteInChunks).
  async pruneEvents(before: number, onProgress?: (deletedSoFar: number) => void): Promise<number> {
    const events = await deleteInChunks((n) => this.db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < ? ORDER BY received_at LIMIT ?)').run(before, n).changes, undefined, onProgress);
    await deleteInChunks((n) => this.db.prepare('DELETE FROM attachments WHERE id IN (SELECT id FROM attachments WHERE created_at < ? ORDER BY created_at LIMIT ?)').run(before, n).changes);
    // Hourly counts are derived from events: the hours wholly before the cutoff go with them.
    const hour = Math.floor(before / 3_600_000);
    await deleteInChunks((n) => this.db.prepare('DELETE FROM issue_hourly WHERE (hour, issue_id) IN (SELECT hour, issue_id FROM issue_hourly WHERE hour < ? ORDER BY hour LIMIT ?)').run(hour, n).changes);
    const day = Math.floor(before / 86_400_000);
    await deleteInChunks((n) => this.db.prepare('DELETE FROM issue_daily WHERE (day, issue_id) IN (SELECT day, issue_id FROM issue_daily WHERE day < ? ORDER BY day LIMIT ?)').run(day, n).changes);
    return events;
  }

  async pruneRawItems(before: number, onProgress?: (deletedSoFar: number) => void): Promise<number> {
    return deleteInChunks((n) => this.db.prepare('DELETE FROM raw_items WHERE id IN (SELECT id FROM raw_items WHERE received_at < ? ORDER BY received_at LIMIT ?)').run(before, n).changes, undefined, onProgress);
  }

  // ── dashboard (web) ───────────────────────────────────────────────────────

  async createSession(s: WebSession): Promise<void> {
    this.db
      .prepare('INSERT INTO web_sessions (id_hash, login, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(s.idHash, s.login, s.csrfToken, s.createdAt, s.expiresAt);
  }

  async getSession(idHash: string): Promise<WebSession | null> {
    const row = this.db.prepare('SELECT * FROM web_sessions WHERE id_hash = ?').get(idHash) as SessionDbRow | undefined;
    if (!row) return null;
    return { idHash: row.id_hash, login: row.login, csrfToken: row.csrf_token, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
  }

  async extendSession(idHash: string, expiresAt: number): Promise<void> {
    this.db.prepare('UPDATE web_sessions SET expires_at = ? WHERE id_hash = ?').run(expiresAt, idHash);
  }

  async deleteSession(idHash: string): Promise<void> {
    this.db.prepare('DELETE FROM web_sessions WHERE id_hash = ?').run(idHash);
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    return this.db.prepare('DELETE FROM web_sessions WHERE expires_at <= ?').run(now).changes;
  }

  async countLoginAttempt(keyHash: string, now: number, windowMs: number, maxAttempts: number): Promise<{ attempts: number; windowStart: number }> {
    // Right-hand sides of SET read the row as it was: one statement, so no other attempt interleaves.
    const expired = sql<boolean>`login_attempts.window_start <= ${now - windowMs}`;
    const row = await this.kysely
      .insertInto('login_attempts')
      .values({ key_hash: keyHash, attempts: 1, window_start: now })
      .onConflict((oc) =>
        oc.column('key_hash').doUpdateSet({
          attempts: sql<number>`CASE WHEN ${expired} THEN 1 ELSE login_attempts.attempts + 1 END`,
          window_start: sql<number>`CASE WHEN ${expired} OR login_attempts.attempts + 1 = ${maxAttempts} THEN ${now} ELSE login_attempts.window_start END`,
        }),
      )
      .returning(['attempts', 'window_start'])
      .executeTakeFirstOrThrow();
    return { attempts: Number(row.attempts), windowStart: Number(row.window_start) };
  }

  async clearLoginAttempts(keyHash: string): Promise<void> {
    await this.kysely.deleteFrom('login_attempts').where('key_hash', '=', keyHash).execute();
  }

  async pruneLoginAttempts(before: number): Promise<number> {
    const result = await this.kysely.deleteFrom('login_attempts').where('window_start', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async searchIssues(search: IssueSearch): Promise<IssueSearchResult> {
    const textIndex = this.textIsRare(search.text);
    const { joins, where, params } = issueSearchSql(search, { textIndex });
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const page = [Math.min(search.limit ?? DEFAULT_PAGE, MAX_PAGE), search.offset ?? 0];
    const bound = search.countUpTo;
    if (search.eventsSince !== undefined && where.length === 0) return this.topIssuesSince(search.eventsSince, page, bound);
    if (search.eventsSince !== undefined) {
      // Sorting by recent events needs every matching row anyway: count them in the same pass.
      const rows = this.db
        .prepare(`SELECT i.*, p.short_id_prefix, r.recent, COUNT(*) OVER () AS total_rows FROM issues i ${joins} ${whereSql} ORDER BY r.recent DESC, i.id DESC LIMIT ? OFFSET ?`)
        .all(...params, ...page) as (IssueRow & { recent: number; total_rows: number })[];
      const counted = rows[0] ? Number(rows[0].total_rows) : await this.countIssues(joins, whereSql, params, search.offset);
      return { issues: rows.map(toIssue), ...boundedTotal(counted, bound), recentCounts: new Map(rows.map((r) => [Number(r.id), Number(r.recent)])) };
    }
    const counted = boundedTotal(this.countMatches(search, textIndex, bound), bound);
    // More matches than the bound: at least that many, so walking the sort's index is the cheaper way.
    const walkSortIndex = counted.totalIsLowerBound || this.walkingTheSortIndexIsCheaper(counted.total, page[0]! + page[1]!);
    const walk = issueSearchSql(search, { textIndex, walkSortIndex, filtersOffIndexes: walkSortIndex });
    const rows = this.db
      .prepare(`SELECT i.*, p.short_id_prefix FROM issues i ${walk.joins} ${walk.where.length ? `WHERE ${walk.where.join(' AND ')}` : ''} ORDER BY ${SEARCH_SORT[search.sort ?? 'last_seen']} DESC, i.id DESC LIMIT ? OFFSET ?`)
      .all(...walk.params, ...page) as IssueRow[];
    return { issues: rows.map(toIssue), ...counted, recentCounts: new Map() };
  }

  /**
   * A search by tag or text can read its page two ways: look up each matching issue by id (from
   * issue_tags or the text index) and sort them all, about `total` reads; or walk the sort's index
   * from the top, checking each issue, until the page is full: about `needed * issues / total`
   * reads. The count taken first tells which is fewer. On the benchmark a tag matching 5,000 of
   * 100,000 issues: 173 ms by id, 8 ms walking; a rare text is the other way round.
   */
  private walkingTheSortIndexIsCheaper(total: number, needed: number): boolean {
    if (total === 0) return false;
    const issues = Number(this.db.prepare('SELECT MAX(id) FROM issues').pluck().get() ?? 0);
    return (needed * issues) / total < total;
  }

  /**
   * "Most frequent since" with no other filter: rank the hourly counts alone and read only the
   * page's 50 issues, instead of joining every issue seen today (25,000 on the benchmark) first.
   */
  private topIssuesSince(since: number, [limit, offset]: number[], bound: number | undefined): IssueSearchResult {
    const day = since / 86_400_000;
    if (Number.isInteger(day) && !this.db.prepare('SELECT 1 FROM issue_daily WHERE day > ? LIMIT 1').get(day)) return this.topIssuesOfDay(day, [limit!, offset!], bound);
    const rows = this.db
      .prepare(
        `WITH r AS MATERIALIZED (SELECT issue_id, SUM(count) AS recent FROM issue_hourly INDEXED BY issue_hourly_hour WHERE hour >= ? GROUP BY issue_id)
         SELECT i.*, p.short_id_prefix, top.recent, (SELECT COUNT(*) FROM r) AS total_rows
         FROM (SELECT issue_id, recent FROM r ORDER BY recent DESC, issue_id DESC LIMIT ? OFFSET ?) top
         JOIN issues i ON i.id = top.issue_id JOIN projects p ON p.id = i.project_id
         ORDER BY top.recent DESC, i.id DESC`,
      )
      .all(Math.floor(since / 3_600_000), limit, offset) as (IssueRow & { recent: number; total_rows: number })[];
    const counted = rows[0] ? Number(rows[0].total_rows) : Number(this.db.prepare('SELECT COUNT(DISTINCT issue_id) FROM issue_hourly WHERE hour >= ?').pluck().get(Math.floor(since / 3_600_000)));
    return { issues: rows.map(toIssue), ...boundedTotal(counted, bound), recentCounts: new Map(rows.map((r) => [Number(r.id), Number(r.recent)])) };
  }

  /**
   * "Most frequent today" (a window starting at 00:00 UTC, no later day counted yet): walk the
   * day's `issue_daily_rank` entries from the top, 50 rows, instead of summing every hourly row
   * since midnight (migration 028; 84 ms of CPU at 10 M events, 25,000+ issues seen today).
   */
  private topIssuesOfDay(day: number, [limit, offset]: number[], bound: number | undefined): IssueSearchResult {
    const rows = this.db
      .prepare(
        `SELECT i.*, p.short_id_prefix, top.count AS recent
         FROM (SELECT issue_id, count FROM issue_daily INDEXED BY issue_daily_rank WHERE day = ? ORDER BY count DESC, issue_id DESC LIMIT ? OFFSET ?) top
         JOIN issues i ON i.id = top.issue_id JOIN projects p ON p.id = i.project_id
         ORDER BY top.count DESC, i.id DESC`,
      )
      .all(day, limit, offset) as (IssueRow & { recent: number })[];
    const counted =
      bound === undefined
        ? this.db.prepare('SELECT COUNT(*) FROM issue_daily INDEXED BY issue_daily_rank WHERE day = ?').pluck().get(day)
        : this.db.prepare('SELECT COUNT(*) FROM (SELECT 1 FROM issue_daily INDEXED BY issue_daily_rank WHERE day = ? LIMIT ?)').pluck().get(day, bound + 1);
    return { issues: rows.map(toIssue), ...boundedTotal(Number(counted), bound), recentCounts: new Map(rows.map((r) => [Number(r.id), Number(r.recent)])) };
  }

  /**
   * The count of a search without a window. A tag held by many issues (10 % or more) is checked
   * per issue while scanning issues_last_seen, which holds status and level too (migration 020),
   * instead of reading each tagged issue by id: on the benchmark 26 ms instead of 75-135 ms for
   * "chat_type:group level:error, 7 days". Without a text filter the projects join, needed only
   * for short ids, is left out so that the scan never reads the table.
   */
  private countMatches(search: IssueSearch, textIndex: boolean, bound: number | undefined): number {
    const { joins, where, params } = issueSearchSql(search, { textIndex, walkSortIndex: this.tagsAreDense(search), joinProjects: Boolean(search.text?.trim()) });
    const from = `FROM issues i ${joins} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
    if (bound === undefined) return Number(this.db.prepare(`SELECT COUNT(*) ${from}`).pluck().get(...params));
    return Number(this.db.prepare(`SELECT COUNT(*) FROM (SELECT 1 ${from} LIMIT ?)`).pluck().get(...params, bound + 1));
  }

  /**
   * Whether the text index should find a search's candidates: yes for a text at most 10 % of the
   * issues hold (probed by reading at most that many entries, about 3 ms at 100,000 issues). A
   * common text ("payments" in an eighth of the benchmark's issues) is faster checked while
   * scanning: 22,000 lookups by id cost more than reading the table in order.
   */
  private textIsRare(text: string | undefined): boolean {
    const trimmed = text?.trim() ?? '';
    if ([...trimmed].length < 3) return false; // no trigram to look up
    const limit = Math.max(100, Math.floor(Number(this.db.prepare('SELECT MAX(id) FROM issues').pluck().get() ?? 0) / 10));
    const found = this.db.prepare('SELECT COUNT(*) FROM (SELECT 1 FROM issues_text WHERE issues_text MATCH ? LIMIT ?)').pluck().get(ftsPhrase(trimmed), limit);
    return Number(found) < limit;
  }

  private tagsAreDense(search: IssueSearch): boolean {
    const tags = searchTags(search);
    if (tags.length === 0) return false;
    const tagged = this.db.prepare('SELECT COUNT(*) FROM issue_tags WHERE key = ? AND value = ?').pluck();
    const fewest = Math.min(...tags.map(([key, value]) => Number(tagged.get(key, value))));
    return fewest * 10 >= Number(this.db.prepare('SELECT MAX(id) FROM issues').pluck().get() ?? 0);
  }

  /** A page past the end has no row to carry the window count: count separately (only then). */
  private async countIssues(joins: string, whereSql: string, params: unknown[], offset = 0): Promise<number> {
    if (joins.includes('issue_hourly') && offset === 0) return 0;
    return Number(this.db.prepare(`SELECT COUNT(*) FROM issues i ${joins} ${whereSql}`).pluck().get(...params));
  }

  async issueStatusCounts(projectId?: number): Promise<Record<IssueStatus, number>> {
    return issueStatusCounts(this.kysely, projectId);
  }

  /**
   * One writer: SQLite's triggers add to the totals directly and leave no deltas (a copy may bring
   * some); what is left to do is dropping totals of zero (a deleted project's). Reads first, so an
   * idle call takes no write lock.
   */
  async compactIssueStatusCounts(): Promise<number> {
    const pending = Number(this.db.prepare('SELECT COUNT(*) FROM issue_status_deltas').pluck().get());
    const zeros = this.db.prepare('SELECT EXISTS (SELECT 1 FROM issue_status_counts WHERE count = 0)').pluck().get();
    if (!pending && !zeros) return 0;
    this.db
      .transaction(() => {
        this.db.prepare(`INSERT INTO issue_status_counts (project_id, status, slot, count)
            SELECT project_id, status, 0, SUM(delta) FROM issue_status_deltas GROUP BY project_id, status
            ON CONFLICT (project_id, status, slot) DO UPDATE SET count = count + excluded.count`).run();
        this.db.prepare('DELETE FROM issue_status_deltas').run();
        this.db.prepare('DELETE FROM issue_status_counts WHERE count = 0').run();
      })
      .immediate();
    return pending;
  }

  async issueHourlyCounts(issueIds: number[], sinceHour: number): Promise<Map<number, HourlyCount[]>> {
    const result = new Map<number, HourlyCount[]>(issueIds.map((id) => [id, []]));
    if (issueIds.length === 0) return result;
    const rows = this.db
      .prepare(`SELECT issue_id, hour, count FROM issue_hourly WHERE issue_id IN (${issueIds.map(() => '?').join(',')}) AND hour >= ? ORDER BY issue_id, hour`)
      .all(...issueIds, sinceHour) as { issue_id: number; hour: number; count: number }[];
    for (const r of rows) result.get(Number(r.issue_id))?.push({ hour: Number(r.hour), count: Number(r.count) });
    return result;
  }

  async issueTags(issueId: number, valuesPerKey = 1000): Promise<IssueTagSummary[]> {
    // Walk the keys by skipping through the primary key (issue_id, key, value): a key with
    // 100,000 distinct values is jumped over, never scanned.
    const nextKey = this.db.prepare('SELECT key FROM issue_tags WHERE issue_id = ? AND key > ? ORDER BY key LIMIT 1').pluck();
    const valuesOf = this.db.prepare('SELECT value, count, last_seen FROM issue_tags WHERE issue_id = ? AND key = ? LIMIT ?');
    const summaries: IssueTagSummary[] = [];
    for (let key = nextKey.get(issueId, '') as string | undefined; key !== undefined && summaries.length < 50; key = nextKey.get(issueId, key) as string | undefined) {
      const rows = valuesOf.all(issueId, key, valuesPerKey + 1) as { value: string; count: number; last_seen: number }[];
      const values = rows.slice(0, valuesPerKey).map((r) => ({ value: r.value, count: Number(r.count), lastSeen: Number(r.last_seen) }));
      summaries.push({ key, values: values.sort((a, b) => b.count - a.count), truncated: rows.length > valuesPerKey });
    }
    return summaries;
  }

  async listReleases(projectId: number | undefined, limit: number): Promise<{ projectId: number; version: string; firstSeen: number }[]> {
    const rows = (
      projectId === undefined
        ? this.db.prepare('SELECT * FROM releases ORDER BY first_seen DESC LIMIT ?').all(limit)
        : this.db.prepare('SELECT * FROM releases WHERE project_id = ? ORDER BY first_seen DESC LIMIT ?').all(projectId, limit)
    ) as { project_id: number; version: string; first_seen: number }[];
    return rows.map((r) => ({ projectId: Number(r.project_id), version: r.version, firstSeen: Number(r.first_seen) }));
  }

  async countRawItems(kind: string, projectId?: number): Promise<number> {
    const stmt =
      projectId === undefined
        ? this.db.prepare('SELECT COUNT(*) FROM raw_items WHERE kind = ?').pluck()
        : this.db.prepare('SELECT COUNT(*) FROM raw_items WHERE kind = ? AND project_id = ?').pluck();
    return Number(projectId === undefined ? stmt.get(kind) : stmt.get(kind, projectId));
  }

  async getProjectSettings(projectId: number): Promise<Record<string, string>> {
    const rows = this.db.prepare('SELECT key, value FROM project_settings WHERE project_id = ?').all(projectId) as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  async setProjectSetting(projectId: number, key: string, value: string | null): Promise<void> {
    if (value === null) {
      this.db.prepare('DELETE FROM project_settings WHERE project_id = ? AND key = ?').run(projectId, key);
      return;
    }
    this.db
      .prepare('INSERT INTO project_settings (project_id, key, value) VALUES (?, ?, ?) ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value')
      .run(projectId, key, value);
  }
}

/**
 * The data directory 0700, the database and spool files 0600, created so before SQLite opens them
 * (it gives their -wal and -shm files the same mode); looser ones left by an older version are
 * tightened.
 */
function makeDataPrivate(file: string): Tightened[] {
  const tightened = privateDirectory(dirname(file));
  for (const database of [file, spoolFileFor(file)]) {
    tightened.push(...privateFile(database, { create: true }));
    for (const suffix of ['-wal', '-shm', '-journal']) tightened.push(...privateFile(database + suffix));
  }
  return tightened;
}

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

interface SessionDbRow {
  id_hash: string;
  login: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

const SEARCH_SORT = { last_seen: 'i.last_seen', count: 'i.event_count', users: 'i.user_count', first_seen: 'i.first_seen' } as const;

/**
 * The FROM/WHERE of searchIssues as SQL with positional parameters. Values are always
 * parameters; only fixed fragments from this function become SQL text.
 */
/** The tag filters of a search, environment and release included, as [key, value] pairs. */
function searchTags(search: IssueSearch): [string, string][] {
  const tags = { ...search.tags };
  if (search.environment) tags.environment = search.environment;
  if (search.release) tags.release = search.release;
  return Object.entries(tags);
}

/** A text as an FTS5 string: one phrase, quotes doubled, so nothing in it is query syntax. */
function ftsPhrase(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

function issueSearchSql(
  search: IssueSearch,
  opts: { walkSortIndex?: boolean; joinProjects?: boolean; textIndex?: boolean; filtersOffIndexes?: boolean } = {},
): { joins: string; where: string[]; params: unknown[] } {
  // Unary + keeps `id IN (...)` out of index selection, so the planner walks the sort's index.
  const id = opts.walkSortIndex ? '+i.id' : 'i.id';
  // The same for the project and status of a page read down the sort's index: otherwise the
  // planner, without statistics, reads every match by (project, status) and sorts them (a project's
  // unresolved issues by users: 14,000 rows, 50-500 ms on the benchmark; walking issues_user_count
  // and checking each: 2-15 ms).
  const filter = (column: string) => (opts.filtersOffIndexes ? `+${column}` : column);
  const where: string[] = [];
  const params: unknown[] = [];
  const joinParams: unknown[] = [];
  let joins = opts.joinProjects === false ? '' : 'JOIN projects p ON p.id = i.project_id';
  if (search.eventsSince !== undefined) {
    // Without statistics SQLite would walk the whole primary key to get GROUP BY order for free.
    joins += ' JOIN (SELECT issue_id, SUM(count) AS recent FROM issue_hourly INDEXED BY issue_hourly_hour WHERE hour >= ? GROUP BY issue_id) r ON r.issue_id = i.id';
    joinParams.push(Math.floor(search.eventsSince / 3_600_000));
  }
  const add = (clause: string, ...values: unknown[]) => {
    where.push(clause);
    params.push(...values);
  };
  if (search.projectId !== undefined) add(`${filter('i.project_id')} = ?`, search.projectId);
  if (search.status) {
    const statuses = Array.isArray(search.status) ? search.status : [search.status];
    add(`${filter('i.status')} IN (${statuses.map(() => '?').join(',')})`, ...statuses);
  }
  if (search.level) add('i.level = ?', search.level);
  if (search.origin) add('i.origin = ?', search.origin);
  if (search.since !== undefined) add('i.last_seen >= ?', search.since);
  if (search.until !== undefined) add('i.first_seen <= ?', search.until);
  // Unary + keeps this out of index selection: as a range on issues_event_count it would make the
  // count visit most rows by random access (70 ms) instead of one table scan (20 ms).
  if (search.minEvents !== undefined) add('+i.event_count >= ?', search.minEvents);
  if (search.untracked) add('i.github_url IS NULL');
  if (search.assignee !== undefined) add('i.assignee = ?', search.assignee);
  if (search.httpStatus) add('i.http_status BETWEEN ? AND ?', search.httpStatus.from, search.httpStatus.to);
  for (const [key, value] of searchTags(search)) {
    add(`${id} IN (SELECT issue_id FROM issue_tags WHERE key = ? AND value = ?)`, key, value);
  }
  const text = search.text?.trim();
  if (text) {
    const like = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const shortId = /^([A-Za-z][A-Za-z0-9]*)-(\d+)$/.exec(text);
    const prefix = shortId ? shortId[1]!.toUpperCase() : null;
    const number = shortId ? Number(shortId[2]) : null;
    // Candidates from the trigram index (migration 020): the issues whose title or culprit holds
    // every trigram of the text, plus the one a short id names. Fewer than 3 characters have no
    // trigram: then every issue is a candidate, as before, and so for a common text (textIsRare).
    // The LIKE below decides either way.
    if (opts.textIndex && [...text].length >= 3) {
      add(
        `${id} IN (SELECT rowid FROM issues_text WHERE issues_text MATCH ?
           UNION ALL SELECT s.id FROM issues s JOIN projects sp ON sp.id = s.project_id WHERE sp.short_id_prefix = ? AND s.short_number = ?)`,
        ftsPhrase(text),
        prefix,
        number,
      );
    }
    add(`(i.title LIKE ? ESCAPE '\\' OR i.culprit LIKE ? ESCAPE '\\' OR (p.short_id_prefix = ? AND i.short_number = ?))`, like, like, prefix, number);
  }
  return { joins, where, params: [...joinParams, ...params] };
}

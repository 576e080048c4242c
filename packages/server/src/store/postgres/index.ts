import { sql, type Kysely, type RawBuilder } from 'kysely';
import { NamedQueue } from '../../lib/named-queue.js';
import { isDigested } from '../digest-rows.js';
import type { Issue, IssueStatus } from '../model.js';
import { boundedTotal, DEFAULT_PAGE, issueStatusCounts, MAX_PAGE } from '../issue-queries.js';
import { IssueStory } from '../issue-story.js';
import { StoreBase } from '../store-base.js';
import { toIssue, type IssueRow } from '../rows.js';
import type { Database } from '../schema.js';
import type {
  ClientDiscard,
  ClientDiscardTotal,
  DigestBatchResult,
  DigestedRow,
  HeldSpoolRows,
  HourlyCount,
  IssueFilter,
  IssueLifecycle,
  IssueSearch,
  IssueSearchResult,
  IssueTagSummary,
  QuarantinedRow,
  SpoolItemInput,
  SpoolTally,
  SpoolRow,
  Store,
  WebSession,
} from '../store.js';
import { PostgresDatabase, type PostgresOptions } from './database.js';
import { digestOneByOne, isDatabaseFault } from './digest-batch.js';
import { applyDigest } from './digest-writer.js';
import { appendSpoolRows, countSpoolRows, vacuumSpool, insertItems, recordTallies, sumTallies, takeSpoolRows, withIds } from './spool.js';
import { all, changes, isUniqueViolation, LOCKS, one, prepared, withArgs, type Db } from './query.js';
import { issueSearchSql, SEARCH_SORT, tagFilterCount } from './search.js';


/**
 * The Store on PostgreSQL, for several Botpulse processes on one database (issue 12). The ingest
 * spool is a table: any process appends, and every process's digest takes the oldest rows no
 * other transaction holds (`FOR UPDATE SKIP LOCKED`), and deletes them in the transaction that
 * writes their events, so each answered item is digested exactly once whatever process dies when.
 * How concurrent batches share issues: store/postgres/digest-writer.ts.
 */
export class PostgresStore extends StoreBase implements Store {
  readonly db: Db;
  /** The same connection, typed by the schema, for the builder-written queries. */
  protected readonly kysely: Kysely<Database>;
  protected readonly story: IssueStory;
  private readonly locks = new NamedQueue();

  private constructor(readonly database: PostgresDatabase) {
    super();
    this.db = database.db;
    this.kysely = database.db as Kysely<Database>;
    this.story = new IssueStory(this.kysely, (queries) =>
      this.kysely.transaction().execute(async (trx) => {
        const changed: number[] = [];
        for (const q of queries) changed.push(Number((await trx.executeQuery(q)).numAffectedRows ?? 0));
        return changed;
      }),
    );
  }

  /** Connects and, unless `migrate: false`, applies pending migrations. */
  static async open(opts: PostgresOptions, { migrate = true }: { migrate?: boolean } = {}): Promise<PostgresStore> {
    return new PostgresStore(await PostgresDatabase.open(opts, { migrate }));
  }

  async migrate(): Promise<number> {
    return this.database.migrate();
  }

  async close(): Promise<void> {
    await this.database.close();
  }

  async exclusively<T>(name: string, fn: () => Promise<T>): Promise<T> {
    // In-process first, so one process holds one session lock at a time per name.
    return this.locks.run(name, () => this.database.withSessionLock(LOCKS.exclusive, name, fn));
  }

  // Projects, access, the issue story and the plain query modules: StoreBase (store-base.ts).

  protected isUniqueViolation(err: unknown): boolean {
    return isUniqueViolation(err);
  }

  // ── spool and digest ──────────────────────────────────────────────────────

  /**
   * One multi-row INSERT per table; committed (durable) when it resolves. Parked raw items are read
   * by a cursor on their id (monitors/consumer.ts). Ids come from a sequence when a row is
   * inserted, not when it commits: with two processes appending, id 8 could commit after a reader
   * has moved its cursor past 9, and be skipped forever. So appends to raw_items take a
   * transaction advisory lock first: they commit one after the other, in id order.
   */
  async appendToSpool(items: SpoolItemInput[], tallies: SpoolTally[] = []): Promise<SpoolRow[]> {
    const spooled = items.filter((item) => isDigested(item.kind));
    const parked = items.filter((item) => !isDigested(item.kind));
    const counted = sumTallies(tallies);
    if (parked.length === 0) return appendSpoolRows(this.database.pool, spooled, counted);
    return this.db.transaction().execute(async (trx) => {
      const ids = spooled.length ? await insertItems(trx, 'spool', spooled) : [];
      await sql`SELECT pg_advisory_xact_lock(${LOCKS.rawItemsAppend}::int, 0)`.execute(trx);
      await insertItems(trx, 'raw_items', parked);
      await recordTallies(trx, counted);
      return withIds(spooled, ids);
    });
  }

  async spoolBacklog(): Promise<number> {
    return countSpoolRows(this.database.pool);
  }

  async reclaimSpoolSpace(): Promise<void> {
    await vacuumSpool(this.database.pool);
  }

  async digestBatch(limit: number, digest: (rows: SpoolRow[]) => DigestedRow[], lifecycle: IssueLifecycle, held?: HeldSpoolRows): Promise<DigestBatchResult> {
    // Tests run from source without type checks: fail before any row is taken.
    if (typeof lifecycle?.digestIssues !== 'function') throw new TypeError('digestBatch needs the issue lifecycle (digest/lifecycle.ts issueLifecycle)');
    let taken: SpoolRow[] = [];
    let writes: DigestedRow[] | null = null;
    try {
      const result = await this.db.transaction().execute(async (trx): Promise<DigestBatchResult> => {
        const { rows, payloadsRead, deferred } = await takeSpoolRows(trx, limit, held);
        if (rows.length === 0) return { rows: 0, changes: [], quarantined: [], payloadsRead, deferred };
        taken = rows;
        writes = digest(rows);
        // The batch's spool rows are deleted by its last statement, with its events (digest-writer.ts writeBatch).
        const changes = await applyDigest(trx, writes, Date.now(), lifecycle, rows.map((r) => r.id));
        return { rows: rows.length, changes, quarantined: [], payloadsRead, deferred };
      });
      if (result.rows) held?.release(taken[taken.length - 1]!.id);
      return result;
    } catch (err) {
      // The batch rolled back: its rows are in the spool again. A row's fault (not the database's)
      // is found by applying them one by one; the row that fails alone goes to the quarantine.
      if (writes === null || isDatabaseFault(err)) throw err;
      return digestOneByOne(this.db, taken, writes, lifecycle);
    }
  }

  async quarantineSummary(): Promise<{ rows: number; latest: QuarantinedRow | null }> {
    const rows = Number((await one<{ n: number }>(this.db, sql`SELECT COUNT(*) AS n FROM digest_quarantine`))!.n);
    const r = await one<{ spool_id: number; project_id: number; kind: string; event_id: string | null; error: string; quarantined_at: number }>(
      this.db,
      sql`SELECT spool_id, project_id, kind, event_id, error, quarantined_at FROM digest_quarantine ORDER BY id DESC LIMIT 1`,
    );
    const latest = r ? { spoolId: Number(r.spool_id), projectId: Number(r.project_id), kind: r.kind, eventId: r.event_id, error: r.error, quarantinedAt: Number(r.quarantined_at) } : null;
    return { rows, latest };
  }

  async countItems(projectId: number, counts: Record<string, number>): Promise<void> {
    await recordTallies(this.db, sumTallies([{ projectId, counts }]));
  }

  async itemCounts(projectId?: number): Promise<Record<string, number>> {
    const where = projectId === undefined ? sql`` : sql`WHERE project_id = ${projectId}`;
    const rows = await all<{ kind: string; n: number }>(this.db, sql`SELECT kind, SUM(count) AS n FROM item_counts ${where} GROUP BY kind`);
    return Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
  }

  async recordClientDiscards(projectId: number, discards: ClientDiscard[], at: number): Promise<void> {
    await recordTallies(this.db, sumTallies([{ projectId, counts: {}, discards: [{ discards, at }] }]));
  }

  async clientDiscards(projectId?: number): Promise<ClientDiscardTotal[]> {
    let query = this.kysely.selectFrom('client_discards').selectAll();
    if (projectId !== undefined) query = query.where('project_id', '=', projectId);
    const rows = await query.orderBy('quantity', 'desc').orderBy('reason').orderBy('category').execute();
    return rows.map((r) => ({ projectId: Number(r.project_id), reason: r.reason, category: r.category, quantity: Number(r.quantity), firstAt: Number(r.first_at), lastAt: Number(r.last_at) }));
  }

  // ── issues and events ─────────────────────────────────────────────────────

  async listIssues(filter: IssueFilter): Promise<{ issues: Issue[]; total: number }> {
    const { issues, total } = await this.searchIssues(filter);
    return { issues, total };
  }

  private async issueWhere(where: string, args: unknown[]): Promise<Issue | null> {
    const row = await one<IssueRow>(this.db, withArgs(`SELECT i.*, p.short_id_prefix FROM issues i JOIN projects p ON p.id = i.project_id WHERE ${where}`, args));
    return row ? toIssue(row) : null;
  }

  async getIssue(id: number): Promise<Issue | null> {
    return Number.isSafeInteger(id) ? this.issueWhere('i.id = ?', [id]) : null;
  }

  async getIssueByShortId(projectId: number, shortId: string): Promise<Issue | null> {
    const match = /^([A-Za-z][A-Za-z0-9]*)-(\d{1,9})$/.exec(shortId.trim());
    if (!match) return null;
    return this.issueWhere('i.project_id = ? AND p.short_id_prefix = ? AND i.short_number = ?', [projectId, match[1]!.toUpperCase(), Number(match[2])]);
  }

  // ── retention ─────────────────────────────────────────────────────────────

  async pruneEvents(before: number, onProgress?: (deletedSoFar: number) => void): Promise<number> {
    // A chunk per statement: a month of events in one DELETE would run for minutes with nothing to show.
    const removed = await this.deleteChunked((n) => sql`DELETE FROM events WHERE ctid IN (SELECT ctid FROM events WHERE received_at < ${before} LIMIT ${n})`, onProgress);
    await sql`DELETE FROM attachments WHERE created_at < ${before}`.execute(this.db);
    // Hourly counts are derived from events: the hours wholly before the cutoff go with them.
    await sql`DELETE FROM issue_hourly WHERE hour < ${Math.floor(before / 3_600_000)}`.execute(this.db);
    await sql`DELETE FROM issue_daily WHERE day < ${Math.floor(before / 86_400_000)}`.execute(this.db);
    return removed;
  }

  async pruneRawItems(before: number, onProgress?: (deletedSoFar: number) => void): Promise<number> {
    return this.deleteChunked((n) => sql`DELETE FROM raw_items WHERE ctid IN (SELECT ctid FROM raw_items WHERE received_at < ${before} LIMIT ${n})`, onProgress);
  }

  /** Runs `statement(limit)` until a chunk comes back short; returns the rows deleted. */
  private async deleteChunked(statement: (limit: number) => RawBuilder<unknown>, onProgress?: (deletedSoFar: number) => void, chunk = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await changes(this.db, statement(chunk));
      total += n;
      if (n > 0) onProgress?.(total);
      if (n < chunk) return total;
    }
  }

  // ── dashboard (web) ───────────────────────────────────────────────────────

  async createSession(s: WebSession): Promise<void> {
    await sql`INSERT INTO web_sessions (id_hash, login, csrf_token, created_at, expires_at)
              VALUES (${s.idHash}, ${s.login}, ${s.csrfToken}, ${s.createdAt}, ${s.expiresAt})`.execute(this.db);
  }

  async getSession(idHash: string): Promise<WebSession | null> {
    const row = await one<{ id_hash: string; login: string; csrf_token: string; created_at: number; expires_at: number }>(
      this.db,
      sql`SELECT * FROM web_sessions WHERE id_hash = ${idHash}`,
    );
    if (!row) return null;
    return { idHash: row.id_hash, login: row.login, csrfToken: row.csrf_token, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
  }

  async extendSession(idHash: string, expiresAt: number): Promise<void> {
    await sql`UPDATE web_sessions SET expires_at = ${expiresAt} WHERE id_hash = ${idHash}`.execute(this.db);
  }

  async deleteSession(idHash: string): Promise<void> {
    await sql`DELETE FROM web_sessions WHERE id_hash = ${idHash}`.execute(this.db);
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    return changes(this.db, sql`DELETE FROM web_sessions WHERE expires_at <= ${now}`);
  }

  async countLoginAttempt(keyHash: string, now: number, windowMs: number, maxAttempts: number): Promise<{ attempts: number; windowStart: number }> {
    // One statement: ON CONFLICT DO UPDATE locks the row, so concurrent attempts from any process
    // each read the count the one before wrote.
    const expired = sql`login_attempts.window_start <= ${now - windowMs}::bigint`;
    const row = await one<{ attempts: number; window_start: number }>(
      this.db,
      sql`INSERT INTO login_attempts (key_hash, attempts, window_start) VALUES (${keyHash}, 1, ${now}::bigint)
          ON CONFLICT (key_hash) DO UPDATE SET
            attempts = CASE WHEN ${expired} THEN 1 ELSE login_attempts.attempts + 1 END,
            window_start = CASE WHEN ${expired} OR login_attempts.attempts + 1 = ${maxAttempts}::int THEN ${now}::bigint ELSE login_attempts.window_start END
          RETURNING attempts, window_start`,
    );
    return { attempts: Number(row!.attempts), windowStart: Number(row!.window_start) };
  }

  async clearLoginAttempts(keyHash: string): Promise<void> {
    await sql`DELETE FROM login_attempts WHERE key_hash = ${keyHash}`.execute(this.db);
  }

  async pruneLoginAttempts(before: number): Promise<number> {
    return changes(this.db, sql`DELETE FROM login_attempts WHERE window_start < ${before}`);
  }

  async searchIssues(search: IssueSearch): Promise<IssueSearchResult> {
    const { from, where, args } = issueSearchSql(search);
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const order = search.eventsSince !== undefined ? 'r.recent DESC, i.id DESC' : `${SEARCH_SORT[search.sort ?? 'last_seen']} DESC, i.id DESC`;
    const recent = search.eventsSince !== undefined ? ', r.recent' : '';
    const page = [Math.min(search.limit ?? DEFAULT_PAGE, MAX_PAGE), search.offset ?? 0];
    const select = (extra = '') => `SELECT i.*, p.short_id_prefix${recent}${extra} ${from} ${whereSql} ORDER BY ${order} LIMIT ? OFFSET ?`;
    const bound = search.countUpTo;
    if (search.eventsSince !== undefined && where.length === 0) return this.topIssuesSince(search.eventsSince, page, bound);
    if (bound === undefined) return this.searchIssuesCountingAll(select(', COUNT(*) OVER () AS total_rows'), from, whereSql, args, page, search);
    // The page walks the sort's index and stops; the count stops after bound + 1 matches. Apart,
    // neither builds every match as COUNT(*) OVER () did.
    const countMatches = () => one<{ n: number }>(this.db, withArgs(`SELECT COUNT(*) AS n FROM (SELECT 1 ${from} ${whereSql} LIMIT ?) matches`, [...args, bound + 1]));
    if (tagFilterCount(search) >= 2 && search.eventsSince === undefined) return this.searchByTags(search, countMatches, bound, page);
    const [rows, counted] = await Promise.all([all<IssueRow & { recent?: number }>(this.db, withArgs(select(), [...args, ...page])), countMatches()]);
    const recentCounts = new Map(search.eventsSince !== undefined ? rows.map((r) => [Number(r.id), Number(r.recent)]) : []);
    return { issues: rows.map(toIssue), ...boundedTotal(Number(counted!.n), bound), recentCounts };
  }

  /**
   * Two tags or more (environment + release): PostgreSQL's statistics describe one issue_tags row,
   * not two rows of one issue, so it multiplies their frequencies (477 expected for 3,508 on the
   * benchmark), fetches every issue of the rarer tag and sorts them (5,000 issues, 15,089 buffers).
   * The bounded count, taken first, says whether the matches are dense (more than the bound): then
   * the page walks the sort's index with each tag as a hashed subplan (1,723 buffers) and stops at
   * 50; few matches are read by id as before (a walk would read every issue to find them).
   */
  private async searchByTags(search: IssueSearch, countMatches: () => Promise<{ n: number } | undefined>, bound: number, page: number[]): Promise<IssueSearchResult> {
    const counted = Number((await countMatches())!.n);
    const { from, where, args } = issueSearchSql(search, { walkSortIndex: counted > bound });
    const order = `${SEARCH_SORT[search.sort ?? 'last_seen']} DESC, i.id DESC`;
    const rows = await all<IssueRow>(this.db, withArgs(`SELECT i.*, p.short_id_prefix ${from} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ? OFFSET ?`, [...args, ...page]));
    return { issues: rows.map(toIssue), ...boundedTotal(counted, bound), recentCounts: new Map() };
  }

  /**
   * "Most frequent since" with no other filter, as SQLite's: rank the hourly counts alone and read
   * only the page's issues, instead of joining every issue seen today (25,000 on the benchmark).
   */
  private async topIssuesSince(since: number, [limit, offset]: number[], bound: number | undefined): Promise<IssueSearchResult> {
    const day = since / 86_400_000;
    if (Number.isInteger(day) && !(await one(this.db, sql`SELECT 1 AS later FROM issue_daily WHERE day > ${day} LIMIT 1`))) return this.topIssuesOfDay(day, [limit!, offset!], bound);
    const rows = await all<IssueRow & { recent: number; total_rows: number }>(
      this.db,
      sql`WITH r AS MATERIALIZED (SELECT issue_id, SUM(count) AS recent FROM issue_hourly WHERE hour >= ${Math.floor(since / 3_600_000)} GROUP BY issue_id)
          SELECT i.*, p.short_id_prefix, top.recent, (SELECT COUNT(*) FROM r) AS total_rows
          FROM (SELECT issue_id, recent FROM r ORDER BY recent DESC, issue_id DESC LIMIT ${limit} OFFSET ${offset}) top
          JOIN issues i ON i.id = top.issue_id JOIN projects p ON p.id = i.project_id
          ORDER BY top.recent DESC, i.id DESC`,
    );
    const counted = rows[0]
      ? Number(rows[0].total_rows)
      : Number((await one<{ n: number }>(this.db, sql`SELECT COUNT(DISTINCT issue_id) AS n FROM issue_hourly WHERE hour >= ${Math.floor(since / 3_600_000)}`))!.n);
    return { issues: rows.map(toIssue), ...boundedTotal(counted, bound), recentCounts: new Map(rows.map((r) => [Number(r.id), Number(r.recent)])) };
  }

  /**
   * "Most frequent today" (a window starting at 00:00 UTC, no later day counted yet): walk the
   * day's `issue_daily_rank` entries from the top, 50 rows, instead of summing every hourly row
   * since midnight (migration 028; 50 ms of backend CPU at 1 M events, 25,000 issues seen today).
   */
  private async topIssuesOfDay(day: number, [limit, offset]: number[], bound: number | undefined): Promise<IssueSearchResult> {
    const [rows, counted] = await Promise.all([
      all<IssueRow & { recent: number }>(
        this.db,
        sql`SELECT i.*, p.short_id_prefix, top.count AS recent
            FROM (SELECT issue_id, count FROM issue_daily WHERE day = ${day} ORDER BY count DESC, issue_id DESC LIMIT ${limit} OFFSET ${offset}) top
            JOIN issues i ON i.id = top.issue_id JOIN projects p ON p.id = i.project_id
            ORDER BY top.count DESC, i.id DESC`,
      ),
      one<{ n: number }>(
        this.db,
        bound === undefined
          ? sql`SELECT COUNT(*) AS n FROM issue_daily WHERE day = ${day}`
          : sql`SELECT COUNT(*) AS n FROM (SELECT 1 FROM issue_daily WHERE day = ${day} LIMIT ${bound + 1}) matches`,
      ),
    ]);
    return { issues: rows.map(toIssue), ...boundedTotal(Number(counted!.n), bound), recentCounts: new Map(rows.map((r) => [Number(r.id), Number(r.recent)])) };
  }

  /** An exact total (the API's lists): the window count rides on the page's rows; only a page past the end counts separately. */
  private async searchIssuesCountingAll(select: string, from: string, whereSql: string, args: unknown[], page: number[], search: IssueSearch): Promise<IssueSearchResult> {
    const rows = await all<IssueRow & { recent?: number; total_rows: number }>(this.db, withArgs(select, [...args, ...page]));
    const total = rows[0]
      ? Number(rows[0].total_rows)
      : (page[1] ?? 0) > 0
        ? Number((await one<{ n: number }>(this.db, withArgs(`SELECT COUNT(*) AS n ${from} ${whereSql}`, args)))!.n)
        : 0;
    const recentCounts = new Map(search.eventsSince !== undefined ? rows.map((r) => [Number(r.id), Number(r.recent)]) : []);
    return { issues: rows.map(toIssue), total, totalIsLowerBound: false, recentCounts };
  }

  async issueStatusCounts(projectId?: number): Promise<Record<IssueStatus, number>> {
    return issueStatusCounts(this.db, projectId);
  }

  /**
   * One folder at a time (a try-lock: a second one skips rather than waits), so the totals have a
   * single writer and no lock order can cross; the deltas it deletes are only ever inserted by
   * others, never updated. One statement moves every committed delta into the totals.
   */
  async compactIssueStatusCounts(): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const lock = await one<{ got: boolean }>(trx, sql`SELECT pg_try_advisory_xact_lock(${LOCKS.statusCounts}::int, 0) AS got`);
      if (!lock?.got) return 0;
      const folded = await one<{ n: number | string }>(
        trx,
        sql`${prepared}WITH moved AS (DELETE FROM issue_status_deltas RETURNING project_id, status, delta),
              sums AS (SELECT project_id, status, SUM(delta) AS n, COUNT(*) AS deltas FROM moved GROUP BY project_id, status),
              added AS (INSERT INTO issue_status_counts (project_id, status, slot, count) SELECT project_id, status, 0, n FROM sums
                ON CONFLICT (project_id, status, slot) DO UPDATE SET count = issue_status_counts.count + excluded.count RETURNING 1)
            SELECT COALESCE(SUM(deltas), 0) AS n FROM sums`,
      );
      const n = Number(folded?.n ?? 0);
      if (n > 0) await sql`${prepared}DELETE FROM issue_status_counts WHERE count = 0`.execute(trx);
      return n;
    });
  }

  async issueHourlyCounts(issueIds: number[], sinceHour: number): Promise<Map<number, HourlyCount[]>> {
    const result = new Map<number, HourlyCount[]>(issueIds.map((id) => [id, []]));
    if (issueIds.length === 0) return result;
    const rows = await all<{ issue_id: number; hour: number; count: number }>(
      this.db,
      sql`SELECT issue_id, hour, count FROM issue_hourly WHERE issue_id = ANY(${issueIds}::int[]) AND hour >= ${sinceHour} ORDER BY issue_id, hour`,
    );
    for (const r of rows) result.get(Number(r.issue_id))?.push({ hour: Number(r.hour), count: Number(r.count) });
    return result;
  }

  async issueTags(issueId: number, valuesPerKey = 1000): Promise<IssueTagSummary[]> {
    // Walks the keys through the primary key (issue_id, key, value), at most 50, reading at most
    // valuesPerKey + 1 values of each: a key with 100,000 distinct values is never scanned.
    const rows = await all<{ key: string; value: string; count: number; last_seen: number }>(
      this.db,
      sql`WITH RECURSIVE keys(key, n) AS (
            (SELECT key, 1 FROM issue_tags WHERE issue_id = ${issueId} ORDER BY key LIMIT 1)
            UNION ALL
            SELECT (SELECT t.key FROM issue_tags t WHERE t.issue_id = ${issueId} AND t.key > keys.key ORDER BY t.key LIMIT 1), n + 1
            FROM keys WHERE keys.key IS NOT NULL AND n < 50)
          SELECT k.key, v.value, v.count, v.last_seen FROM keys k
          CROSS JOIN LATERAL (SELECT value, count, last_seen FROM issue_tags
            WHERE issue_id = ${issueId} AND key = k.key ORDER BY value LIMIT ${valuesPerKey + 1}) v
          WHERE k.key IS NOT NULL ORDER BY k.key, v.value`,
    );
    const byKey = new Map<string, { value: string; count: number; lastSeen: number }[]>();
    for (const r of rows) {
      const values = byKey.get(r.key) ?? [];
      values.push({ value: r.value, count: Number(r.count), lastSeen: Number(r.last_seen) });
      byKey.set(r.key, values);
    }
    return [...byKey].map(([key, values]) => ({
      key,
      values: values.slice(0, valuesPerKey).sort((a, b) => b.count - a.count),
      truncated: values.length > valuesPerKey,
    }));
  }

  async listReleases(projectId: number | undefined, limit: number): Promise<{ projectId: number; version: string; firstSeen: number }[]> {
    const where = projectId === undefined ? sql`` : sql`WHERE project_id = ${projectId}`;
    const rows = await all<{ project_id: number; version: string; first_seen: number }>(
      this.db,
      sql`SELECT project_id, version, first_seen FROM releases ${where} ORDER BY first_seen DESC LIMIT ${limit}`,
    );
    return rows.map((r) => ({ projectId: Number(r.project_id), version: r.version, firstSeen: Number(r.first_seen) }));
  }

  async countRawItems(kind: string, projectId?: number): Promise<number> {
    const project = projectId === undefined ? sql`` : sql`AND project_id = ${projectId}`;
    return Number((await one<{ n: number }>(this.db, sql`SELECT COUNT(*) AS n FROM raw_items WHERE kind = ${kind} ${project}`))!.n);
  }

  async getProjectSettings(projectId: number): Promise<Record<string, string>> {
    const rows = await all<{ key: string; value: string }>(this.db, sql`SELECT key, value FROM project_settings WHERE project_id = ${projectId}`);
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  async setProjectSetting(projectId: number, key: string, value: string | null): Promise<void> {
    if (value === null) {
      await sql`DELETE FROM project_settings WHERE project_id = ${projectId} AND key = ${key}`.execute(this.db);
      return;
    }
    await sql`INSERT INTO project_settings (project_id, key, value) VALUES (${projectId}, ${key}, ${value})
              ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value`.execute(this.db);
  }
}

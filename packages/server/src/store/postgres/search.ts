import type { IssueSearch } from '../store.js';

/** ORDER BY columns of the issue list's sorts. */
export const SEARCH_SORT = { last_seen: 'i.last_seen', count: 'i.event_count', users: 'i.user_count', first_seen: 'i.first_seen' } as const;

/** How many tag filters a search has (environment and release are tags). */
export function tagFilterCount(search: IssueSearch): number {
  return Object.keys({ ...search.tags, ...(search.environment ? { environment: 1 } : {}), ...(search.release ? { release: 1 } : {}) }).length;
}

/**
 * The FROM/WHERE of an issue search on PostgreSQL, with `?` placeholders (bound by `withArgs`).
 * Values are always parameters; only fixed fragments from this function become SQL text.
 * Text matches like SQLite's LIKE does (ASCII case-insensitive): ILIKE, on candidates from a trigram index.
 */
export function issueSearchSql(search: IssueSearch, opts: { walkSortIndex?: boolean } = {}): { from: string; where: string[]; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  let from = 'FROM issues i JOIN projects p ON p.id = i.project_id';
  if (search.eventsSince !== undefined) {
    from += ' JOIN (SELECT issue_id, SUM(count) AS recent FROM issue_hourly WHERE hour >= ? GROUP BY issue_id) r ON r.issue_id = i.id';
    args.push(Math.floor(search.eventsSince / 3_600_000));
  }
  const add = (clause: string, ...values: unknown[]) => {
    where.push(clause);
    args.push(...values);
  };
  if (search.projectId !== undefined) add('i.project_id = ?', search.projectId);
  if (search.status) {
    const statuses = Array.isArray(search.status) ? search.status : [search.status];
    add('i.status = ANY(?::text[])', statuses);
  }
  if (search.level) add('i.level = ?', search.level);
  if (search.origin) add('i.origin = ?', search.origin);
  if (search.since !== undefined) add('i.last_seen >= ?', search.since);
  if (search.until !== undefined) add('i.first_seen <= ?', search.until);
  if (search.minEvents !== undefined) add('i.event_count >= ?', search.minEvents);
  if (search.untracked) add('i.github_url IS NULL');
  if (search.assignee !== undefined) add('i.assignee = ?', search.assignee);
  if (search.httpStatus) add('i.http_status BETWEEN ? AND ?', search.httpStatus.from, search.httpStatus.to);
  const tags = { ...search.tags };
  if (search.environment) tags.environment = search.environment;
  if (search.release) tags.release = search.release;
  for (const [key, value] of Object.entries(tags)) {
    const tagged = 'i.id IN (SELECT issue_id FROM issue_tags WHERE key = ? AND value = ?)';
    // `IS TRUE` keeps the planner from turning the IN into a join: each tag becomes a hashed
    // subplan checked while walking the sort's index (see tagsNeedWalk in index.ts).
    add(opts.walkSortIndex ? `(${tagged}) IS TRUE` : tagged, key, value);
  }
  const text = search.text?.trim();
  if (text) {
    const like = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const shortId = /^([A-Za-z][A-Za-z0-9]*)-(\d{1,9})$/.exec(text);
    // Candidates from issue_text (title + culprit, kept in step by triggers; its trigram index
    // issue_text_trgm, migrations 020 and 026); with a newline in the text the ILIKE on each column
    // decides, as SQLite's search does. The planner reads the index for a rare text and scans for a common one (it has the statistics).
    //
    // issue_text.text is title, a newline, culprit: a text without a newline matches it exactly when
    // it matches the title or the culprit, so the per-column ILIKE is left out then (it doubled the
    // count of a common text: 1,051 matches of "payments" read 6,600 issues twice, 33–67 ms → 23–40).
    const columns = text.includes('\n') ? ` AND (i.title ILIKE ? ESCAPE '\\' OR i.culprit ILIKE ? ESCAPE '\\')` : '';
    const candidates = `i.id IN (SELECT t.issue_id FROM issue_text t WHERE t.text ILIKE ? ESCAPE '\\')${columns}`;
    const likes = columns ? [like, like, like] : [like];
    if (!shortId) {
      add(`(${candidates})`, ...likes);
    } else {
      // A text shaped like a short id (B-003) also finds that issue, by id: an OR inside one scan
      // would keep the planner off the text index, so the two are looked up apart.
      add(
        `i.id IN (SELECT i.id FROM issues i WHERE ${candidates}
           UNION ALL SELECT s.id FROM issues s JOIN projects sp ON sp.id = s.project_id WHERE sp.short_id_prefix = ? AND s.short_number = ?)`,
        ...likes,
        shortId[1]!.toUpperCase(),
        Number(shortId[2]),
      );
    }
  }
  return { from, where, args };
}

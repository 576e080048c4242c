import type Sqlite from 'better-sqlite3';
import { LOG_SEVERITY, type LogAppendResult, type LogLine, type LogQuery, type LogRuleBatch, type LogRuleState, type LogStore, type NewLogLine, type RuleLine } from '../logs.js';
import { IDS_PER_READ, LOG_LINE_COLUMNS, RULE_LINE_COLUMNS, firstOfEachLineId, isSearchableKey, logLineValues, queryLimit, searchWords, toLogLine, toRuleLine, type LogLineRow } from '../log-rows.js';
import { deleteInChunks } from './chunked.js';

const CURSOR = 'rules';

interface RuleStateRow {
  project_id: number;
  rule_key: string;
  state: string;
  firing: number;
  updated_at: number;
}

/**
 * LogStore on SqliteStore's better-sqlite3 connection. Text search goes through the FTS5 table
 * `log_lines_fts` (migrations 013 and 023), fed by appendLines and kept in step with deletes by a
 * trigger; field filters read the JSON with `json_extract` within the project's rows.
 */
export class SqliteLogStore implements LogStore {
  private readonly insert: Sqlite.Statement;
  private readonly lastId: Sqlite.Statement;
  private readonly indexAfter: Sqlite.Statement;

  constructor(private readonly db: Sqlite.Database) {
    this.insert = db.prepare(
      `INSERT INTO log_lines (${LOG_LINE_COLUMNS.join(', ')}) VALUES (${LOG_LINE_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (project_id, line_id) DO NOTHING`,
    );
    this.lastId = db.prepare('SELECT COALESCE(MAX(id), 0) FROM log_lines').pluck();
    this.indexAfter = db.prepare('INSERT INTO log_lines_fts (rowid, message) SELECT id, message FROM log_lines WHERE id > ?');
  }

  /**
   * The lines, then their full-text entries with one statement (migration 023: per batch, not a
   * trigger per line, which cost more than the line itself). The write lock is held from the
   * first statement (`immediate`), so every id above the one read first is this call's.
   */
  async appendLines(lines: NewLogLine[]): Promise<LogAppendResult> {
    const { unique, repeated } = firstOfEachLineId(lines);
    const accepted = this.db
      .transaction(() => {
        const before = this.lastId.get() as number;
        const stored = unique.reduce((n, line) => n + this.insert.run(logLineValues(line)).changes, 0);
        if (stored) this.indexAfter.run(before);
        return stored;
      })
      .immediate();
    return { accepted, duplicates: repeated + unique.length - accepted };
  }

  async searchLines(q: LogQuery): Promise<LogLine[]> {
    const where = ['project_id = ?'];
    const args: unknown[] = [q.projectId];
    if (q.levels?.length) {
      where.push(`level IN (${q.levels.map(() => '?').join(', ')})`);
      args.push(...q.levels);
    }
    if (q.minLevel) {
      where.push('severity >= ?');
      args.push(LOG_SEVERITY[q.minLevel]);
    }
    if (q.logger !== undefined) {
      where.push('logger = ?');
      args.push(q.logger);
    }
    if (q.from !== undefined) {
      where.push('time >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('time < ?');
      args.push(q.to);
    }
    if (q.beforeId !== undefined) {
      where.push('id < ?');
      args.push(q.beforeId);
    }
    for (const [key, value] of Object.entries(q.fields ?? {})) {
      if (!isSearchableKey(key)) return [];
      where.push('json_extract(fields, ?) = ?');
      args.push(`$."${key}"`, value);
    }
    if (q.text !== undefined) {
      const words = searchWords(q.text);
      if (words.length) {
        // Each word quoted: FTS5 operators (AND, NEAR, *, :) in the text are searched as words.
        where.push('id IN (SELECT rowid FROM log_lines_fts WHERE log_lines_fts MATCH ?)');
        args.push(words.map((w) => `"${w}"`).join(' '));
      }
    }
    args.push(queryLimit(q));
    const rows = this.db.prepare(`SELECT * FROM log_lines WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...args) as LogLineRow[];
    return rows.map(toLogLine);
  }

  async linesAfter(id: number, limit: number): Promise<RuleLine[]> {
    const rows = this.db.prepare(`SELECT ${RULE_LINE_COLUMNS} FROM log_lines WHERE id > ? ORDER BY id LIMIT ?`).all(id, limit) as LogLineRow[];
    return rows.map(toRuleLine);
  }

  async linesByIds(ids: number[]): Promise<LogLine[]> {
    const out: LogLine[] = [];
    for (let at = 0; at < ids.length; at += IDS_PER_READ) {
      const chunk = ids.slice(at, at + IDS_PER_READ);
      const rows = this.db.prepare(`SELECT * FROM log_lines WHERE id IN (${chunk.map(() => '?').join(', ')})`).all(...chunk) as LogLineRow[];
      out.push(...rows.map(toLogLine));
    }
    return out.sort((x, y) => x.id - y.id);
  }

  async countLines(projectId?: number): Promise<number> {
    return projectId === undefined
      ? Number(this.db.prepare('SELECT COUNT(*) FROM log_lines').pluck().get())
      : Number(this.db.prepare('SELECT COUNT(*) FROM log_lines WHERE project_id = ?').pluck().get(projectId));
  }

  async lastLineId(): Promise<number> {
    return Number(this.lastId.get());
  }

  async pruneLines(before: number): Promise<number> {
    const statement = this.db.prepare('DELETE FROM log_lines WHERE id IN (SELECT id FROM log_lines WHERE received_at < ? ORDER BY received_at LIMIT ?)');
    return deleteInChunks((n) => statement.run(before, n).changes);
  }

  async ruleCursor(): Promise<number> {
    return Number(this.db.prepare('SELECT position FROM log_rule_cursor WHERE name = ?').pluck().get(CURSOR) ?? 0);
  }

  async ruleStates(filter: { projectId?: number; firing?: boolean } = {}): Promise<LogRuleState[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.projectId !== undefined) {
      where.push('project_id = ?');
      args.push(filter.projectId);
    }
    if (filter.firing !== undefined) {
      where.push('firing = ?');
      args.push(filter.firing ? 1 : 0);
    }
    const rows = this.db
      .prepare(`SELECT * FROM log_rule_state ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY project_id, rule_key`)
      .all(...args) as RuleStateRow[];
    return rows.map(toRuleState);
  }

  async commitRuleBatch(batch: LogRuleBatch): Promise<boolean> {
    return this.db
      .transaction(() => {
        if (Number(this.db.prepare('SELECT position FROM log_rule_cursor WHERE name = ?').pluck().get(CURSOR) ?? 0) !== batch.from) return false;
        const state = this.db.prepare(
          `INSERT INTO log_rule_state (project_id, rule_key, state, firing, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (project_id, rule_key) DO UPDATE SET state = excluded.state, firing = excluded.firing, updated_at = excluded.updated_at`,
        );
        for (const s of batch.states) state.run(s.projectId, s.ruleKey, s.state, s.firing ? 1 : 0, s.updatedAt);
        const notify = this.db.prepare(
          'INSERT INTO monitor_notifications (project_id, monitor_id, fingerprint, kind, text, payload, next_attempt_at, created_at) VALUES (?, NULL, ?, ?, ?, ?, 0, ?)',
        );
        for (const n of batch.notifications) notify.run(n.projectId, n.fingerprint, n.kind, n.text, JSON.stringify(n.payload), n.createdAt);
        const mark = this.db.prepare('UPDATE log_lines SET rule = ?, event_id = COALESCE(?, event_id) WHERE id = ?');
        for (const m of batch.matches) mark.run(m.rule, m.eventId, m.id);
        this.db
          .prepare('INSERT INTO log_rule_cursor (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position')
          .run(CURSOR, batch.to);
        return true;
      })
      .immediate();
  }
}

function toRuleState(r: RuleStateRow): LogRuleState {
  return { projectId: r.project_id, ruleKey: r.rule_key, state: r.state, firing: Boolean(r.firing), updatedAt: Number(r.updated_at) };
}

import type Sqlite from 'better-sqlite3';
import { HOUR_MS, LOG_SEVERITY, type LogAppendResult, type LogLine, type LogQuery, type LogRuleBatch, type LogRuleState, type LogStore, type LogTemplate, type NewLogLine, type OperationLatencyMinute, type RuleLine, type StoredRun, type TemplateQuery } from '../logs.js';
import { aggregateTemplates, MAX_TEMPLATES_LISTED, planTemplateWrites, templateReads, toStored, toTemplate, type StoredTemplate, type TemplateRow, type TemplateWrite } from '../log-templates.js';
import { mergeInto } from '../../lib/histogram.js';
import { IDS_PER_READ, LOG_LINE_COLUMNS, RULE_LINE_COLUMNS, fillLogLineValues, firstOfEachLineId, isSearchableKey, queryLimit, searchWords, storedRuleLine, toLogLine, toLatency, toRuleLine, type LatencyRow, type LogLineRow, type RuleLineRow } from '../log-rows.js';
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
    const run = this.db
      .transaction((): StoredRun => {
        const before = this.lastId.get() as number;
        const judged: RuleLine[] = [];
        const templated: NewLogLine[] = [];
        const values: unknown[] = new Array(LOG_LINE_COLUMNS.length);
        for (const line of unique) {
          const result = this.insert.run(fillLogLineValues(line, values));
          if (!result.changes) continue;
          // The write lock is held: every id above `before` is one of these (the rules take them from memory).
          judged.push(storedRuleLine(Number(result.lastInsertRowid), line));
          if (line.template) templated.push(line);
        }
        if (judged.length) this.indexAfter.run(before);
        if (templated.length) this.recordTemplates(templated);
        return { after: before, lines: judged };
      })
      .immediate();
    const accepted = run.lines.length;
    return { accepted, duplicates: repeated + unique.length - accepted, ...(accepted ? { stored: run } : {}) };
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
    if (q.templateId !== undefined) {
      // The template's own lines and those of the templates it generalised (its aliases).
      where.push('template_id IN (SELECT ? UNION ALL SELECT template_id FROM log_templates WHERE project_id = ? AND merged_into = ?)');
      args.push(q.templateId, q.projectId, q.templateId);
    }
    if (q.afterId !== undefined) {
      where.push('id > ?');
      args.push(q.afterId);
    }
    if (q.rule !== undefined) {
      where.push('rule = ?');
      args.push(q.rule);
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
        // The id bounds go inside too: FTS5 walks only that rowid range, so a follower's poll
        // (`after` the newest line it has) does not collect every older match of a common word.
        const bounds = [q.afterId !== undefined ? ' AND rowid > ?' : '', q.beforeId !== undefined ? ' AND rowid < ?' : ''].join('');
        where.push(`id IN (SELECT rowid FROM log_lines_fts WHERE log_lines_fts MATCH ?${bounds})`);
        args.push(words.map((w) => `"${w}"`).join(' '));
        if (q.afterId !== undefined) args.push(q.afterId);
        if (q.beforeId !== undefined) args.push(q.beforeId);
      }
    }
    args.push(queryLimit(q));
    const rows = this.db.prepare(`SELECT * FROM log_lines WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...args) as LogLineRow[];
    return rows.map(toLogLine);
  }

  async linesAfter(id: number, limit: number): Promise<RuleLine[]> {
    const rows = this.db
      .prepare(`SELECT ${RULE_LINE_COLUMNS}, json_extract(fields, '$.operation') AS operation, json_extract(fields, '$.duration_ms') AS duration_ms FROM log_lines WHERE id > ? ORDER BY id LIMIT ?`)
      .all(id, limit) as RuleLineRow[];
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
    const pruned = await deleteInChunks((n) => statement.run(before, n).changes);
    // Template counts and latencies of the same span go with the lines (hours that started before `before`).
    this.db.prepare('DELETE FROM log_template_hours WHERE hour < ?').run(Math.floor(before / HOUR_MS) * HOUR_MS);
    this.db.prepare('DELETE FROM log_templates WHERE last_seen < ?').run(before);
    this.db.prepare('DELETE FROM log_operation_latency WHERE minute < ?').run(Math.floor(before / 60_000) * 60_000);
    return pruned;
  }

  async templates(q: TemplateQuery): Promise<LogTemplate[]> {
    const limit = Math.max(1, Math.min(MAX_TEMPLATES_LISTED, Math.floor(q.limit ?? 50)));
    const rows = this.db
      .prepare(
        `SELECT t.*, COALESCE(h.recent, 0) AS recent FROM log_templates t
         LEFT JOIN (SELECT template_id, SUM(count) AS recent FROM log_template_hours WHERE project_id = ? AND hour >= ? GROUP BY template_id) h ON h.template_id = t.template_id
         WHERE t.project_id = ? AND t.merged_into IS NULL ORDER BY recent DESC, t.count DESC, t.template_id LIMIT ?`,
      )
      .all(q.projectId, hourOf(q.since), q.projectId, limit) as TemplateRow[];
    if (!rows.length) return [];
    const hours = this.db
      .prepare(`SELECT template_id, hour, count FROM log_template_hours WHERE project_id = ? AND hour >= ? AND template_id IN (${rows.map(() => '?').join(', ')}) ORDER BY hour`)
      .all(q.projectId, hourOf(q.since), ...rows.map((r) => r.template_id)) as { template_id: string; hour: number; count: number }[];
    return rows.map((r) => toTemplate(r, hours.filter((h) => h.template_id === r.template_id).map((h) => ({ hour: Number(h.hour), count: Number(h.count) }))));
  }

  async newPatterns(since: number, limit = 50): Promise<LogTemplate[]> {
    const rows = this.db.prepare('SELECT * FROM log_templates WHERE noticed_at >= ? AND merged_into IS NULL ORDER BY noticed_at DESC LIMIT ?').all(since, limit) as TemplateRow[];
    return rows.map((r) => toTemplate(r));
  }

  async operationLatency(projectId: number, fromMinute: number, toMinute: number): Promise<OperationLatencyMinute[]> {
    const rows = this.db
      .prepare('SELECT * FROM log_operation_latency WHERE project_id = ? AND minute >= ? AND minute <= ? ORDER BY minute, operation')
      .all(projectId, fromMinute, toMinute) as LatencyRow[];
    return rows.map(toLatency);
  }

  /** The batch's template counts (store/log-templates.ts), inside the append's transaction. */
  private recordTemplates(lines: NewLogLine[]): void {
    const batch = aggregateTemplates(lines);
    const known = new Map<number, Map<string, StoredTemplate>>();
    const oldest = new Map<number, number | null>();
    for (const { projectId, ids } of templateReads(batch)) {
      const rows = this.db
        .prepare(`SELECT * FROM log_templates WHERE project_id = ? AND template_id IN (${ids.map(() => '?').join(', ')})`)
        .all(projectId, ...ids) as TemplateRow[];
      known.set(projectId, new Map(rows.map((r) => [r.template_id, toStored(r)])));
      const first = this.db.prepare('SELECT MIN(first_seen) FROM log_templates WHERE project_id = ?').pluck().get(projectId) as number | null;
      oldest.set(projectId, first === null ? null : Number(first));
    }
    for (const write of planTemplateWrites(batch, known, oldest)) this.applyTemplateWrite(write);
  }

  private applyTemplateWrite(w: TemplateWrite): void {
    if (w.kind === 'upsert') {
      const r = w.row;
      this.db
        .prepare(
          `INSERT INTO log_templates (project_id, template_id, template, first_seen, last_seen, count, noticed_at, merged_into) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
           ON CONFLICT (project_id, template_id) DO UPDATE SET count = count + excluded.count, first_seen = MIN(first_seen, excluded.first_seen),
             last_seen = MAX(last_seen, excluded.last_seen), noticed_at = COALESCE(noticed_at, excluded.noticed_at), merged_into = NULL`,
        )
        .run(r.projectId, r.id, r.text, r.firstSeen, r.lastSeen, r.count, r.noticedAt);
    } else if (w.kind === 'hours') {
      const add = this.db.prepare(
        `INSERT INTO log_template_hours (project_id, template_id, hour, count) VALUES (?, ?, ?, ?)
         ON CONFLICT (project_id, template_id, hour) DO UPDATE SET count = count + excluded.count`,
      );
      for (const [hour, count] of w.hours) add.run(w.projectId, w.id, hour, count);
    } else {
      this.db
        .prepare(
          `INSERT INTO log_template_hours (project_id, template_id, hour, count) SELECT project_id, ?, hour, count FROM log_template_hours WHERE project_id = ? AND template_id = ? AND true
           ON CONFLICT (project_id, template_id, hour) DO UPDATE SET count = count + excluded.count`,
        )
        .run(w.into, w.projectId, w.from);
      this.db.prepare('DELETE FROM log_template_hours WHERE project_id = ? AND template_id = ?').run(w.projectId, w.from);
      this.db.prepare('UPDATE log_templates SET merged_into = ?, count = 0 WHERE project_id = ? AND (template_id = ? OR merged_into = ?)').run(w.into, w.projectId, w.from, w.from);
    }
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

  /** Adds a minute's histogram to the stored one (inside commitRuleBatch's transaction). */
  private addLatency(l: OperationLatencyMinute): void {
    const row = this.db.prepare('SELECT buckets FROM log_operation_latency WHERE project_id = ? AND operation = ? AND minute = ?').get(l.projectId, l.operation, l.minute) as
      | { buckets: string }
      | undefined;
    if (!row) {
      this.db
        .prepare('INSERT INTO log_operation_latency (project_id, operation, minute, buckets, count, sum_ms) VALUES (?, ?, ?, ?, ?, ?)')
        .run(l.projectId, l.operation, l.minute, JSON.stringify(l.buckets), l.count, Math.round(l.sumMs));
      return;
    }
    const merged = mergeInto(JSON.parse(row.buckets) as number[], l.buckets);
    this.db
      .prepare('UPDATE log_operation_latency SET buckets = ?, count = count + ?, sum_ms = sum_ms + ? WHERE project_id = ? AND operation = ? AND minute = ?')
      .run(JSON.stringify(merged), l.count, Math.round(l.sumMs), l.projectId, l.operation, l.minute);
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
        for (const l of batch.latency ?? []) this.addLatency(l);
        this.db
          .prepare('INSERT INTO log_rule_cursor (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position')
          .run(CURSOR, batch.to);
        return true;
      })
      .immediate();
  }
}

function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

function toRuleState(r: RuleStateRow): LogRuleState {
  return { projectId: r.project_id, ruleKey: r.rule_key, state: r.state, firing: Boolean(r.firing), updatedAt: Number(r.updated_at) };
}

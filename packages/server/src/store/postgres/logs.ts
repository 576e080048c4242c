import { sql, type RawBuilder } from 'kysely';
import { LOG_SEVERITY, type LogAppendResult, type LogLine, type LogQuery, type LogRuleBatch, type LogRuleState, type LogStore, type NewLogLine, type RuleLine } from '../logs.js';
import { IDS_PER_READ, RULE_LINE_COLUMNS, firstOfEachLineId, isSearchableKey, logLineValues, queryLimit, searchWords, toLogLine, toRuleLine, type LogLineRow } from '../log-rows.js';
import { all, changes, LOCKS, one, type Db } from './query.js';

const CURSOR = 'rules';
/** Rows deleted per statement by retention, so one prune does not hold a huge transaction. */
const PRUNE_CHUNK = 5_000;

interface RuleStateRow {
  project_id: number;
  rule_key: string;
  state: string;
  firing: number;
  updated_at: number;
}

/** One array per column, the element type PostgreSQL must read it as. */
const COLUMN_TYPES = ['int', 'bigint', 'bigint', 'text', 'int', 'text', 'text', 'text', 'text', 'text', 'text', 'text'] as const;
const COLUMNS = sql.raw('project_id, time, received_at, level, severity, logger, message, fields, environment, release, source, line_id');

/**
 * LogStore on PostgreSQL. Lines go in with one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO
 * NOTHING` under a transaction advisory lock, so ids commit in order (the rule evaluator reads by
 * id, as the monitors read raw_items). Text search uses the GIN index over
 * `to_tsvector('simple', message)`, field filters the GIN index over `fields::jsonb`.
 */
export class PostgresLogStore implements LogStore {
  constructor(private readonly db: Db) {}

  async appendLines(lines: NewLogLine[]): Promise<LogAppendResult> {
    const { unique, repeated } = firstOfEachLineId(lines);
    if (!unique.length) return { accepted: 0, duplicates: repeated };
    const rows = unique.map(logLineValues);
    const arrays = COLUMN_TYPES.map((type, i) => sql`${rows.map((r) => r[i])}::${sql.raw(type)}[]`);
    const accepted = await this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${LOCKS.logLinesAppend}::int, 0)`.execute(trx);
      return changes(trx, sql`INSERT INTO log_lines (${COLUMNS}) SELECT * FROM unnest(${sql.join(arrays)}) ON CONFLICT (project_id, line_id) DO NOTHING`);
    });
    return { accepted, duplicates: repeated + unique.length - accepted };
  }

  async searchLines(q: LogQuery): Promise<LogLine[]> {
    const where: RawBuilder<unknown>[] = [sql`project_id = ${q.projectId}`];
    if (q.levels?.length) where.push(sql`level = ANY(${q.levels}::text[])`);
    if (q.minLevel) where.push(sql`severity >= ${LOG_SEVERITY[q.minLevel]}`);
    if (q.logger !== undefined) where.push(sql`logger = ${q.logger}`);
    if (q.from !== undefined) where.push(sql`time >= ${q.from}`);
    if (q.to !== undefined) where.push(sql`time < ${q.to}`);
    if (q.beforeId !== undefined) where.push(sql`id < ${q.beforeId}`);
    const fields = Object.entries(q.fields ?? {});
    if (fields.some(([key]) => !isSearchableKey(key))) return [];
    if (fields.length) where.push(sql`fields::jsonb @> ${JSON.stringify(Object.fromEntries(fields))}::jsonb`);
    if (q.text !== undefined) {
      const words = searchWords(q.text);
      if (words.length) where.push(sql`to_tsvector('simple', message) @@ plainto_tsquery('simple', ${words.join(' ')})`);
    }
    const rows = await all<LogLineRow>(this.db, sql`SELECT * FROM log_lines WHERE ${sql.join(where, sql` AND `)} ORDER BY id DESC LIMIT ${queryLimit(q)}`);
    return rows.map(toLogLine);
  }

  async linesAfter(id: number, limit: number): Promise<RuleLine[]> {
    return (await all<LogLineRow>(this.db, sql`SELECT ${sql.raw(RULE_LINE_COLUMNS)} FROM log_lines WHERE id > ${id} ORDER BY id LIMIT ${limit}`)).map(toRuleLine);
  }

  async linesByIds(ids: number[]): Promise<LogLine[]> {
    const out: LogLine[] = [];
    for (let at = 0; at < ids.length; at += IDS_PER_READ) {
      const chunk = ids.slice(at, at + IDS_PER_READ);
      out.push(...(await all<LogLineRow>(this.db, sql`SELECT * FROM log_lines WHERE id = ANY(${chunk}::bigint[]) ORDER BY id`)).map(toLogLine));
    }
    return out;
  }

  async countLines(projectId?: number): Promise<number> {
    const where = projectId === undefined ? sql`` : sql`WHERE project_id = ${projectId}`;
    return Number((await one<{ n: number }>(this.db, sql`SELECT COUNT(*)::bigint AS n FROM log_lines ${where}`))!.n);
  }

  async lastLineId(): Promise<number> {
    return Number((await one<{ id: number }>(this.db, sql`SELECT COALESCE(MAX(id), 0) AS id FROM log_lines`))!.id);
  }

  async pruneLines(before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await changes(this.db, sql`DELETE FROM log_lines WHERE id IN (SELECT id FROM log_lines WHERE received_at < ${before} LIMIT ${PRUNE_CHUNK})`);
      total += n;
      if (n < PRUNE_CHUNK) return total;
    }
  }

  async ruleCursor(): Promise<number> {
    const row = await one<{ position: number }>(this.db, sql`SELECT position FROM log_rule_cursor WHERE name = ${CURSOR}`);
    return Number(row?.position ?? 0);
  }

  async ruleStates(filter: { projectId?: number; firing?: boolean } = {}): Promise<LogRuleState[]> {
    const where: RawBuilder<unknown>[] = [sql`TRUE`];
    if (filter.projectId !== undefined) where.push(sql`project_id = ${filter.projectId}`);
    if (filter.firing !== undefined) where.push(sql`firing = ${filter.firing ? 1 : 0}`);
    const rows = await all<RuleStateRow>(this.db, sql`SELECT * FROM log_rule_state WHERE ${sql.join(where, sql` AND `)} ORDER BY project_id, rule_key COLLATE "C"`);
    return rows.map(toRuleState);
  }

  async commitRuleBatch(batch: LogRuleBatch): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // The cursor row, locked: a second evaluator waits here, then finds it moved and applies nothing.
      await sql`INSERT INTO log_rule_cursor (name, position) VALUES (${CURSOR}, 0) ON CONFLICT (name) DO NOTHING`.execute(trx);
      const cursor = await one<{ position: number }>(trx, sql`SELECT position FROM log_rule_cursor WHERE name = ${CURSOR} FOR UPDATE`);
      if (Number(cursor!.position) !== batch.from) return false;
      for (const s of batch.states) {
        await sql`INSERT INTO log_rule_state (project_id, rule_key, state, firing, updated_at) VALUES (${s.projectId}, ${s.ruleKey}, ${s.state}, ${s.firing ? 1 : 0}, ${s.updatedAt})
                  ON CONFLICT (project_id, rule_key) DO UPDATE SET state = excluded.state, firing = excluded.firing, updated_at = excluded.updated_at`.execute(trx);
      }
      for (const n of batch.notifications) {
        await sql`INSERT INTO monitor_notifications (project_id, monitor_id, fingerprint, kind, text, payload, next_attempt_at, created_at)
                  VALUES (${n.projectId}, NULL, ${n.fingerprint}, ${n.kind}, ${n.text}, ${JSON.stringify(n.payload)}, 0, ${n.createdAt})`.execute(trx);
      }
      for (const m of batch.matches) {
        await sql`UPDATE log_lines SET rule = ${m.rule}, event_id = COALESCE(${m.eventId}, event_id) WHERE id = ${m.id}`.execute(trx);
      }
      await sql`UPDATE log_rule_cursor SET position = ${batch.to} WHERE name = ${CURSOR}`.execute(trx);
      return true;
    });
  }
}

function toRuleState(r: RuleStateRow): LogRuleState {
  return { projectId: r.project_id, ruleKey: r.rule_key, state: r.state, firing: Boolean(r.firing), updatedAt: Number(r.updated_at) };
}

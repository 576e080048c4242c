import { sql, type RawBuilder } from 'kysely';
import { HOUR_MS, LOG_SEVERITY, type LogAppendResult, type LogLine, type LogQuery, type LogRuleBatch, type LogRuleState, type LogStore, type LogTemplate, type NewLogLine, type OperationLatencyMinute, type RuleLine, type StoredRun, type TemplateQuery } from '../logs.js';
import { aggregateTemplates, MAX_TEMPLATES_LISTED, planTemplateWrites, templateReads, toStored, toTemplate, type StoredTemplate, type TemplateRow, type TemplateWrite } from '../log-templates.js';
import { mergeInto } from '../../lib/histogram.js';
import { IDS_PER_READ, RULE_LINE_COLUMNS, firstOfEachLineId, isSearchableKey, logLineValues, queryLimit, searchWords, storedRuleLine, toLogLine, toLatency, toRuleLine, type LatencyRow, type LogLineRow, type RuleLineRow } from '../log-rows.js';
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
const COLUMN_TYPES = ['int', 'bigint', 'bigint', 'text', 'int', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text'] as const;
const COLUMNS = sql.raw('project_id, time, received_at, level, severity, logger, message, fields, environment, release, source, line_id, template_id');

/**
 * The lines an insert stored, with their ids. The ids were drawn in the order unnest gave the rows
 * (the input's), so the inserted lines in input order take the returned ids in ascending order:
 * lines without an id always went in (NULLs never conflict), `unique` holds each (project, line id)
 * once, and one named in RETURNING went in.
 */
function storedLines(unique: NewLogLine[], inserted: { id: string | number; project_id: number; line_id: string | null }[]): { id: number; line: NewLogLine }[] {
  const ids = inserted.map((r) => Number(r.id)).sort((x, y) => x - y);
  const named = new Set(inserted.map((r) => `${r.project_id}\u0000${r.line_id}`));
  const went = inserted.length === unique.length ? unique : unique.filter((l) => l.lineId === null || named.has(`${l.projectId}\u0000${l.lineId}`));
  return went.map((line, i) => ({ id: ids[i]!, line }));
}

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
    const run = await this.db.transaction().execute(async (trx): Promise<StoredRun> => {
      await sql`SELECT pg_advisory_xact_lock(${LOCKS.logLinesAppend}::int, 0)`.execute(trx);
      // Every append holds this lock to its commit (in every process): the lines above the newest
      // id now are all this call's, so the rules can take them from memory (LogRuleEvaluator.handOver).
      const after = Number((await one<{ id: string | number }>(trx, sql`SELECT COALESCE(MAX(id), 0) AS id FROM log_lines`))!.id);
      const inserted = await all<{ id: string | number; project_id: number; line_id: string | null }>(
        trx,
        sql`INSERT INTO log_lines (${COLUMNS}) SELECT * FROM unnest(${sql.join(arrays)}) ON CONFLICT (project_id, line_id) DO NOTHING RETURNING id, project_id, line_id`,
      );
      const stored = storedLines(unique, inserted);
      // A duplicate's template is not counted twice.
      const templated = stored.filter(({ line }) => line.template).map(({ line }) => line);
      if (templated.length) await recordTemplates(trx, templated);
      return { after, lines: stored.map(({ id, line }) => storedRuleLine(id, line)) };
    });
    const accepted = run.lines.length;
    return { accepted, duplicates: repeated + unique.length - accepted, ...(accepted ? { stored: run } : {}) };
  }

  async searchLines(q: LogQuery): Promise<LogLine[]> {
    const where: RawBuilder<unknown>[] = [sql`project_id = ${q.projectId}`];
    if (q.levels?.length) where.push(sql`level = ANY(${q.levels}::text[])`);
    if (q.minLevel) where.push(sql`severity >= ${LOG_SEVERITY[q.minLevel]}`);
    if (q.logger !== undefined) where.push(sql`logger = ${q.logger}`);
    if (q.from !== undefined) where.push(sql`time >= ${q.from}`);
    if (q.to !== undefined) where.push(sql`time < ${q.to}`);
    if (q.beforeId !== undefined) where.push(sql`id < ${q.beforeId}`);
    if (q.templateId !== undefined) {
      // The template's own lines and those of the templates it generalised (its aliases).
      where.push(sql`template_id IN (SELECT ${q.templateId}::text UNION ALL SELECT template_id FROM log_templates WHERE project_id = ${q.projectId} AND merged_into = ${q.templateId})`);
    }
    if (q.afterId !== undefined) where.push(sql`id > ${q.afterId}`);
    if (q.rule !== undefined) where.push(sql`rule = ${q.rule}`);
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
    return (
      await all<RuleLineRow>(
        this.db,
        sql`SELECT ${sql.raw(RULE_LINE_COLUMNS)}, fields::jsonb ->> 'operation' AS operation, fields::jsonb ->> 'duration_ms' AS duration_ms FROM log_lines WHERE id > ${id} ORDER BY id LIMIT ${limit}`,
      )
    ).map(toRuleLine);
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
      if (n < PRUNE_CHUNK) break;
    }
    // Template counts and latencies of the same span go with the lines (hours that started before `before`).
    await sql`DELETE FROM log_template_hours WHERE hour < ${Math.floor(before / HOUR_MS) * HOUR_MS}`.execute(this.db);
    await sql`DELETE FROM log_templates WHERE last_seen < ${before}`.execute(this.db);
    await sql`DELETE FROM log_operation_latency WHERE minute < ${Math.floor(before / 60_000) * 60_000}`.execute(this.db);
    return total;
  }

  async templates(q: TemplateQuery): Promise<LogTemplate[]> {
    const limit = Math.max(1, Math.min(MAX_TEMPLATES_LISTED, Math.floor(q.limit ?? 50)));
    const since = Math.floor(q.since / HOUR_MS) * HOUR_MS;
    const rows = await all<TemplateRow>(
      this.db,
      sql`SELECT t.*, COALESCE(h.recent, 0) AS recent FROM log_templates t
          LEFT JOIN (SELECT template_id, SUM(count) AS recent FROM log_template_hours WHERE project_id = ${q.projectId} AND hour >= ${since} GROUP BY template_id) h ON h.template_id = t.template_id
          WHERE t.project_id = ${q.projectId} AND t.merged_into IS NULL ORDER BY recent DESC, t.count DESC, t.template_id COLLATE "C" LIMIT ${limit}`,
    );
    if (!rows.length) return [];
    const hours = await all<{ template_id: string; hour: number; count: number }>(
      this.db,
      sql`SELECT template_id, hour, count FROM log_template_hours WHERE project_id = ${q.projectId} AND hour >= ${since} AND template_id = ANY(${rows.map((r) => r.template_id)}::text[]) ORDER BY hour`,
    );
    return rows.map((r) => toTemplate(r, hours.filter((h) => h.template_id === r.template_id).map((h) => ({ hour: Number(h.hour), count: Number(h.count) }))));
  }

  async newPatterns(since: number, limit = 50): Promise<LogTemplate[]> {
    const rows = await all<TemplateRow>(this.db, sql`SELECT * FROM log_templates WHERE noticed_at >= ${since} AND merged_into IS NULL ORDER BY noticed_at DESC LIMIT ${limit}`);
    return rows.map((r) => toTemplate(r));
  }

  async operationLatency(projectId: number, fromMinute: number, toMinute: number): Promise<OperationLatencyMinute[]> {
    const rows = await all<LatencyRow>(
      this.db,
      sql`SELECT * FROM log_operation_latency WHERE project_id = ${projectId} AND minute >= ${fromMinute} AND minute <= ${toMinute} ORDER BY minute, operation COLLATE "C"`,
    );
    return rows.map(toLatency);
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
      for (const l of batch.latency ?? []) await addLatency(trx, l);
      await sql`UPDATE log_rule_cursor SET position = ${batch.to} WHERE name = ${CURSOR}`.execute(trx);
      return true;
    });
  }
}

/** Adds a minute's histogram to the stored one (inside commitRuleBatch's transaction, which holds the cursor row). */
async function addLatency(trx: Db, l: OperationLatencyMinute): Promise<void> {
  const row = await one<{ buckets: string }>(trx, sql`SELECT buckets FROM log_operation_latency WHERE project_id = ${l.projectId} AND operation = ${l.operation} AND minute = ${l.minute} FOR UPDATE`);
  if (!row) {
    await sql`INSERT INTO log_operation_latency (project_id, operation, minute, buckets, count, sum_ms)
              VALUES (${l.projectId}, ${l.operation}, ${l.minute}, ${JSON.stringify(l.buckets)}, ${l.count}, ${Math.round(l.sumMs)})`.execute(trx);
    return;
  }
  const merged = mergeInto(JSON.parse(row.buckets) as number[], l.buckets);
  await sql`UPDATE log_operation_latency SET buckets = ${JSON.stringify(merged)}, count = count + ${l.count}, sum_ms = sum_ms + ${Math.round(l.sumMs)}
            WHERE project_id = ${l.projectId} AND operation = ${l.operation} AND minute = ${l.minute}`.execute(trx);
}

/** The batch's template counts (store/log-templates.ts), inside the append's transaction. */
async function recordTemplates(trx: Db, lines: NewLogLine[]): Promise<void> {
  const batch = aggregateTemplates(lines);
  const known = new Map<number, Map<string, StoredTemplate>>();
  const oldest = new Map<number, number | null>();
  for (const { projectId, ids } of templateReads(batch)) {
    const rows = await all<TemplateRow>(trx, sql`SELECT * FROM log_templates WHERE project_id = ${projectId} AND template_id = ANY(${ids}::text[])`);
    known.set(projectId, new Map(rows.map((r) => [r.template_id, toStored(r)])));
    const first = await one<{ first: number | string | null }>(trx, sql`SELECT MIN(first_seen) AS first FROM log_templates WHERE project_id = ${projectId}`);
    oldest.set(projectId, first?.first === null || first?.first === undefined ? null : Number(first.first));
  }
  for (const write of planTemplateWrites(batch, known, oldest)) await applyTemplateWrite(trx, write);
}

async function applyTemplateWrite(trx: Db, w: TemplateWrite): Promise<void> {
  if (w.kind === 'upsert') {
    const r = w.row;
    await sql`INSERT INTO log_templates (project_id, template_id, template, first_seen, last_seen, count, noticed_at, merged_into)
              VALUES (${r.projectId}, ${r.id}, ${r.text}, ${r.firstSeen}, ${r.lastSeen}, ${r.count}, ${r.noticedAt}, NULL)
              ON CONFLICT (project_id, template_id) DO UPDATE SET count = log_templates.count + excluded.count,
                first_seen = LEAST(log_templates.first_seen, excluded.first_seen), last_seen = GREATEST(log_templates.last_seen, excluded.last_seen),
                noticed_at = COALESCE(log_templates.noticed_at, excluded.noticed_at), merged_into = NULL`.execute(trx);
  } else if (w.kind === 'hours') {
    await sql`INSERT INTO log_template_hours (project_id, template_id, hour, count)
              SELECT ${w.projectId}, ${w.id}, h, c FROM unnest(${w.hours.map((h) => h[0])}::bigint[], ${w.hours.map((h) => h[1])}::bigint[]) AS t(h, c)
              ON CONFLICT (project_id, template_id, hour) DO UPDATE SET count = log_template_hours.count + excluded.count`.execute(trx);
  } else {
    await sql`INSERT INTO log_template_hours (project_id, template_id, hour, count) SELECT project_id, ${w.into}, hour, count FROM log_template_hours WHERE project_id = ${w.projectId} AND template_id = ${w.from}
              ON CONFLICT (project_id, template_id, hour) DO UPDATE SET count = log_template_hours.count + excluded.count`.execute(trx);
    await sql`DELETE FROM log_template_hours WHERE project_id = ${w.projectId} AND template_id = ${w.from}`.execute(trx);
    await sql`UPDATE log_templates SET merged_into = ${w.into}, count = 0 WHERE project_id = ${w.projectId} AND (template_id = ${w.from} OR merged_into = ${w.from})`.execute(trx);
  }
}

function toRuleState(r: RuleStateRow): LogRuleState {
  return { projectId: r.project_id, ruleKey: r.rule_key, state: r.state, firing: Boolean(r.firing), updatedAt: Number(r.updated_at) };
}

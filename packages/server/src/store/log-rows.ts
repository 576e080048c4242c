import { LOG_SEVERITY, type LogLine, type LogQuery, type NewLogLine, type OperationLatencyMinute, type RuleLine } from './logs.js';

/** A log_lines row as both drivers return it (bigints as numbers). */
export interface LogLineRow {
  id: number;
  project_id: number;
  time: number;
  received_at: number;
  level: string;
  severity: number;
  logger: string | null;
  message: string;
  fields: string;
  environment: string | null;
  release: string | null;
  source: string;
  line_id: string | null;
  rule: string | null;
  event_id: string | null;
  template_id: string | null;
}

export const LOG_LINE_COLUMNS = ['project_id', 'time', 'received_at', 'level', 'severity', 'logger', 'message', 'fields', 'environment', 'release', 'source', 'line_id', 'template_id'] as const;

/** The column values of a new line, in LOG_LINE_COLUMNS order. */
export function logLineValues(l: NewLogLine): unknown[] {
  return fillLogLineValues(l, new Array(LOG_LINE_COLUMNS.length));
}

/** logLineValues written into `into` (a statement's bindings reused row after row, not an array per line). */
export function fillLogLineValues(l: NewLogLine, into: unknown[]): unknown[] {
  into[0] = l.projectId;
  into[1] = l.time;
  into[2] = l.receivedAt;
  into[3] = l.level;
  into[4] = LOG_SEVERITY[l.level];
  into[5] = l.logger;
  into[6] = l.message;
  into[7] = l.fieldsJson ?? JSON.stringify(l.fields);
  into[8] = l.environment;
  into[9] = l.release;
  into[10] = l.source;
  into[11] = l.lineId;
  into[12] = l.template?.id ?? null;
  return into;
}

/** The columns of a RuleLine. */
export const RULE_LINE_COLUMNS = 'id, project_id, time, received_at, level, message';

/** A rule line's row: RULE_LINE_COLUMNS plus `operation` and `duration_ms`, which each store reads out of `fields` in its own JSON syntax. */
export type RuleLineRow = Pick<LogLineRow, 'id' | 'project_id' | 'time' | 'received_at' | 'level' | 'message'> & { operation: unknown; duration_ms: unknown };

export function toRuleLine(r: RuleLineRow): RuleLine {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return { id: Number(r.id), projectId: r.project_id, time: Number(r.time), receivedAt: Number(r.received_at), level: r.level as LogLine['level'], message: r.message, operation: text(r.operation), durationMs: text(r.duration_ms) };
}

/**
 * The rule line of a line just stored with this id: what linesAfter would read back
 * (`operation` and `duration_ms` are text fields, as json_extract / `->>` give them).
 */
export function storedRuleLine(id: number, l: NewLogLine): RuleLine {
  return { id, projectId: l.projectId, time: l.time, receivedAt: l.receivedAt, level: l.level, message: l.message, operation: l.operation !== undefined ? l.operation : (l.fields['operation'] ?? null), durationMs: l.durationMs !== undefined ? l.durationMs : (l.fields['duration_ms'] ?? null) };
}

/** At most this many ids per `linesByIds` statement (SQLite's bound-parameter limit is far above). */
export const IDS_PER_READ = 500;

export function toLogLine(r: LogLineRow): LogLine {
  return {
    id: Number(r.id),
    projectId: r.project_id,
    time: Number(r.time),
    receivedAt: Number(r.received_at),
    level: r.level as LogLine['level'],
    logger: r.logger,
    message: r.message,
    fields: parseFields(r.fields),
    environment: r.environment,
    release: r.release,
    source: r.source as LogLine['source'],
    lineId: r.line_id,
    rule: r.rule,
    eventId: r.event_id,
    templateId: r.template_id ?? null,
  };
}

function parseFields(text: string): Record<string, string> {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/**
 * Drops repeated line ids within one append (the first wins), so the database sees each id once;
 * returns the lines to insert and how many were dropped as duplicates.
 */
export function firstOfEachLineId(lines: NewLogLine[]): { unique: NewLogLine[]; repeated: number } {
  // Per project, the ids seen (a batch is one project's: one set, no key string made per line).
  const seen = new Map<number, Set<string>>();
  const unique: NewLogLine[] = [];
  for (const line of lines) {
    if (line.lineId !== null) {
      let ids = seen.get(line.projectId);
      if (!ids) seen.set(line.projectId, (ids = new Set()));
      if (ids.has(line.lineId)) continue;
      ids.add(line.lineId);
    }
    unique.push(line);
  }
  return { unique, repeated: lines.length - unique.length };
}

/** The words of a text query, as the full-text indexes tokenise (letters and digits), lower-cased. */
export function searchWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 32);
}

export const MAX_QUERY_LIMIT = 1000;

export function queryLimit(q: LogQuery): number {
  return Math.max(1, Math.min(MAX_QUERY_LIMIT, Math.floor(q.limit ?? 100)));
}

/** A field key usable in a JSON path: anything else cannot be a key we stored (see ingest's field caps). */
export function isSearchableKey(key: string): boolean {
  return key.length > 0 && key.length <= 100 && !/["\\\u0000-\u001f]/.test(key);
}

/** A `log_operation_latency` row (a minute's histogram of one operation), as both stores read it. */
export interface LatencyRow {
  project_id: number;
  operation: string;
  minute: number;
  buckets: string;
  count: number;
  sum_ms: number;
}

export function toLatency(r: LatencyRow): OperationLatencyMinute {
  return { projectId: r.project_id, operation: r.operation, minute: Number(r.minute), buckets: JSON.parse(r.buckets) as number[], count: Number(r.count), sumMs: Number(r.sum_ms) };
}

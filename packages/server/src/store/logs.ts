import type { NewNotification } from './monitors.js';

/**
 * What the log work keeps (docs/logs.md): the lines bots ship and the state of the log rules.
 * SQLite implements it beside SqliteStore (`sqlite/logs.ts`, same connection), PostgreSQL beside
 * PostgresStore; `logs.contract.ts` is the behaviour both must pass.
 */

/** Levels after normalisation (pino, structlog, Python logging, Sentry): `fatal` is `critical`. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warning' | 'error' | 'critical';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warning', 'error', 'critical'];

/** OpenTelemetry's severity numbers (Sentry's logs use them too): ordered, so `level >= error` is one comparison. */
export const LOG_SEVERITY: Record<LogLevel, number> = { trace: 1, debug: 5, info: 9, warning: 13, error: 17, critical: 21 };

/** Where a line came in. */
export type LogSource = 'ndjson' | 'sentry' | 'sdk';

export interface NewLogLine {
  projectId: number;
  /** When it was logged (ms), as the sender stamped it (the receive time when it did not). */
  time: number;
  receivedAt: number;
  level: LogLevel;
  logger: string | null;
  /** Scrubbed. */
  message: string;
  /** Structured fields, every value as text (searched as `field:value`); scrubbed. */
  fields: Record<string, string>;
  environment: string | null;
  release: string | null;
  source: LogSource;
  /** The sender's id for the line: a second line with the same id in the project is a duplicate, not stored. */
  lineId: string | null;
  /** The Drain template the line joined when it was received (logs/templater.ts); absent: none. */
  template?: LineTemplate | null;
  /**
   * Worked out already by the log-line thread (logs/packed-lines.ts ReceivedLine): `fields` as the
   * JSON the stores write, and its `operation` and `duration_ms`. When present, the stores use
   * them rather than serialising `fields` again.
   */
  readonly fieldsJson?: string;
  readonly operation?: string | null;
  readonly durationMs?: string | null;
}

/** A line's template as the miner saw it: its id, its text, and the ids it generalised (their stats move to it). */
export interface LineTemplate {
  id: string;
  text: string;
  previousIds?: string[];
  /** When the miner saw the line (ms; the logs' clock): the template's first/last seen and hour. The receive time when absent. */
  seenAt?: number;
}

export interface LogLine extends Omit<NewLogLine, 'template'> {
  id: number;
  /** The template the line joined (null: none, e.g. stored before templates existed). */
  templateId: string | null;
  /** The log rule the line matched (`forbidden:<pattern>`, `rate:<pattern>`), set by the rule evaluator. */
  rule: string | null;
  /** The event a forbidden line became (its issue: Store.getEvent). */
  eventId: string | null;
}

/**
 * What the log rules read of a line (LogStore.linesAfter): the rest (fields, logger, …) is read
 * only for the few lines that become events (LogStore.linesByIds), since reading and parsing it for
 * every line cost as much as matching (docs/logs.md "Throughput").
 */
export type RuleLine = Pick<LogLine, 'id' | 'projectId' | 'time' | 'receivedAt' | 'level' | 'message'> & {
  /** The `operation` and `duration_ms` fields (latency per operation), read out of the fields by the database: the rest of the fields JSON is never parsed for the rules. */
  operation: string | null;
  durationMs: string | null;
};

export interface LogQuery {
  projectId: number;
  /** Only these levels. */
  levels?: LogLevel[];
  /** This level and above. */
  minLevel?: LogLevel;
  logger?: string;
  /** Words that must all appear in the message, through the database's full-text index. */
  text?: string;
  /** `field:value` filters, all of which must hold (exact text). */
  fields?: Record<string, string>;
  /** Time range (ms): `from` inclusive, `to` exclusive. */
  from?: number;
  to?: number;
  /** Paging: lines with a smaller id than this (the list is newest first). */
  beforeId?: number;
  /** Lines of this template (and of the templates it generalised). */
  templateId?: string;
  /** Live follow: only lines with a larger id than this (still newest first, so a full page means a gap). */
  afterId?: number;
  /** Only lines the rule evaluator marked with this rule key (`forbidden:<pattern>`, `rate:<pattern>`). */
  rule?: string;
  limit?: number;
}

export interface LogAppendResult {
  /** Lines stored. */
  accepted: number;
  /** Lines whose `lineId` the project had already: not stored again. */
  duplicates: number;
  /**
   * The lines just stored, as the rules read them, which are ALL the lines with ids in (`after`,
   * the last one's id]: the append holds the store's append lock (SQLite's write lock, PostgreSQL's
   * advisory lock in every process) from reading `after` to its commit. The rules take them from
   * memory instead of reading them back (LogRuleEvaluator.handOver). Absent when none was stored.
   */
  stored?: StoredRun;
}

/** Every line stored with an id above `after` up to the last of `lines`, in id order. */
export interface StoredRun {
  after: number;
  lines: RuleLine[];
}

/** A rule's state in a project (JSON the rule evaluator owns), and whether it is firing. */
export interface LogRuleState {
  projectId: number;
  ruleKey: string;
  state: string;
  firing: boolean;
  updatedAt: number;
}

/**
 * What one evaluation of lines `(from, to]` decided, written in ONE transaction so that a crash
 * (kill -9) before it changes nothing and after it leaves nothing to decide again.
 */
export interface LogRuleBatch {
  from: number;
  to: number;
  states: LogRuleState[];
  /** Alerts for the monitors' forwarder (monitor_notifications → the alert outbox). */
  notifications: NewNotification[];
  /** Lines that matched a rule, and the event a forbidden one became. */
  matches: { id: number; rule: string; eventId: string | null }[];
  /** Durations of the batch's lines with `operation` + `duration_ms`, per minute (added to the stored histograms). */
  latency?: OperationLatencyMinute[];
}

/** One minute of an operation's durations: monitors/latency.ts buckets (mergeable by adding). */
export interface OperationLatencyMinute {
  projectId: number;
  operation: string;
  /** Start of the minute (ms). */
  minute: number;
  buckets: number[];
  count: number;
  sumMs: number;
}

/** A project's template and its counts (receive times). */
export interface LogTemplate {
  projectId: number;
  id: string;
  template: string;
  firstSeen: number;
  lastSeen: number;
  /** Lines since it was first seen (lines pruned by retention included). */
  count: number;
  /** When it was flagged a new pattern (a template first seen in a project logging for a day or more); null: never. */
  noticedAt: number | null;
  /** Lines in the hours at or after the query's `since`. */
  recentCount: number;
  /** Lines per hour (start of the hour, ms) since the query's `since`, oldest first. */
  hours: { hour: number; count: number }[];
}

export interface TemplateQuery {
  projectId: number;
  /** Hour counts from this time (ms); the list is ordered by the lines since then, then by all lines. */
  since: number;
  limit?: number;
}

/** A project counts as logging for this long before a template it has never seen is a new pattern. */
export const NEW_PATTERN_AFTER_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

/** Caps of one line, so a single sender cannot make rows of any size. */
export const LOG_LIMITS = { messageChars: 16_384, fields: 64, keyChars: 100, valueChars: 2_048, loggerChars: 256 } as const;

export interface LogStore {
  /**
   * Stores lines in one transaction. Lines whose `lineId` is already in their project (or earlier
   * in the same call) are counted as duplicates. Ids commit in order, so a reader by id (the rule
   * evaluator) never skips a line committed late.
   */
  appendLines(lines: NewLogLine[]): Promise<LogAppendResult>;
  /** Newest first. */
  searchLines(query: LogQuery): Promise<LogLine[]>;
  /** Lines after an id, in id order, across projects: what the rule evaluator reads of them. */
  linesAfter(id: number, limit: number): Promise<RuleLine[]>;
  /** Whole lines by id, in id order (ids not stored are left out). */
  linesByIds(ids: number[]): Promise<LogLine[]>;
  countLines(projectId?: number): Promise<number>;
  /** The newest line's id (0 when there is none): with ruleCursor, how many lines wait for the rules. */
  lastLineId(): Promise<number>;
  /** Lines received before `before` go (retention), with the template counts and operation latencies of before then. */
  pruneLines(before: number): Promise<number>;

  /** A project's templates (aliases left out), most lines since `q.since` first. */
  templates(q: TemplateQuery): Promise<LogTemplate[]>;
  /** Templates flagged a new pattern at or after `since`, across projects, newest first (no hour counts). */
  newPatterns(since: number, limit?: number): Promise<LogTemplate[]>;
  /** A project's per-minute operation latencies, minutes in [fromMinute, toMinute]. */
  operationLatency(projectId: number, fromMinute: number, toMinute: number): Promise<OperationLatencyMinute[]>;

  /** The last line id the rule evaluator decided on (0 before the first). */
  ruleCursor(): Promise<number>;
  ruleStates(filter?: { projectId?: number; firing?: boolean }): Promise<LogRuleState[]>;
  /** Applies a batch if the cursor is still at `batch.from`; false (nothing applied) if another evaluator moved it. */
  commitRuleBatch(batch: LogRuleBatch): Promise<boolean>;
}

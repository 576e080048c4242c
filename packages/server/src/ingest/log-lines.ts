import { isUtf8 } from 'node:buffer';
import { badRequest } from '../lib/errors.js';
import { LOG_LIMITS, type LogLevel, type LogSource, type NewLogLine } from '../store/logs.js';
import { ownEntry, setOwn } from '../lib/own-entry.js';

/**
 * Log records of every shape bots write, turned into stored lines (docs/logs.md "Shapes"):
 * pino (`level` 10..60, `msg`, `time` ms), structlog (`event`, `level`, `timestamp` ISO), Python
 * `logging` as JSON (`levelname`, `message`, `name`, `created` s), generic (`message`|`msg`,
 * `level`, `logger`|`name`, `time`|`timestamp`|`ts` in ms, s or ISO), and Sentry's `log` items
 * (`body`, `level`, `timestamp` s, typed `attributes`). Every other key becomes a structured field
 * (its value as text). The record is scrubbed before anything is read from it.
 */

export interface LogScrubber {
  scrubEvent(value: object): unknown;
}

export interface LogContext {
  projectId: number;
  receivedAt: number;
  source: LogSource;
  scrubber: LogScrubber;
}

/** `"botpulse.line_id"`: the sender's id of a line, so its retry is stored once. */
export const LINE_ID_KEY = 'botpulse.line_id';
const MAX_LINE_ID_CHARS = 200;

/** A line that could not be taken, and why (NDJSON answers list them; nothing is dropped unsaid). */
export interface RejectedLine {
  /** 1-based line number in the body (or record number in a Sentry item). */
  line: number;
  reason: string;
}

export interface ParsedLines {
  lines: NewLogLine[];
  rejected: RejectedLine[];
}

const MESSAGE_KEYS = ['message', 'msg', 'event', 'body'] as const;
const LOGGER_KEYS = ['logger', 'name', 'logger_name', 'logger.name'] as const;
const TIME_KEYS = ['time', 'timestamp', 'ts', 'created', '@timestamp'] as const;
const LEVEL_KEYS = ['level', 'levelname', 'severity', 'level_name'] as const;
const ENVIRONMENT_KEYS = ['environment', 'env'] as const;

/** Level names as loggers write them (lower-cased). */
const LEVEL_NAMES: Record<string, LogLevel> = {
  trace: 'trace', verbose: 'trace',
  debug: 'debug',
  info: 'info', information: 'info', informational: 'info', notice: 'info', log: 'info',
  warn: 'warning', warning: 'warning',
  error: 'error', err: 'error', exception: 'error',
  critical: 'critical', crit: 'critical', fatal: 'critical', panic: 'critical', alert: 'critical', emerg: 'critical', emergency: 'critical',
};

/**
 * The lines of an NDJSON body (one JSON object per line; blank lines skipped). A JSON array of
 * objects is taken too (a body sent as application/json). Throws 400 when the body is not UTF-8
 * or no line of it is JSON (it is no NDJSON at all); otherwise bad lines are rejected one by one.
 */
export function parseNdjson(body: Buffer, ctx: LogContext): ParsedLines {
  if (!isUtf8(body)) throw badRequest('the body is not valid UTF-8');
  const out: ParsedLines = { lines: [], rejected: [] };
  let jsonLines = 0;
  let nonBlank = 0;
  const take = (number: number, value: unknown): void => {
    jsonLines += 1;
    const line = recordToLine(value, ctx);
    if (typeof line === 'string') out.rejected.push({ line: number, reason: line });
    else out.lines.push(line);
  };
  const array = mayBeJsonArray(body) ? jsonArrayRecords(body.toString('utf8')) : null;
  if (array) {
    nonBlank = array.length;
    array.forEach((value, i) => take(i + 1, value));
  } else {
    // Each line decoded on its own, straight from the bytes: a 0x0A byte is a newline and never
    // part of another character in UTF-8 (checked above), so these are the lines of the text. The
    // body is not made one string first: JSON.parse of a slice of it cost twice a small string's.
    let number = 0;
    for (let start = 0; start <= body.length; ) {
      let end = body.indexOf(NEWLINE, start);
      if (end < 0) end = body.length;
      const raw = body.toString('utf8', start, end);
      start = end + 1;
      number += 1;
      if (!NON_BLANK.test(raw)) continue;
      nonBlank += 1;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (err) {
        out.rejected.push({ line: number, reason: `not JSON: ${(err as Error).message}` });
        continue;
      }
      take(number, value);
    }
  }
  if (nonBlank > 0 && jsonLines === 0) throw badRequest('the body is not NDJSON: no line of it is JSON (send one JSON object per line)');
  return out;
}

const NEWLINE = 0x0a;
/** What `trim()` leaves something of: a line holding more than white space. */
const NON_BLANK = /\S/;

/**
 * Whether the text may start (after white space) with `[`: the first byte that is no ASCII white
 * space is `[`, or is not ASCII (it may be Unicode white space, as `trimStart` reads it).
 */
function mayBeJsonArray(body: Buffer): boolean {
  for (const byte of body) {
    if (byte === 0x20 || (byte >= 0x09 && byte <= 0x0d)) continue;
    return byte === 0x5b || byte >= 0x80;
  }
  return false;
}

function jsonArrayRecords(text: string): unknown[] | null {
  if (!text.trimStart().startsWith('[')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return Array.isArray(value) ? value : null;
}

/** One record of any understood shape → a line, or the reason it cannot be one. */
export function recordToLine(value: unknown, ctx: LogContext): NewLogLine | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  ctx.scrubber.scrubEvent(record);
  // The key each column was read from (left out of the fields); no closure or set per line.
  const lineIdKey = present(record, LINE_ID_KEYS);
  const lineId = lineIdKey === undefined ? undefined : record[lineIdKey];
  if (lineId !== undefined && (typeof lineId !== 'string' || !lineId || lineId.length > MAX_LINE_ID_CHARS)) {
    return `"${LINE_ID_KEY}" must be a non-empty string of at most ${MAX_LINE_ID_CHARS} characters`;
  }
  const messageKey = present(record, MESSAGE_KEYS);
  if (messageKey === undefined) return 'no message: expected "message", "msg", "event" or "body"';
  const message = record[messageKey];
  const levelNumber = record['levelno'];
  const levelKey = present(record, LEVEL_KEYS);
  const levelValue = levelKey === undefined ? undefined : record[levelKey];
  const level = levelOf(levelValue, typeof levelNumber === 'number' ? levelNumber : undefined);
  const levelnoUsed = typeof levelNumber === 'number' && levelValue !== undefined;
  const timeKey = present(record, TIME_KEYS);
  const time = timeOf(timeKey === undefined ? undefined : record[timeKey], ctx.receivedAt);
  const loggerKey = present(record, LOGGER_KEYS);
  const environmentKey = present(record, ENVIRONMENT_KEYS);
  const releaseKey = present(record, RELEASE_KEYS);

  const fields: Record<string, string> = {};
  let fieldCount = 0;
  let dropped = 0;
  if (level.unknown !== undefined) fieldCount += putField(fields, 'level', level.unknown);
  if (time.unreadable !== undefined) fieldCount += putField(fields, 'time', time.unreadable);
  // Every other key, in the record's order, as text (at most LOG_LIMITS.fields of them).
  for (const key of Object.keys(record)) {
    if (key === lineIdKey || key === messageKey || key === levelKey || key === timeKey || key === loggerKey || key === environmentKey || key === releaseKey || (levelnoUsed && key === 'levelno')) continue;
    const v = record[key];
    if (v === undefined) continue;
    if (fieldCount >= LOG_LIMITS.fields) {
      dropped += 1;
      continue;
    }
    fieldCount += putField(fields, cut(key, LOG_LIMITS.keyChars), cut(textOf(v), LOG_LIMITS.valueChars));
  }
  // Said, not silent: the line tells how many of its fields were left out.
  if (dropped) fields['botpulse.fields_dropped'] = String(dropped);
  return {
    projectId: ctx.projectId,
    time: time.ms,
    receivedAt: ctx.receivedAt,
    level: level.level,
    logger: loggerKey === undefined ? null : cut(textOf(record[loggerKey]), LOG_LIMITS.loggerChars),
    message: cutMessage(textOf(message)),
    fields,
    environment: environmentKey === undefined ? null : cut(textOf(record[environmentKey]), 256),
    release: releaseKey === undefined ? null : cut(textOf(record[releaseKey]), 256),
    source: ctx.source,
    lineId: (lineId as string | undefined) ?? null,
  };
}

const LINE_ID_KEYS = [LINE_ID_KEY] as const;
const RELEASE_KEYS = ['release'] as const;

/** Sets a field; 1 when that made one more key (the count the cap reads), else 0 (a key cut to one already set). */
function putField(fields: Record<string, string>, key: string, text: string): number {
  const had = Object.hasOwn(fields, key);
  setOwn(fields, key, text);
  return !had && Object.hasOwn(fields, key) ? 1 : 0;
}

/** The first of `keys` the record holds a value (not null) under. */
function present(record: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const v = record[key];
    if (v !== undefined && v !== null) return key;
  }
  return undefined;
}

/**
 * A Sentry `log` item's payload: `{items: [...]}` (sentry-python 2.x, @sentry/node 10/11, our
 * SDK's logger), or one record without the container (early experimental SDKs). Attributes are
 * `{value, type}` pairs; `sentry.environment`, `sentry.release` and `logger.name` fill the line's
 * columns, SDK bookkeeping (`sentry.sdk.*`, `sentry.timestamp.sequence`, message parameters) is
 * left out, the message template kept as `template`.
 */
export function sentryLogItem(payload: Record<string, unknown>, ctx: LogContext): ParsedLines {
  const records = Array.isArray(payload['items']) ? (payload['items'] as unknown[]) : [payload];
  const out: ParsedLines = { lines: [], rejected: [] };
  records.forEach((entry, i) => {
    const line = sentryRecordToLine(entry, ctx);
    if (typeof line === 'string') out.rejected.push({ line: i + 1, reason: line });
    else out.lines.push(line);
  });
  return out;
}

function sentryRecordToLine(entry: unknown, ctx: LogContext): NewLogLine | string {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return 'not a JSON object';
  const e = entry as Record<string, unknown>;
  const flat: Record<string, unknown> = {};
  const attributes = e['attributes'];
  if (attributes && typeof attributes === 'object' && !Array.isArray(attributes)) {
    for (const [key, attr] of Object.entries(attributes as Record<string, unknown>)) {
      if (SENTRY_BOOKKEEPING.test(key)) continue;
      const value = attr && typeof attr === 'object' && !Array.isArray(attr) && 'value' in attr ? (attr as { value: unknown }).value : attr;
      setOwn(flat, ownEntry(SENTRY_RENAMES, key) ?? key, value);
    }
  }
  if (typeof e['trace_id'] === 'string') flat['trace_id'] = e['trace_id'];
  if (e['body'] !== undefined) flat['message'] = e['body'];
  const severity = typeof e['severity_number'] === 'number' ? otelLevel(e['severity_number']) : undefined;
  flat['level'] = e['level'] ?? severity;
  if (e['timestamp'] !== undefined) flat['time'] = e['timestamp'];
  return recordToLine(flat, ctx);
}

/** SDK bookkeeping, not the bot's data (sentry-python's LogBatcher adds `sentry.severity_*`). */
const SENTRY_BOOKKEEPING = /^sentry\.(sdk\.|timestamp\.|message\.parameter\.|_internal\.|severity_|origin$)/;
const SENTRY_RENAMES: Record<string, string> = {
  'sentry.environment': 'environment',
  'sentry.release': 'release',
  'logger.name': 'logger',
  'sentry.message.template': 'template',
};

function levelOf(value: unknown, pythonLevelNo: number | undefined): { level: LogLevel; unknown?: string } {
  if (typeof value === 'string') {
    const named = ownEntry(LEVEL_NAMES, value.trim().toLowerCase());
    if (named) return levelResult(named);
    const asNumber = Number(value);
    if (value.trim() && Number.isFinite(asNumber)) return levelResult(pinoLevel(asNumber));
    return { level: 'info', unknown: cut(value, 64) };
  }
  if (typeof value === 'number') return levelResult(pinoLevel(value));
  if (pythonLevelNo !== undefined) return levelResult(pythonLevel(pythonLevelNo));
  return levelResult('info');
}

/** One read-only result per level, not an object per line. */
const LEVEL_RESULTS = new Map<unknown, { readonly level: LogLevel }>();
function levelResult(level: LogLevel): { level: LogLevel } {
  let result = LEVEL_RESULTS.get(level);
  if (!result) LEVEL_RESULTS.set(level, (result = Object.freeze({ level })));
  return result as { level: LogLevel };
}

/** pino's numbers: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal. */
function pinoLevel(n: number): LogLevel {
  if (n >= 60) return 'critical';
  if (n >= 50) return 'error';
  if (n >= 40) return 'warning';
  if (n >= 30) return 'info';
  if (n >= 20) return 'debug';
  return 'trace';
}

/** Python's levelno: 10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR, 50 CRITICAL. */
function pythonLevel(n: number): LogLevel {
  if (n >= 50) return 'critical';
  if (n >= 40) return 'error';
  if (n >= 30) return 'warning';
  if (n >= 20) return 'info';
  return 'debug';
}

/** OpenTelemetry severity numbers 1..24 (Sentry's `severity_number`). */
function otelLevel(n: number): string {
  if (n >= 21) return 'fatal';
  if (n >= 17) return 'error';
  if (n >= 13) return 'warn';
  if (n >= 9) return 'info';
  if (n >= 5) return 'debug';
  return 'trace';
}

/** A time in s, ms, µs or ns since the epoch, or ISO text; the receive time when absent or unreadable. */
function timeOf(value: unknown, receivedAt: number): { ms: number; unreadable?: string } {
  if (value === undefined) return { ms: receivedAt };
  let ms: number | null = null;
  if (typeof value === 'number') ms = epochToMs(value);
  else if (typeof value === 'string') {
    const n = Number(value);
    ms = value.trim() && Number.isFinite(n) ? epochToMs(n) : Date.parse(value);
  }
  if (ms === null || !Number.isFinite(ms) || ms < 0 || ms > 8.64e15) return { ms: receivedAt, unreadable: cut(textOf(value), 64) };
  return { ms: Math.round(ms) };
}

function epochToMs(n: number): number {
  if (!Number.isFinite(n)) return NaN;
  if (n < 1e11) return n * 1000; // seconds (until the year 5138)
  if (n < 1e14) return n; // milliseconds
  if (n < 1e17) return n / 1000; // microseconds
  return n / 1e6; // nanoseconds
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '[unserializable]';
  }
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function cutMessage(text: string): string {
  if (text.length <= LOG_LIMITS.messageChars) return text;
  return `${text.slice(0, LOG_LIMITS.messageChars)}… [${text.length - LOG_LIMITS.messageChars} more characters cut]`;
}

import { isUtf8 } from 'node:buffer';
import { badRequest } from '../lib/errors.js';
import { LOG_LIMITS, type LogLevel, type LogSource, type NewLogLine } from '../store/logs.js';

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
  const text = body.toString('utf8');
  const records = jsonArrayRecords(text) ?? text.split('\n').map((raw, i) => ({ number: i + 1, raw }));
  const out: ParsedLines = { lines: [], rejected: [] };
  let jsonLines = 0;
  let nonBlank = 0;
  for (const { number, raw, value: given } of records as { number: number; raw: string; value?: unknown }[]) {
    let value = given;
    if (value === undefined) {
      if (!raw.trim()) continue;
      nonBlank += 1;
      try {
        value = JSON.parse(raw);
      } catch (err) {
        out.rejected.push({ line: number, reason: `not JSON: ${(err as Error).message}` });
        continue;
      }
    } else nonBlank += 1;
    jsonLines += 1;
    const line = recordToLine(value, ctx);
    if (typeof line === 'string') out.rejected.push({ line: number, reason: line });
    else out.lines.push(line);
  }
  if (nonBlank > 0 && jsonLines === 0) throw badRequest('the body is not NDJSON: no line of it is JSON (send one JSON object per line)');
  return out;
}

function jsonArrayRecords(text: string): { number: number; raw: string; value: unknown }[] | null {
  if (!text.trimStart().startsWith('[')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return Array.isArray(value) ? value.map((v, i) => ({ number: i + 1, raw: '', value: v })) : null;
}

/** One record of any understood shape → a line, or the reason it cannot be one. */
export function recordToLine(value: unknown, ctx: LogContext): NewLogLine | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  ctx.scrubber.scrubEvent(record);
  const used = new Set<string>();
  const take = (keys: readonly string[]): unknown => {
    for (const key of keys) {
      if (record[key] !== undefined && record[key] !== null) {
        used.add(key);
        return record[key];
      }
    }
    return undefined;
  };

  const lineId = take([LINE_ID_KEY]);
  if (lineId !== undefined && (typeof lineId !== 'string' || !lineId || lineId.length > MAX_LINE_ID_CHARS)) {
    return `"${LINE_ID_KEY}" must be a non-empty string of at most ${MAX_LINE_ID_CHARS} characters`;
  }
  const message = take(MESSAGE_KEYS);
  if (message === undefined) return 'no message: expected "message", "msg", "event" or "body"';
  const levelNumber = record['levelno'];
  const levelValue = take(LEVEL_KEYS);
  const level = levelOf(levelValue, typeof levelNumber === 'number' ? levelNumber : undefined);
  if (typeof levelNumber === 'number' && levelValue !== undefined) used.add('levelno');
  const time = timeOf(take(TIME_KEYS), ctx.receivedAt);
  const logger = take(LOGGER_KEYS);
  const environment = take(ENVIRONMENT_KEYS);
  const release = take(['release']);

  const fields: Record<string, string> = {};
  if (level.unknown !== undefined) fields['level'] = level.unknown;
  if (time.unreadable !== undefined) fields['time'] = time.unreadable;
  addFields(fields, Object.entries(record).filter(([key]) => !used.has(key)));
  return {
    projectId: ctx.projectId,
    time: time.ms,
    receivedAt: ctx.receivedAt,
    level: level.level,
    logger: logger === undefined ? null : cut(textOf(logger), LOG_LIMITS.loggerChars),
    message: cutMessage(textOf(message)),
    fields,
    environment: environment === undefined ? null : cut(textOf(environment), 256),
    release: release === undefined ? null : cut(textOf(release), 256),
    source: ctx.source,
    lineId: (lineId as string | undefined) ?? null,
  };
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
      flat[SENTRY_RENAMES[key] ?? key] = value;
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
    const named = LEVEL_NAMES[value.trim().toLowerCase()];
    if (named) return { level: named };
    const asNumber = Number(value);
    if (value.trim() && Number.isFinite(asNumber)) return { level: pinoLevel(asNumber) };
    return { level: 'info', unknown: cut(value, 64) };
  }
  if (typeof value === 'number') return { level: pinoLevel(value) };
  if (pythonLevelNo !== undefined) return { level: pythonLevel(pythonLevelNo) };
  return { level: 'info' };
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

function addFields(fields: Record<string, string>, entries: [string, unknown][]): void {
  let dropped = 0;
  for (const [key, value] of entries) {
    if (value === undefined) continue;
    if (Object.keys(fields).length >= LOG_LIMITS.fields) {
      dropped += 1;
      continue;
    }
    fields[cut(key, LOG_LIMITS.keyChars)] = cut(textOf(value), LOG_LIMITS.valueChars);
  }
  // Said, not silent: the line tells how many of its fields were left out.
  if (dropped) fields['botpulse.fields_dropped'] = String(dropped);
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

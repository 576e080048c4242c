/**
 * A record's text → one NDJSON log line for `POST /api/<project>/logs/`: `time`, `level`, `logger`,
 * `message`, the structured fields as further keys. Understands seed 002's plain-text format
 * (`%(asctime)s - %(name)s - %(levelname)s - %(message)s`) and JSON lines (pino, structlog,
 * python-json-logger); anything else is sent as a message-only line (no level: the server records
 * it as unknown).
 */

import { ownEntry } from '../lib/own-entry.js';
export type LogLine = Record<string, unknown> & { time: number | string; message: string; level?: string; logger?: string };

// asctime is `2024-01-01 12:00:00,123` in the writer's local time (Python's default), hence no zone.
const PLAIN =
  /^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,6})?) - (.+?) - (NOTSET|DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL) - ([\s\S]*)$/;

export function parseRecord(text: string, receivedAt: number): LogLine {
  if (text.startsWith('{')) {
    const json = parseJsonObject(text);
    if (json) return fromJson(json, text, receivedAt);
  }
  const plain = PLAIN.exec(text);
  if (plain) {
    const message = plain[4]!;
    const line: LogLine = { time: parseLocalAsctime(plain[1]!) ?? receivedAt, level: normalizeLevel(plain[3]!)!, logger: plain[2]!, message };
    const errorType = tracebackErrorType(message);
    if (errorType) line.error_type = errorType;
    return line;
  }
  return { time: receivedAt, message: text };
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const MESSAGE_KEYS = ['message', 'msg', 'event', 'text'];
const LEVEL_KEYS = ['level', 'levelname', 'severity', 'log.level', 'lvl'];
const TIME_KEYS = ['time', 'timestamp', '@timestamp', 'asctime', 'ts', 'created'];
const LOGGER_KEYS = ['logger', 'name', 'logger_name', 'logger.name'];

/** Passes the object through, moving the obvious message/level/time/logger keys to their names. */
function fromJson(object: Record<string, unknown>, raw: string, receivedAt: number): LogLine {
  const rest = { ...object };
  const take = (keys: string[], accept: (v: unknown) => boolean): unknown => {
    for (const key of keys) {
      if (key in rest && accept(rest[key])) {
        const value = rest[key];
        delete rest[key];
        return value;
      }
    }
    return undefined;
  };
  const message = take(MESSAGE_KEYS, (v) => typeof v === 'string');
  const level = normalizeLevel(take(LEVEL_KEYS, (v) => normalizeLevel(v) !== undefined));
  const time = normalizeTime(take(TIME_KEYS, (v) => normalizeTime(v) !== undefined));
  const logger = take(LOGGER_KEYS, (v) => typeof v === 'string' && v !== '');
  const line: LogLine = { ...rest, time: time ?? receivedAt, message: typeof message === 'string' ? message : raw };
  if (level) line.level = level;
  if (typeof logger === 'string') line.logger = logger;
  const errorType = typeof line.error_type === 'string' ? undefined : tracebackErrorType(String(rest.exc_info ?? rest.exception ?? ''));
  if (errorType) line.error_type = errorType;
  return line;
}

// pino's numbers; Python's numbers (10..50) differ only at 50 (CRITICAL) vs pino's 50 (error).
const PINO_LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };
const LEVEL_NAMES: Record<string, string> = {
  trace: 'trace', debug: 'debug', info: 'info', notice: 'info', notset: 'debug', warn: 'warning', warning: 'warning',
  error: 'error', err: 'error', exception: 'error', critical: 'critical', crit: 'critical', fatal: 'fatal', panic: 'fatal',
};

/** A level name or pino number → a lower-case name (`warning`, `error`, `critical`, ...); undefined when it is neither. */
export function normalizeLevel(value: unknown): string | undefined {
  if (typeof value === 'number') return PINO_LEVELS[value];
  if (typeof value !== 'string') return undefined;
  return ownEntry(LEVEL_NAMES, value.trim().toLowerCase());
}

/** Epoch ms from ms or seconds numbers, ISO strings and Python asctime; undefined when it is none. */
export function normalizeTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value > 1e11 ? value : Math.round(value * 1000);
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d+)?$/.test(value)) return parseLocalAsctime(value);
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** `2024-01-01 12:00:00,123` (no zone: the local time of this process, as Python wrote it; set TZ otherwise). */
function parseLocalAsctime(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[,.](\d+))?$/.exec(text);
  if (!m) return undefined;
  const ms = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  const time = date.getTime();
  return Number.isNaN(time) ? undefined : time;
}

/** The exception class on the last line of a Python traceback (`ValueError: bad` → `ValueError`). */
export function tracebackErrorType(text: string): string | undefined {
  if (!text.includes('Traceback (most recent call last):')) return undefined;
  const last = text.trimEnd().split('\n').pop()!;
  const m = /^([A-Za-z_][\w.]*)(?::|$)/.exec(last);
  return m ? m[1] : undefined;
}

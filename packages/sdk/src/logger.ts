// A small structured logger with pino's call shapes (`info(obj, msg)`, `info(msg)`, `child()`),
// writing JSON lines. Records made inside an update carry seed 002's standard fields on their
// own: user_id, update_id, operation (the current span), duration_ms (time in it) and error_type.
// Optionally ships records to Botpulse as Sentry `log` items, in batches.
import { hostname } from 'node:os';
import { format } from 'node:util';
import type { BotpulseClient } from './client.js';
import { currentExecution } from './scope.js';
import { scrubValue } from './scrub.js';
import { resolveClient } from './sdk.js';
import { errorType } from './stack.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * pino's numeric levels.
 * @example LOG_LEVELS.warn // 40
 */
export const LOG_LEVELS: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

type LogFn = {
  (obj: object, msg?: string, ...args: unknown[]): void;
  (msg: string, ...args: unknown[]): void;
};

/** The logger interface (a subset of pino's). */
export interface Logger {
  level: LogLevel;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger whose records also carry `bindings`. */
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled(level: LogLevel): boolean;
  /** Pushes shipped records waiting in the batch to the transport. */
  flush(): void;
}

export interface ShipOptions {
  /** Lowest level shipped (default "info"). */
  level?: LogLevel;
  /** Records per `log` item (default 100). */
  maxBatch?: number;
  /** A batch is sent at least this often (default 1000 ms). */
  flushIntervalMs?: number;
}

export interface LoggerOptions {
  /** Lowest level written (default `LOG_LEVEL`, else "info"). */
  level?: LogLevel;
  name?: string;
  /** Fields on every record. */
  base?: Record<string, unknown>;
  /** Where JSON lines go (default process.stdout). */
  destination?: { write(line: string): unknown };
  /** The client that ships records (default the `init()` one). */
  client?: BotpulseClient;
  /** Ship records to Botpulse as `log` items. Default false. */
  ship?: boolean | ShipOptions;
}

/** One Sentry log entry (`log` item, content type application/vnd.sentry.items.log+json). */
export interface SentryLogEntry {
  timestamp: number;
  level: LogLevel;
  body: string;
  trace_id?: string;
  attributes: Record<string, { value: string | number | boolean; type: 'string' | 'integer' | 'double' | 'boolean' }>;
}

/** Batches log entries into `log` envelope items. Shared by a logger and its children. */
class LogShipper {
  private batch: SentryLogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  readonly minLevel: number;

  constructor(private readonly client: BotpulseClient, private readonly options: ShipOptions) {
    this.minLevel = LOG_LEVELS[options.level ?? 'info'];
    client.onFlush(() => this.flush());
  }

  add(entry: SentryLogEntry): void {
    // As @sentry/node does: the line says which environment and release it came from.
    const { environment, release } = this.client.config;
    entry.attributes['sentry.environment'] ??= { value: environment, type: 'string' };
    if (release) entry.attributes['sentry.release'] ??= { value: release, type: 'string' };
    this.batch.push(entry);
    if (this.batch.length >= (this.options.maxBatch ?? 100)) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.options.flushIntervalMs ?? 1000);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    const items = this.batch;
    this.batch = [];
    this.client.sendItem('log', { items }, { item_count: items.length, content_type: 'application/vnd.sentry.items.log+json' });
  }
}

interface LoggerCore {
  name: string | undefined;
  destination: { write(line: string): unknown };
  shipper: LogShipper | undefined;
  client: BotpulseClient | undefined;
}

/**
 * Creates a structured logger.
 * @example
 * const log = createLogger({ name: 'bot', ship: true });
 * log.info({ operation: 'payment', amount: 10 }, 'invoice sent');
 * log.child({ module: 'billing' }).error({ err }, 'charge failed');
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const client = options.ship ? resolveClient(options.client) : options.client;
  const core: LoggerCore = {
    name: options.name,
    destination: options.destination ?? process.stdout,
    shipper: options.ship && client ? new LogShipper(client, options.ship === true ? {} : options.ship) : undefined,
    client,
  };
  const level = options.level ?? (isLevel(process.env['LOG_LEVEL']) ? (process.env['LOG_LEVEL'] as LogLevel) : 'info');
  return makeLogger(core, level, { ...options.base });
}

function isLevel(value: string | undefined): boolean {
  return value !== undefined && value in LOG_LEVELS;
}

function makeLogger(core: LoggerCore, initialLevel: LogLevel, bindings: Record<string, unknown>): Logger {
  const logger = {
    level: initialLevel,
    child: (more: Record<string, unknown>) => makeLogger(core, logger.level, { ...bindings, ...more }),
    isLevelEnabled: (level: LogLevel) => LOG_LEVELS[level] >= LOG_LEVELS[logger.level],
    flush: () => core.shipper?.flush(),
  } as Logger;
  for (const level of Object.keys(LOG_LEVELS) as LogLevel[]) {
    logger[level] = ((first: unknown, ...rest: unknown[]) => {
      const numeric = LOG_LEVELS[level];
      const writes = numeric >= LOG_LEVELS[logger.level];
      const ships = core.shipper !== undefined && numeric >= core.shipper.minLevel;
      if (!writes && !ships) return;
      const record = buildRecord(core, level, bindings, first, rest);
      if (writes) core.destination.write(`${JSON.stringify(record)}\n`);
      if (ships) core.shipper?.add(toLogEntry(record, level));
    }) as LogFn;
  }
  return logger;
}

/** pino's argument shapes → one scrubbed record with the automatic fields. */
function buildRecord(core: LoggerCore, level: LogLevel, bindings: Record<string, unknown>, first: unknown, rest: unknown[]): Record<string, unknown> {
  let fields: Record<string, unknown> = {};
  let message: string;
  if (first instanceof Error) {
    fields = { err: first };
    message = rest.length > 0 ? format(...(rest as [unknown, ...unknown[]])) : first.message;
  } else if (typeof first === 'object' && first !== null) {
    fields = { ...(first as Record<string, unknown>) };
    message = rest.length > 0 ? format(...(rest as [unknown, ...unknown[]])) : typeof fields['msg'] === 'string' ? (fields['msg'] as string) : '';
  } else {
    message = format(first, ...rest);
  }
  const record: Record<string, unknown> = { level: LOG_LEVELS[level], time: Date.now(), pid: process.pid, hostname: hostname() };
  if (core.name) record['name'] = core.name;
  Object.assign(record, automaticFields(), bindings);
  const error = fields['err'] ?? fields['error'];
  if (error instanceof Error) {
    record['error_type'] = errorType(error);
    fields[fields['err'] !== undefined ? 'err' : 'error'] = { type: errorType(error), message: error.message, stack: error.stack };
  }
  Object.assign(record, fields, { msg: message });
  return scrubValue(record, { maxStringLength: 16_384 });
}

/** user_id, update_id, operation and duration_ms from the current update scope / span. */
function automaticFields(): Record<string, unknown> {
  const execution = currentExecution();
  if (!execution) return {};
  const fields: Record<string, unknown> = {};
  const telegram = execution.scope.telegram;
  if (telegram?.user_id !== undefined) fields['user_id'] = telegram.user_id;
  const updateId = telegram?.update_id ?? execution.update?.id;
  if (updateId !== undefined) fields['update_id'] = updateId;
  const span = execution.span;
  if (span) {
    fields['operation'] = span.isRoot && telegram?.update_type ? `update.${telegram.update_type}` : span.op;
    fields['duration_ms'] = Math.round(Date.now() - span.startTimestamp * 1000);
  } else if (execution.update) {
    fields['duration_ms'] = Date.now() - execution.update.startedAt;
  }
  return fields;
}

const RESERVED = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function toLogEntry(record: Record<string, unknown>, level: LogLevel): SentryLogEntry {
  const attributes: SentryLogEntry['attributes'] = {};
  for (const [key, value] of Object.entries(record)) {
    if (RESERVED.has(key) || value === undefined || value === null) continue;
    attributes[key] = attribute(value);
  }
  const entry: SentryLogEntry = { timestamp: (record['time'] as number) / 1000, level, body: String(record['msg'] ?? ''), attributes };
  const traceId = currentExecution()?.span?.traceId;
  if (traceId) entry.trace_id = traceId;
  return entry;
}

function attribute(value: unknown): SentryLogEntry['attributes'][string] {
  if (typeof value === 'boolean') return { value, type: 'boolean' };
  if (typeof value === 'number') return Number.isInteger(value) ? { value, type: 'integer' } : { value, type: 'double' };
  if (typeof value === 'string') return { value, type: 'string' };
  return { value: JSON.stringify(value), type: 'string' };
}

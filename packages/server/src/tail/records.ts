/**
 * From raw lines to records: a record is one log line plus the lines that continue it (a Python
 * traceback under its log line). Pure and synchronous; the readers feed it, the shipper takes the
 * records it emits.
 */

/** One line as read, with where it lies in its source (bytes), so a record knows its offsets. */
export interface RawLine {
  text: string;
  /** Identity of the source (file identity + generation, or the stdin run); part of the line id. */
  sourceId: string;
  start: number;
  end: number;
  /** Extra fields the reader knows (the docker compose service); the record takes its first line's. */
  fields?: Record<string, string>;
  /** The reader cut this line at its size bound. */
  truncated?: boolean;
}

/** One or more joined lines. `start` is the first line's offset (the line id), `end` the last line's end (the resume point). */
export interface LogRecord {
  text: string;
  sourceId: string;
  start: number;
  end: number;
  /** True when the record was cut at the size bound. */
  truncated: boolean;
  /** Extra fields the reader knows (e.g. the docker compose service). */
  fields?: Record<string, string>;
}

const TIMESTAMP_START = /^\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/;
const LEVEL_START = /^(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)[:\s]/;
/** Lines that always continue the record above them: indented lines and Python's traceback headers. */
const ALWAYS_CONTINUES = /^(?:\s|Traceback \(most recent call last\):|During handling of the above exception|The above exception was the direct cause)/;

/** Whether a line opens a new record (a timestamp, a level name, or a JSON object at its start). */
export function startsRecord(text: string): boolean {
  return TIMESTAMP_START.test(text) || LEVEL_START.test(text) || text.startsWith('{');
}

/**
 * Joins continuation lines into the record above them. A line continues the pending record when
 * it is indented or a traceback header, or — once this source has shown records that start with a
 * timestamp, a level or `{` — when it does not start one itself (the exception line at the end of
 * a traceback, `ValueError: bad`). A source that never shows such starts keeps one line per record,
 * and a JSON record never takes continuation lines (it is whole on its line).
 * Records are bounded: past `maxBytes` further lines are consumed (their offsets count) but not kept.
 */
export class RecordJoiner {
  private pending: LogRecord | undefined;
  private pendingBytes = 0;
  private structured = false;
  private lastPushAt = 0;

  constructor(
    private readonly emit: (record: LogRecord) => void,
    private readonly maxBytes: number,
  ) {}

  push(line: RawLine, now = Date.now()): void {
    this.lastPushAt = now;
    const opens = startsRecord(line.text);
    if (opens) this.structured = true;
    const pending = this.pending;
    // A JSON record is whole on its line; a text record takes the lines that don't start one.
    const continues =
      pending !== undefined &&
      pending.sourceId === line.sourceId &&
      pending.fields?.container === line.fields?.container && // interleaved compose services never mix
      !opens &&
      !pending.text.startsWith('{') &&
      (this.structured || ALWAYS_CONTINUES.test(line.text));
    if (continues) return this.append(line);
    this.flush();
    if (line.text.trim() === '') return; // blank lines between records carry nothing
    const bytes = Buffer.byteLength(line.text);
    const text = bytes > this.maxBytes ? cutToBytes(line.text, this.maxBytes) : line.text;
    this.pending = { text, sourceId: line.sourceId, start: line.start, end: line.end, truncated: bytes > this.maxBytes || line.truncated === true };
    if (line.fields) this.pending.fields = line.fields;
    this.pendingBytes = Math.min(bytes, this.maxBytes);
  }

  /** Emits the pending record when no line came for `waitMs` (the writer finished its traceback). */
  flushIfIdle(waitMs: number, now = Date.now()): void {
    if (this.pending && now - this.lastPushAt >= waitMs) this.flush();
  }

  flush(): void {
    if (!this.pending) return;
    const record = this.pending;
    this.pending = undefined;
    this.pendingBytes = 0;
    this.emit(record);
  }

  /** The source changed (rotation, truncation): what is pending belongs to the old one. */
  boundary(): void {
    this.flush();
  }

  hasPending(): boolean {
    return this.pending !== undefined;
  }

  private append(line: RawLine): void {
    const record = this.pending!;
    record.end = line.end;
    if (record.truncated) return;
    if (line.truncated) record.truncated = true;
    const bytes = Buffer.byteLength(line.text) + 1;
    if (this.pendingBytes + bytes > this.maxBytes) {
      record.text += '\n' + cutToBytes(line.text, Math.max(0, this.maxBytes - this.pendingBytes - 1));
      record.truncated = true;
      this.pendingBytes = this.maxBytes;
      return;
    }
    record.text += '\n' + line.text;
    this.pendingBytes += bytes;
  }
}

/**
 * Splits decoded text arriving in chunks (standard input) into lines with their byte offsets. A
 * line longer than `maxChars` is kept to its bound and marked; the rest of it is skipped, though
 * its bytes still count in the offsets.
 */
export class TextLineSplitter {
  private partial = '';
  private skippedBytes = 0;
  private offset = 0;

  constructor(
    private readonly onLine: (text: string, start: number, end: number, truncated: boolean) => void,
    private readonly maxChars: number,
  ) {}

  push(chunk: string): void {
    let text = this.partial + chunk;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
      this.emit(text.slice(0, nl), 1);
      text = text.slice(nl + 1);
    }
    if (text.length > this.maxChars) {
      this.skippedBytes += Buffer.byteLength(text.slice(this.maxChars));
      text = text.slice(0, this.maxChars);
    }
    this.partial = text;
  }

  /** The input ended: an unfinished last line is a line too. */
  end(): void {
    if (this.partial || this.skippedBytes) this.emit(this.partial, 0);
    this.partial = '';
  }

  private emit(text: string, newline: number): void {
    const start = this.offset;
    this.offset += Buffer.byteLength(text) + this.skippedBytes + newline;
    const truncated = this.skippedBytes > 0 || text.length > this.maxChars;
    this.skippedBytes = 0;
    this.onLine(truncated ? text.slice(0, this.maxChars) : text, start, this.offset, truncated);
  }
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
export function cutToBytes(text: string, max: number): string {
  const buf = Buffer.from(text);
  if (buf.length <= max) return text;
  let end = max;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--; // back off to a character boundary
  return buf.subarray(0, end).toString('utf8');
}

// `docker compose logs` prefixes: `bot-1  | `, `bot_1  | ` (compose v1), possibly coloured.
const ANSI = /\x1b\[[0-9;]*m/g;
const COMPOSE_NAME = /^([A-Za-z0-9][\w.-]*?)[-_](\d+)\s*$/;

/** Strips a `docker compose logs` prefix; returns the line and the service it named, if any. */
export function stripComposePrefix(line: string): { text: string; service?: string; container?: string } {
  const bar = line.indexOf('|');
  if (bar < 0 || bar > 200) return { text: line };
  const match = COMPOSE_NAME.exec(line.slice(0, bar).replace(ANSI, ''));
  if (!match) return { text: line };
  const text = line.slice(bar + 1).replace(/^(?:\x1b\[[0-9;]*m)*(?: |$)(?:\x1b\[[0-9;]*m)*/, '');
  return { text, service: match[1]!, container: `${match[1]}-${match[2]}` };
}

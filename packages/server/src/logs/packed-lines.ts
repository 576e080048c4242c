import { LOG_LEVELS, type LineTemplate, type LogLevel, type LogSource, type NewLogLine } from '../store/logs.js';
import type { RejectedLine } from '../ingest/log-lines.js';

/**
 * A batch of lines as the log-line thread hands it to the main thread (docs/logs.md "Threads"):
 * the batch's strings joined into a few strings with the end of each (line after line), the
 * times and levels in typed arrays, the templates as a table. Read on the receiving side,
 * structured clone of one object per line cost ≈ 2.2–4.3 µs a line, arrays of strings per
 * column ≈ 1.6–2.5, this ≈ 0.7–1.2: each line's strings are slices of the joined ones. The joined strings
 * are kept under 32 K characters: a string past 128 KB is a large object to V8, and reading one
 * such cost 7 times as much as the same text in 60 K pieces (docs/performance.md "Log lines",
 * round 5). The fields travel as the JSON the store writes.
 */
export interface PackedLines {
  projectId: number;
  receivedAt: number;
  source: LogSource;
  time: Float64Array;
  /** Index into LOG_LEVELS. */
  level: Uint8Array;
  /** Per line, STRING_COLUMNS strings one after the other, joined; a line's strings are all in one chunk. */
  chunks: string[];
  /** The chunk each line's strings are in. */
  chunkOf: Uint32Array;
  /** Where each string ends in its chunk (-1: null; it then starts and ends where the one before ended). */
  ends: Int32Array;
  templates: PackedTemplates;
  rejected: RejectedLine[];
}

/** logger, message, fields JSON, environment, release, line id, the `operation` and `duration_ms` fields. */
const STRING_COLUMNS = 8;
/** A chunk is closed at the end of the line that takes it past this many characters. */
const CHUNK_CHARS = 32 * 1024;

/** Each line's template as an index into a table of the batch's distinct templates. */
export interface PackedTemplates {
  table: { id: string; text: string; previousId: string | null }[];
  /** Per line; 0xffff: none. */
  index: Uint16Array;
  seenAt: number | null;
}

const LEVEL_INDEX = new Map<LogLevel, number>(LOG_LEVELS.map((l, i) => [l, i]));
const NO_TEMPLATE = 0xffff;

/** The lines' templates as a table (a batch has a few distinct templates, each line an index into them). */
export function packTemplates(lines: readonly Pick<NewLogLine, 'template'>[]): PackedTemplates {
  const table: PackedTemplates['table'] = [];
  const at = new Map<string, number>();
  const index = new Uint16Array(lines.length);
  let seenAt: number | null = null;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.template;
    if (!t) {
      index[i] = NO_TEMPLATE;
      continue;
    }
    if (t.seenAt !== undefined) seenAt = t.seenAt;
    const previousId = t.previousIds?.[0] ?? null;
    // A template that generalised another is its own entry (the previous id belongs to that line's match only).
    const key = previousId === null ? t.id : `${t.id}\u0000${previousId}`;
    let n = at.get(key);
    if (n === undefined && table.length < NO_TEMPLATE) {
      n = table.push({ id: t.id, text: t.text, previousId }) - 1;
      at.set(key, n);
    }
    index[i] = n ?? NO_TEMPLATE;
  }
  return { table, index, seenAt };
}

/** The templates back, one LineTemplate object per table entry shared by its lines. */
export function unpackTemplates(packed: PackedTemplates): (LineTemplate | null)[] {
  const made = packed.table.map((t): LineTemplate => {
    const template: LineTemplate = { id: t.id, text: t.text };
    if (t.previousId !== null) template.previousIds = [t.previousId];
    if (packed.seenAt !== null) template.seenAt = packed.seenAt;
    return template;
  });
  return Array.from(packed.index, (i) => (i === NO_TEMPLATE ? null : made[i]!));
}

/** One project's parsed lines, packed (the lines of a batch share project, receive time and source). */
export function packLines(lines: readonly NewLogLine[], ctx: { projectId: number; receivedAt: number; source: LogSource }, rejected: RejectedLine[]): PackedLines {
  const n = lines.length;
  const time = new Float64Array(n);
  const level = new Uint8Array(n);
  const ends = new Int32Array(n * STRING_COLUMNS);
  const chunkOf = new Uint32Array(n);
  const chunks: string[] = [];
  let parts: string[] = [];
  let at = 0;
  let k = 0;
  const put = (text: string | null): void => {
    if (text === null) {
      ends[k++] = -1;
      return;
    }
    parts.push(text);
    at += text.length;
    ends[k++] = at;
  };
  for (let i = 0; i < n; i++) {
    const l = lines[i]!;
    if (at > CHUNK_CHARS) {
      chunks.push(parts.join(''));
      parts = [];
      at = 0;
    }
    chunkOf[i] = chunks.length;
    time[i] = l.time;
    level[i] = LEVEL_INDEX.get(l.level)!;
    put(l.logger);
    put(l.message);
    put(JSON.stringify(l.fields));
    put(l.environment);
    put(l.release);
    put(l.lineId);
    put(l.fields['operation'] ?? null);
    put(l.fields['duration_ms'] ?? null);
  }
  chunks.push(parts.join(''));
  return { ...ctx, time, level, chunks, chunkOf, ends, templates: packTemplates(lines), rejected };
}

/**
 * A line received through the log-line thread: every NewLogLine member, the fields kept as their
 * JSON (what the stores write) and parsed only if something asks for them.
 */
export class ReceivedLine implements NewLogLine {
  private parsedFields: Record<string, string> | undefined;

  constructor(
    readonly projectId: number,
    readonly time: number,
    readonly receivedAt: number,
    readonly level: LogLevel,
    readonly logger: string | null,
    readonly message: string,
    readonly fieldsJson: string,
    readonly environment: string | null,
    readonly release: string | null,
    readonly source: LogSource,
    readonly lineId: string | null,
    readonly operation: string | null,
    readonly durationMs: string | null,
    public template: LineTemplate | null,
  ) {}

  get fields(): Record<string, string> {
    return (this.parsedFields ??= JSON.parse(this.fieldsJson) as Record<string, string>);
  }
}

export function unpackLines(p: PackedLines): ReceivedLine[] {
  const templates = unpackTemplates(p.templates);
  const out = new Array<ReceivedLine>(p.time.length);
  let chunk = 0;
  let text = p.chunks[0] ?? '';
  let at = 0;
  let k = 0;
  const take = (): string | null => {
    const end = p.ends[k++]!;
    if (end < 0) return null;
    const taken = text.slice(at, end);
    at = end;
    return taken;
  };
  for (let i = 0; i < out.length; i++) {
    if (p.chunkOf[i] !== chunk) {
      chunk = p.chunkOf[i]!;
      text = p.chunks[chunk]!;
      at = 0;
    }
    // Arguments are evaluated left to right: the strings are taken in the order packLines put them.
    out[i] = new ReceivedLine(p.projectId, p.time[i]!, p.receivedAt, LOG_LEVELS[p.level[i]!]!, take(), take()!, take()!, take(), take(), p.source, take(), take(), take(), templates[i]!);
  }
  return out;
}

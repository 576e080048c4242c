import { LOG_LEVELS, type LineTemplate, type LogLevel, type LogSource, type NewLogLine } from '../store/logs.js';
import type { RejectedLine } from '../ingest/log-lines.js';

/**
 * A batch of lines as the log-line thread hands it to the main thread (docs/logs.md "Threads"):
 * columns of strings and numbers rather than one object per line, because structured clone of
 * line objects cost ≈ 2.5 µs a line to read on the receiving side and these columns ≈ 0.5
 * (docs/performance.md "Log lines", round 5). The fields travel as the JSON the store writes.
 */
export interface PackedLines {
  projectId: number;
  receivedAt: number;
  source: LogSource;
  time: Float64Array;
  /** Index into LOG_LEVELS. */
  level: Uint8Array;
  logger: (string | null)[];
  message: string[];
  fieldsJson: string[];
  environment: (string | null)[];
  release: (string | null)[];
  lineId: (string | null)[];
  /** The `operation` and `duration_ms` fields (the rules' latency fold reads them). */
  operation: (string | null)[];
  durationMs: (string | null)[];
  templates: PackedTemplates;
  rejected: RejectedLine[];
}

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

/** One project's parsed lines as columns (the lines of a batch share project, receive time and source). */
export function packLines(lines: readonly NewLogLine[], ctx: { projectId: number; receivedAt: number; source: LogSource }, rejected: RejectedLine[]): PackedLines {
  const n = lines.length;
  const packed: PackedLines = {
    ...ctx,
    time: new Float64Array(n),
    level: new Uint8Array(n),
    logger: new Array(n),
    message: new Array(n),
    fieldsJson: new Array(n),
    environment: new Array(n),
    release: new Array(n),
    lineId: new Array(n),
    operation: new Array(n),
    durationMs: new Array(n),
    templates: packTemplates(lines),
    rejected,
  };
  for (let i = 0; i < n; i++) {
    const l = lines[i]!;
    packed.time[i] = l.time;
    packed.level[i] = LEVEL_INDEX.get(l.level)!;
    packed.logger[i] = l.logger;
    packed.message[i] = l.message;
    packed.fieldsJson[i] = JSON.stringify(l.fields);
    packed.environment[i] = l.environment;
    packed.release[i] = l.release;
    packed.lineId[i] = l.lineId;
    packed.operation[i] = l.fields['operation'] ?? null;
    packed.durationMs[i] = l.fields['duration_ms'] ?? null;
  }
  return packed;
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
  const out = new Array<ReceivedLine>(p.message.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = new ReceivedLine(p.projectId, p.time[i]!, p.receivedAt, LOG_LEVELS[p.level[i]!]!, p.logger[i]!, p.message[i]!, p.fieldsJson[i]!, p.environment[i]!, p.release[i]!, p.source, p.lineId[i]!, p.operation[i]!, p.durationMs[i]!, templates[i]!);
  }
  return out;
}

import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Dsn } from '@botpulse/protocol';
import { FileFollower } from './follow.js';
import { parseRecord } from './parse.js';
import { RecordJoiner, stripComposePrefix, TextLineSplitter, type LogRecord, type RawLine } from './records.js';
import { Shipper, type QueuedLine } from './shipper.js';
import { TailState } from './state.js';

export const TAIL_CLIENT = 'botpulse-tail/0.1.0';
/** A record (a line and its traceback) is cut beyond this many bytes. */
export const MAX_RECORD_BYTES = 64 * 1024;
/** A record waits this long for continuation lines when the source has gone quiet. */
const JOIN_WAIT_MS = 500;
/** Levels (as parseRecord names them) whose batch leaves at once: what may be a forbidden line or page. */
const URGENT_LEVELS = new Set(['error', 'critical', 'fatal']);

export interface TailOptions {
  dsn: Dsn;
  /** A file path, or '-' for standard input. */
  source: string;
  /** The state file (files only). */
  statePath?: string;
  fromEnd?: boolean;
  stdin?: Readable;
  /** Print a status line this often (ms); 0: never. */
  statusEveryMs?: number;
  maxBufferLines?: number;
  retryMaxMs?: number;
  pollMs?: number;
  /** stderr */
  print(line: string): void;
}

export interface TailSummary {
  read: number;
  sent: number;
  duplicates: number;
  dropped: number;
  /** Buffered lines not sent at exit (a file's are read again next time; stdin's are lost). */
  unsent: number;
}

/** `http://<key>@host/1` → `http://***@host/1`: a DSN fit for output. */
export function maskedDsn(dsn: Dsn): string {
  const port = dsn.port ? `:${dsn.port}` : '';
  return `${dsn.protocol}://***@${dsn.host}${port}${dsn.path}/${dsn.projectId}`;
}

export function logsUrl(dsn: Dsn): string {
  const port = dsn.port ? `:${dsn.port}` : '';
  return `${dsn.protocol}://${dsn.host}${port}${dsn.path}/api/${encodeURIComponent(dsn.projectId)}/logs/`;
}

/**
 * One `botpulse tail` run: a source (file follower or stdin) → joiner → parser → shipper, with the
 * state saved after each settled batch. `stop()` flushes (bounded by `flushTimeoutMs`) and resolves
 * `done` with the summary; stdin's end does the same without the bound.
 */
export class TailRun {
  readonly done: Promise<TailSummary>;
  private read = 0;
  private readonly shipper: Shipper;
  private readonly joiner: RecordJoiner;
  /** Standard input from `docker compose logs` interleaves containers: each gets a joiner of its own. */
  private readonly containerJoiners = new Map<string, RecordJoiner>();
  private follower: FileFollower | undefined;
  private state: TailState | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly isStdin: boolean;
  private resolveInputEnded!: () => void;
  private readonly inputEnded = new Promise<void>((resolve) => (this.resolveInputEnded = resolve));

  constructor(private readonly o: TailOptions) {
    this.isStdin = o.source === '-';
    this.shipper = new Shipper({
      url: logsUrl(o.dsn),
      auth: `Sentry sentry_key=${o.dsn.publicKey}, sentry_version=7, sentry_client=${TAIL_CLIENT}`,
      dropOldest: this.isStdin,
      maxBufferLines: o.maxBufferLines,
      retryMaxMs: o.retryMaxMs,
      onSettled: (last) => this.save(last),
      warn: (m) => this.warn(m),
    });
    this.joiner = new RecordJoiner((record) => this.enqueue(record), MAX_RECORD_BYTES);
    this.done = this.start();
  }

  /** Stop reading, send what is buffered within `flushTimeoutMs`, save, summarise. */
  stop(flushTimeoutMs = 10_000): void {
    if (this.stopping) return;
    this.stopping = true;
    this.follower?.stop();
    if (this.isStdin) (this.o.stdin ?? process.stdin).destroy(); // an open pipe would keep the process alive
    this.resolveInputEnded();
    setTimeout(() => this.shipper.abandon(), flushTimeoutMs).unref();
  }

  status(): string {
    const c = this.shipper.counts;
    let line = `read ${this.read}, sent ${c.sent}, dropped ${c.dropped}, buffered ${c.buffered}`;
    if (c.retrying) line += `, retrying (${c.retrying.reason}; attempt ${c.retrying.attempt}, next in ${Math.max(0, Math.round((c.retrying.nextAt - Date.now()) / 1000))} s)`;
    return line;
  }

  private async start(): Promise<TailSummary> {
    const sending = this.shipper.run();
    if (this.o.statusEveryMs) this.statusTimer = setInterval(() => this.o.print(`botpulse tail: ${this.status()}`), this.o.statusEveryMs);
    try {
      if (this.isStdin) await this.readStdin();
      else await this.followFile();
    } finally {
      this.joiner.flush();
      for (const joiner of this.containerJoiners.values()) joiner.flush();
      this.shipper.close();
      await sending;
      clearInterval(this.statusTimer);
    }
    const c = this.shipper.counts;
    const unsent = c.buffered;
    return { read: this.read, sent: c.sent, duplicates: c.duplicates, dropped: c.dropped + (this.isStdin ? unsent : 0), unsent };
  }

  private async followFile(): Promise<void> {
    this.state = await TailState.load(this.o.statePath!);
    this.follower = new FileFollower(this.o.source, {
      saved: this.state.get(this.o.source),
      fromEnd: this.o.fromEnd,
      pollMs: this.o.pollMs,
      maxLineBytes: MAX_RECORD_BYTES,
      onLine: (line) => this.joiner.push(line),
      onBoundary: () => this.joiner.boundary(),
      onIdle: () => this.joiner.flushIfIdle(JOIN_WAIT_MS),
      waitForRoom: () => this.shipper.waitForRoom(),
      warn: (m) => this.warn(m),
    });
    if (this.stopping) return;
    await this.follower.run();
  }

  /** Standard input: lines with `docker compose` prefixes stripped; ids from this run's random id and the byte offset. */
  private async readStdin(): Promise<void> {
    const input = this.o.stdin ?? process.stdin;
    input.setEncoding('utf8'); // a character split between two chunks is decoded whole
    const sourceId = `stdin-${randomBytes(8).toString('hex')}`;
    const idle = setInterval(() => {
      this.joiner.flushIfIdle(JOIN_WAIT_MS);
      for (const joiner of this.containerJoiners.values()) joiner.flushIfIdle(JOIN_WAIT_MS);
    }, JOIN_WAIT_MS);
    const splitter = new TextLineSplitter((text, start, end, truncated) => {
      const { text: stripped, service, container } = stripComposePrefix(text.endsWith('\r') ? text.slice(0, -1) : text);
      const line: RawLine = { text: stripped, sourceId, start, end, ...(truncated && { truncated }) };
      if (service) line.fields = { service, container: container! };
      this.joinerFor(container).push(line);
    }, MAX_RECORD_BYTES);
    const reading = (async () => {
      for await (const chunk of input) splitter.push(chunk as string);
      splitter.end();
    })().catch((err: unknown) => {
      if (!this.stopping) this.warn(`standard input: ${(err as Error).message}`);
    });
    try {
      await Promise.race([reading, this.inputEnded]);
    } finally {
      clearInterval(idle);
    }
  }

  private joinerFor(container: string | undefined): RecordJoiner {
    if (container === undefined) return this.joiner;
    let joiner = this.containerJoiners.get(container);
    if (!joiner) {
      if (this.containerJoiners.size >= 256) {
        // Bounded: containers come and go (compose recreates them); what they hold is sent first.
        for (const old of this.containerJoiners.values()) old.flush();
        this.containerJoiners.clear();
      }
      joiner = new RecordJoiner((record) => this.enqueue(record), MAX_RECORD_BYTES);
      this.containerJoiners.set(container, joiner);
    }
    return joiner;
  }

  private enqueue(record: LogRecord): void {
    this.read++;
    const line = parseRecord(record.text, Date.now());
    for (const [key, value] of Object.entries(record.fields ?? {})) if (!(key in line)) line[key] = value;
    if (record.truncated) line['botpulse.truncated'] = true;
    line['botpulse.line_id'] = `${record.sourceId}:${record.start}`;
    const json = JSON.stringify(line);
    const urgent = typeof line.level === 'string' && URGENT_LEVELS.has(line.level);
    const queued: QueuedLine = { json, bytes: Buffer.byteLength(json) + 1, sourceId: record.sourceId, end: record.end, ...(urgent ? { urgent } : {}) };
    this.shipper.push(queued);
  }

  private async save(last: QueuedLine): Promise<void> {
    if (!this.follower || !this.state) return;
    const position = this.follower.positionOf(last.sourceId, last.end);
    if (position) await this.state.save(this.o.source, position);
  }

  private warn(message: string): void {
    this.o.print(`botpulse tail: ${message}`);
  }
}

import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ClientError } from '../lib/errors.js';
import { RestartBackoff } from '../lib/restart-backoff.js';
import { threadWorker } from '../lib/thread-worker.js';
import type { ParsedLines } from '../ingest/log-lines.js';
import type { LogTemplate, NewLogLine } from '../store/logs.js';
import type { FromLineThread, LineThreadData, ToLineThread } from './line-thread-messages.js';
import { unpackLines, unpackTemplates } from './packed-lines.js';

export interface LineWorkerOptions {
  /** The thread's entry module (src/log-line-thread.ts, or .js when built). */
  entry: URL;
  data: LineThreadData;
  /** A project's stored templates, most used first (seeds its miner in the thread). */
  load(projectId: number, limit: number): Promise<Pick<LogTemplate, 'template' | 'count'>[]>;
  /** The logs' clock (tests compress it): when the miner saw the lines. */
  now(): number;
  logger: Logger;
  /** Batches sent to the thread and not answered yet, at most; past it a batch is refused with a 503 (default 64). */
  maxQueued?: number;
}

/** What went wrong with the log-line thread since start (/metrics, /status). */
export interface LineWorkerHealth {
  threadRestarts: number;
  /** Batches that failed in the thread (not the sender's fault: a 500 each, logged). */
  failures: number;
  /** Batches refused because the thread's queue was full (503 + Retry-After). */
  refusedFull: number;
  /** Batches that were in the thread when it died (a 503 each: the sender retries). */
  lostInThread: number;
  /**
   * Lines of Sentry `log` items stored without a template because the thread could not give them
   * one (down, full or failed): a Sentry SDK does not send a refused envelope again, and its events
   * travel with those lines, so they are kept rather than refused.
   */
  untemplatedLines: number;
  threadDown: boolean;
  queued: number;
  lastError: string | null;
}

const RETRY_AFTER_S = 1;
/** The least time between two log lines about lines stored without a template. */
const UNTEMPLATED_LOG_EVERY_MS = 60_000;
const FIRST_RESTART_DELAY_MS = 200;
const MAX_RESTART_DELAY_MS = 30_000;

interface Pending {
  resolve(message: FromLineThread): void;
  reject(err: Error): void;
}

/**
 * The main thread's handle on the log-line thread (line-thread.ts): hands it NDJSON bodies and
 * Sentry `log` lines, and gets back the lines parsed, scrubbed and templated. Nothing here is
 * answered 200: a batch the thread fails or loses is refused (500 or 503, counted and logged) and
 * the sender keeps it. At most `maxQueued` batches wait for the thread (a 503 with Retry-After
 * past that, as a full spool answers), so memory between the threads is bounded. A thread that
 * dies is started again (its miners are seeded again from the stored templates, as after a restart).
 */
export class LogLineWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closing = false;
  private readonly restarts = new RestartBackoff(FIRST_RESTART_DELAY_MS, MAX_RESTART_DELAY_MS);
  private untemplatedLoggedAt = -Infinity;
  private readonly maxQueued: number;
  private readonly state: Omit<LineWorkerHealth, 'queued'> = { threadRestarts: 0, failures: 0, refusedFull: 0, lostInThread: 0, untemplatedLines: 0, threadDown: true, lastError: null };

  private constructor(private readonly options: LineWorkerOptions) {
    this.maxQueued = options.maxQueued ?? 64;
  }

  static async start(options: LineWorkerOptions): Promise<LogLineWorker> {
    const handle = new LogLineWorker(options);
    await handle.spawn();
    return handle;
  }

  health(): LineWorkerHealth {
    return { ...this.state, queued: this.pending.size };
  }

  /** Parses, scrubs and templates an NDJSON body in the thread (ParsedLines as parseNdjson gives them; throws its 400s). */
  async parse(body: Buffer, ctx: { projectId: number; receivedAt: number }): Promise<ParsedLines> {
    // A copy of its own, transferred: the body's memory may be a slice of a buffer Node reuses.
    const bytes = new Uint8Array(body.byteLength);
    bytes.set(body);
    const reply = await this.request((id) => ({ type: 'parse', id, body: bytes, ...ctx, seenAt: this.options.now() }), [bytes.buffer]);
    if (reply.type !== 'parsed') throw new Error(`log-line thread answered ${reply.type} to parse`);
    return { lines: unpackLines(reply.lines), rejected: reply.lines.rejected };
  }

  /** Sets the lines' templates (one project's lines, parsed on this thread), from the thread's miner. */
  async assign(lines: NewLogLine[]): Promise<void> {
    if (!lines.length) return;
    const projectId = lines[0]!.projectId;
    if (lines.some((l) => l.projectId !== projectId)) throw new Error('assign takes one project\'s lines');
    const reply = await this.request((id) => ({ type: 'assign', id, projectId, messages: lines.map((l) => l.message), seenAt: this.options.now() }));
    if (reply.type !== 'assigned') throw new Error(`log-line thread answered ${reply.type} to assign`);
    const templates = unpackTemplates(reply.templates);
    lines.forEach((l, i) => (l.template = templates[i] ?? null));
  }

  /**
   * `assign` for the lines of Sentry `log` items. A Sentry SDK drops an envelope answered 5xx (it
   * never sends it again), and the envelope's events are spooled after its lines; so when the thread
   * cannot template them (restarting, full, failed), the lines are stored without a template, which
   * only their place in the templates view needs, and that is counted (`untemplatedLines`) and logged.
   */
  async assignOrLeaveUntemplated(lines: NewLogLine[]): Promise<void> {
    try {
      await this.assign(lines);
    } catch (err) {
      for (const line of lines) if (line.template === undefined) line.template = null;
      this.state.untemplatedLines += lines.length;
      const now = Date.now();
      if (now - this.untemplatedLoggedAt >= UNTEMPLATED_LOG_EVERY_MS) {
        this.untemplatedLoggedAt = now;
        this.options.logger.warn({ err, lines: lines.length, untemplatedSinceStart: this.state.untemplatedLines }, 'Sentry log lines stored without a template: the log-line thread could not give them one');
      }
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.restarts.cancel();
    await this.worker?.terminate();
    this.worker = null;
    this.failPending(new ClientError(503, 'the server is shutting down; retry', { 'Retry-After': String(RETRY_AFTER_S) }));
  }

  private request(make: (id: number) => ToLineThread, transfer: ArrayBuffer[] = []): Promise<FromLineThread> {
    if (this.closing || this.state.threadDown || !this.worker) throw unavailable('the log-line thread is restarting');
    if (this.pending.size >= this.maxQueued) {
      this.state.refusedFull += 1;
      throw unavailable(`${this.pending.size} log batches are waiting to be parsed`);
    }
    const id = ++this.nextId;
    const worker = this.worker;
    return new Promise<FromLineThread>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(make(id), transfer);
    });
  }

  private receive(message: FromLineThread): void {
    if (message.type === 'ready') return;
    if (message.type === 'load') {
      void this.answerLoad(message.id, message.projectId, message.limit);
      return;
    }
    const waiting = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (!waiting) return;
    this.restarts.reset();
    if (message.type !== 'failed') return waiting.resolve(message);
    if (message.status !== undefined) return waiting.reject(new ClientError(message.status, message.error.replace(/^ClientError: /, '')));
    this.state.failures += 1;
    this.state.lastError = message.error;
    this.options.logger.error({ error: message.error }, 'the log-line thread failed a batch; answered 500, the sender keeps it');
    waiting.reject(new Error(`log-line thread: ${message.error}`));
  }

  private async answerLoad(id: number, projectId: number, limit: number): Promise<void> {
    let answer: ToLineThread;
    try {
      answer = { type: 'loaded', id, templates: await this.options.load(projectId, limit) };
    } catch (err) {
      answer = { type: 'loaded', id, templates: null, error: (err as Error).message };
    }
    this.worker?.postMessage(answer);
  }

  private async spawn(): Promise<void> {
    const worker = threadWorker(this.options.entry, this.options.data);
    this.worker = worker;
    worker.on('message', (message: FromLineThread) => this.receive(message));
    worker.on('error', (err) => {
      this.state.lastError = `${err.name}: ${err.message}`;
      this.options.logger.error({ err }, 'log-line thread failed');
    });
    await new Promise<void>((resolve, reject) => {
      const ready = (m: FromLineThread) => {
        if (m.type !== 'ready') return;
        worker.off('message', ready);
        resolve();
      };
      worker.on('message', ready);
      worker.once('exit', (code) => reject(new Error(`the log-line thread exited (code ${code}) before it was ready: ${this.state.lastError ?? 'no error reported'}`)));
    });
    this.state.threadDown = false;
    worker.on('exit', (code) => this.onExit(worker, code));
  }

  /** Every batch in the dead thread is refused (503: the sender retries), counted and logged; the thread is started again. */
  private onExit(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.state.threadDown = true;
    if (this.closing) return;
    const lost = this.pending.size;
    this.state.lostInThread += lost;
    this.failPending(unavailable('the log-line thread died with this batch'));
    const delay = this.restarts.schedule(() => this.restart());
    this.options.logger.error({ code, error: this.state.lastError, batchesRefused: lost, restartInMs: delay }, 'log-line thread exited; its batches were answered 503, restarting it');
  }

  private restart(): void {
    if (this.closing) return;
    this.state.threadRestarts += 1;
    this.spawn().catch((err: unknown) => {
      this.state.lastError = (err as Error).message;
      this.options.logger.error({ err }, 'log-line thread could not start again; trying later');
      // spawn's exit listener is not attached when it failed before ready: schedule the next try here.
      if (!this.closing && !this.restarts.pending) this.restarts.schedule(() => this.restart());
    });
  }

  private failPending(err: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(err);
    this.pending.clear();
  }
}

function unavailable(why: string): ClientError {
  return new ClientError(503, `${why}; retry in ${RETRY_AFTER_S} s`, { 'Retry-After': String(RETRY_AFTER_S) });
}

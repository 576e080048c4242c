import { once } from 'node:events';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { RestartBackoff } from '../lib/restart-backoff.js';
import { threadWorker } from '../lib/thread-worker.js';
import type { Logger } from 'pino';
import type { Spool } from '../ingest/spool.js';
import { failures, reportFailure } from '../lib/failures.js';
import type { SpoolRow } from '../store/store.js';
import { FlushWindow, packRows } from './held-rows.js';
import { COALESCE_MS } from './loop.js';
import type { DatabaseConfig } from '../lib/database-url.js';
import type { DigestThreadData, FromDigestThread, ToDigestThread } from './thread-messages.js';

/** The settings the digest reads (a slice of config/load.ts Config). */
export interface DigestSettings {
  readonly databaseFile: string;
  readonly database: DatabaseConfig;
  /** Spool rows per transaction (BOTPULSE_DIGEST_BATCH). */
  readonly digestBatch: number;
  readonly logLevel: DigestThreadData['logLevel'];
}

export interface DigestWorkerOptions {
  /** The thread's entry module (src/digest-thread.ts, or .js when built): it picks the store. */
  threadEntry: URL;
  /** A batch committed issue changes (to the durable feed): wake whoever consumes the feed. */
  onChanged?: () => void;
  logger: Logger;
}

/** What went wrong in the digest since start: /metrics and the bot's /status read it. */
export interface DigestHealth {
  /** Times the thread died and was started again. */
  threadRestarts: number;
  lastThreadExit: { at: number; code: number; error: string | null } | null;
  /** Thread down now, waiting for its restart. */
  threadDown: boolean;
  /** Batches that failed because the database did (their rows stayed in the spool). */
  batchFailures: number;
  lastBatchFailure: { at: number; error: string } | null;
  /** Rows quarantined by this process since start (the store keeps the durable count). */
  quarantined: number;
  /**
   * Spool rows whose payloads the digest read back from the database because it was not handed
   * them in memory (appended by another process or before a restart; PostgreSQL only).
   */
  payloadsRead: number;
}

/** No hand-off above this backlog: the thread holds at most 64 MB (thread.ts), ≈ 12,000 events of 5 KB. */
const HAND_OFF_MAX_BACKLOG = 10_000;

/** A dead thread's restart waits 1 s, doubling while it keeps dying without doing any work, up to a minute. */
const FIRST_RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 60_000;

/**
 * The main thread's handle on the digest thread (thread.ts). Ingestion kicks it after each spool
 * write; it keeps the spool's backlog count true as the thread reports what it digested, and
 * says when a batch committed issue changes (`onChanged`): that wakes the alert engine, which reads
 * the changes from the durable feed the digest wrote in the batch's transaction (alerts/engine.ts).
 * The changes themselves never cross threads (a message in flight when the process dies is lost;
 * the feed is not), and the engine also polls the feed, so a lost wake-up only delays it.
 * It restarts a thread that died (with backoff) and keeps DigestHealth for /metrics and /status.
 */
export class DigestWorker {
  digestedTotal = 0;
  /** Set by the metrics module: each digested row's time from acceptance to commit. */
  onDigestLag: ((lagsMs: number[]) => void) | null = null;
  private worker!: Worker;
  /** The hand-off's own port to the current thread (a new one per thread). */
  private rowsPort: MessagePort | null = null;
  /** The spool's flushes in flight, shared with every thread this worker starts (held-rows.ts). */
  private readonly window = new FlushWindow();
  private threadIdle = true;
  private closing = false;
  private waiters: (() => void)[] = [];
  private replies = new Map<string, () => void>();
  private readonly healthState: DigestHealth = { threadRestarts: 0, lastThreadExit: null, threadDown: false, batchFailures: 0, lastBatchFailure: null, quarantined: 0, payloadsRead: 0 };
  /** The next restart's delay: longer with each death since the thread last did some work. */
  private readonly restarts = new RestartBackoff(FIRST_RESTART_DELAY_MS, MAX_RESTART_DELAY_MS);
  private lastThreadError: string | null = null;

  private constructor(
    private readonly config: DigestSettings,
    private readonly spool: Spool,
    private readonly options: DigestWorkerOptions,
  ) {}

  static async start(config: DigestSettings, spool: Spool, options: DigestWorkerOptions): Promise<DigestWorker> {
    const digest = new DigestWorker(config, spool, options);
    spool.onCommitted = (rows) => digest.handOff(rows);
    spool.onFlushWindow = (inFlight, floor) => digest.window.set(inFlight, floor);
    try {
      await digest.spawn();
    } catch (err) {
      // The first thread could not start (its database cannot be opened...): the server does not
      // start either, with the reason, rather than restarting a thread nobody will use.
      digest.closing = true;
      digest.restarts.cancel();
      throw err;
    }
    return digest;
  }

  /** Rows were spooled: the thread should drain them. */
  kick(): void {
    this.threadIdle = false;
    this.send({ type: 'kick', backlog: this.spool.backlog });
  }

  /**
   * Rows this process committed to the spool: given to the thread with their payloads, so its
   * claim needs not read them back. Skipped while the backlog is deep (the thread would not hold
   * them all; a row it lacks is read from the database).
   */
  handOff(rows: SpoolRow[]): void {
    if (this.healthState.threadDown || this.spool.backlog > HAND_OFF_MAX_BACKLOG) return;
    try {
      const packed = packRows(rows);
      this.rowsPort!.postMessage(packed, [packed.payloads]);
    } catch (err) {
      // The rows are committed and will be answered 200 whatever happens here: the digest reads them back.
      reportFailure(this.options.logger, 'digest_hand_off', err, 'could not hand spooled rows to the digest thread; it reads them from the spool');
    }
  }

  /**
   * On a database several processes share: the others' appends and digests change the spool too,
   * so the backlog (`/health`, the 429 limit, `botpulse_spool_backlog`) is recounted, and the
   * thread woken for rows a process that died left behind.
   */
  sweepShared(): void {
    this.resyncBacklog();
    this.kick();
  }

  /** Resolves once everything spooled so far is digested. For tests and benchmarks. */
  idle(): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Finishes the batch in progress and takes no new ones until resume(). */
  async stop(): Promise<void> {
    await this.request({ type: 'pause' }, 'paused');
  }

  resume(): void {
    this.send({ type: 'resume' });
    this.kick();
  }

  /** Finishes the batch in progress, closes the thread's database connection and ends it. */
  async close(): Promise<void> {
    this.closing = true;
    this.restarts.cancel();
    if (this.healthState.threadDown) {
      for (const resolve of this.waiters.splice(0)) resolve();
      return; // the thread is dead already: nothing to finish
    }
    const exited = once(this.worker, 'exit');
    // A thread that dies while closing never answers: its exit ends the wait as well.
    await Promise.race([this.request({ type: 'close' }, 'closed'), exited]);
    await exited;
    this.rowsPort?.close();
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  /** DigestHealth, as of now. */
  health(): DigestHealth {
    return { ...this.healthState };
  }

  /** Starts the thread; rejects if it dies before it is ready (say, its database cannot be opened). */
  private async spawn(): Promise<void> {
    const channel = new MessageChannel();
    const data: DigestThreadData = {
      databaseFile: this.config.databaseFile,
      ...(this.config.database.kind === 'postgres'
        ? { postgres: { url: this.config.database.url.reveal(), statementTimeoutMs: this.config.database.statementTimeoutMs } }
        : {}),
      batchSize: this.config.digestBatch,
      coalesceMs: COALESCE_MS[this.config.database.kind],
      logLevel: this.config.logLevel,
      handOff: { port: channel.port2, window: this.window.slot },
    };
    const worker = threadWorker(this.options.threadEntry, data, [channel.port2]);
    this.worker = worker;
    this.rowsPort?.close(); // a dead thread's: what it held is read back from the spool
    this.rowsPort = channel.port1;
    this.healthState.threadDown = false;
    worker.on('message', (message: FromDigestThread) => this.receive(message));
    worker.on('error', (err) => {
      this.lastThreadError = `${err.name}: ${err.message}`;
      this.options.logger.error({ err }, 'digest thread failed');
    });
    worker.on('exit', (code) => this.onExit(code));
    await new Promise<void>((resolve, reject) => {
      this.replies.set('ready', resolve);
      // onExit (registered first) has recorded the thread's error by now.
      worker.once('exit', (code) => reject(new Error(`the digest thread exited (code ${code}) before it was ready: ${this.healthState.lastThreadExit?.error ?? 'no error reported'}`)));
    });
  }

  /**
   * A dead thread is started again, after 1 s, then longer each time it dies again without doing
   * any work (at most a minute), so a thread that cannot start does not spin. Its batch rolled back
   * and waits in the spool. Each death is logged, counted (/metrics) and shown by /status.
   */
  private onExit(code: number): void {
    if (this.closing) return;
    this.healthState.threadDown = true;
    this.healthState.lastThreadExit = { at: Date.now(), code, error: this.lastThreadError };
    const delay = this.restarts.schedule(() => this.restart());
    this.options.logger.error({ code, error: this.lastThreadError, restartInMs: delay }, 'digest thread exited; restarting it');
    this.lastThreadError = null;
  }

  private restart(): void {
    if (this.closing) return;
    this.healthState.threadRestarts += 1;
    this.spawn().then(
      () => this.kick(),
      // Not logged here: the thread's 'exit' (onExit) has logged it and scheduled the next try.
      () => undefined,
    );
  }

  private receive(message: FromDigestThread): void {
    switch (message.type) {
      case 'digested':
        this.restarts.reset();
        this.spool.digested(message.rows);
        this.digestedTotal += message.rows;
        this.onDigestLag?.(message.lagsMs);
        this.healthState.payloadsRead += message.payloadsRead;
        break;
      case 'changed':
        this.options.onChanged?.();
        break;
      case 'rejected':
        this.options.logger.error(
          { spoolId: message.spoolId, projectId: message.projectId, error: message.error },
          'spooled event could not be digested',
        );
        break;
      case 'quarantined':
        this.healthState.quarantined += message.rows.length; // logged by the thread, one line per row
        break;
      case 'batchFailed':
        this.healthState.batchFailures += 1; // logged by the thread
        this.healthState.lastBatchFailure = { at: Date.now(), error: message.error };
        break;
      case 'failed':
        failures.count('digest_thread_message'); // logged by the thread
        break;
      case 'foldFailed':
        failures.count('issue_status_fold'); // logged by the thread; the retention job's folds count here too
        break;
      case 'reclaimFailed':
        failures.count('spool_reclaim'); // logged by the thread
        break;
      case 'idle':
        this.restarts.reset();
        this.threadIdle = true;
        this.resyncBacklog();
        break;
      default:
        this.replies.get(message.type)?.();
        this.replies.delete(message.type);
    }
    this.wakeWaiters();
  }

  /** Trues up the backlog count; a failed read leaves the count as it was until the next idle. */
  private resyncBacklog(): void {
    this.spool.resync().then(
      () => this.wakeWaiters(),
      (err: unknown) => reportFailure(this.options.logger, 'spool_resync', err, 'could not recount the spool backlog; the count is trued up at the next idle'),
    );
  }

  private wakeWaiters(): void {
    if (this.isDrained()) for (const resolve of this.waiters.splice(0)) resolve();
  }

  private isDrained(): boolean {
    return this.threadIdle && this.spool.backlog === 0;
  }

  private request(message: ToDigestThread, reply: FromDigestThread['type']): Promise<void> {
    const answered = new Promise<void>((resolve) => this.replies.set(reply, resolve));
    this.send(message);
    return answered;
  }

  private send(message: ToDigestThread): void {
    this.worker.postMessage(message);
  }
}

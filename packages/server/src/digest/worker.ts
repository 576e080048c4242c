import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Spool } from '../ingest/spool.js';
import type { DatabaseConfig } from '../lib/database-url.js';
import type { IssueChange } from '../store/model.js';
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
  onChanges?: (changes: IssueChange[]) => void;
  logger: Logger;
}

/**
 * The main thread's handle on the digest thread (thread.ts). Ingestion kicks it after each spool
 * write; it keeps the spool's backlog count true as the thread reports what it digested, and
 * passes each batch's issue changes on (`onChanges`): that wakes the alert engine, which reads the
 * changes from the durable feed the digest wrote in the batch's transaction (alerts/engine.ts), so
 * a change in flight here when the process dies is not lost.
 */
export class DigestWorker {
  digestedTotal = 0;
  /** Set by the metrics module: each digested row's time from acceptance to commit. */
  onDigestLag: ((lagsMs: number[]) => void) | null = null;
  private worker!: Worker;
  private threadIdle = true;
  private closing = false;
  private waiters: (() => void)[] = [];
  private replies = new Map<string, () => void>();

  private constructor(
    private readonly config: DigestSettings,
    private readonly spool: Spool,
    private readonly options: DigestWorkerOptions,
  ) {}

  static async start(config: DigestSettings, spool: Spool, options: DigestWorkerOptions): Promise<DigestWorker> {
    const digest = new DigestWorker(config, spool, options);
    await digest.spawn();
    return digest;
  }

  /** Rows were spooled: the thread should drain them. */
  kick(): void {
    this.threadIdle = false;
    this.send({ type: 'kick', backlog: this.spool.backlog });
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
    const exited = once(this.worker, 'exit');
    await this.request({ type: 'close' }, 'closed');
    await exited;
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private async spawn(): Promise<void> {
    const data: DigestThreadData = {
      databaseFile: this.config.databaseFile,
      ...(this.config.database.kind === 'postgres'
        ? { postgres: { url: this.config.database.url.reveal(), statementTimeoutMs: this.config.database.statementTimeoutMs } }
        : {}),
      batchSize: this.config.digestBatch,
      logLevel: this.config.logLevel,
    };
    this.worker = threadWorker(this.options.threadEntry, data);
    this.worker.on('message', (message: FromDigestThread) => this.receive(message));
    this.worker.on('error', (err) => this.options.logger.error({ err }, 'digest thread failed'));
    this.worker.on('exit', (code) => this.onExit(code));
    const ready = new Promise<void>((resolve) => this.replies.set('ready', resolve));
    await ready;
  }

  /** A crashed thread is restarted: its batch rolled back and waits in the spool. */
  private onExit(code: number): void {
    if (this.closing) return;
    this.options.logger.error({ code }, 'digest thread exited; restarting it in 1 s');
    setTimeout(() => {
      void this.spawn().then(() => this.kick());
    }, 1000).unref();
  }

  private receive(message: FromDigestThread): void {
    switch (message.type) {
      case 'digested':
        this.spool.digested(message.rows);
        this.digestedTotal += message.rows;
        this.onDigestLag?.(message.lagsMs);
        break;
      case 'changes':
        this.options.onChanges?.(message.changes);
        break;
      case 'rejected':
        this.options.logger.error(
          { spoolId: message.spoolId, projectId: message.projectId, error: message.error },
          'spooled event could not be digested',
        );
        break;
      case 'idle':
        this.threadIdle = true;
        void this.spool.resync().then(() => this.wakeWaiters());
        break;
      default:
        this.replies.get(message.type)?.();
        this.replies.delete(message.type);
    }
    this.wakeWaiters();
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

/**
 * Built code starts the .js entry directly. Under tsx (the tests run the TypeScript source) Node 20
 * does not apply `--import tsx` to a worker's entry module, so a one-line bootstrap registers tsx
 * in the thread before importing the .ts entry.
 */
function threadWorker(threadEntry: URL, workerData: DigestThreadData): Worker {
  if (!threadEntry.pathname.endsWith('.ts')) return new Worker(threadEntry, { workerData });
  const entry = JSON.stringify(threadEntry.href);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

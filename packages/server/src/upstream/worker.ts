import type { Worker } from 'node:worker_threads';
import { threadWorker } from '../lib/thread-worker.js';
import type { Logger } from 'pino';
import { reportFailure } from '../lib/failures.js';
import type { Store } from '../store/store.js';
import type { UpstreamStore } from '../store/upstream.js';
import { idleState, startCursors, type ForwarderState } from './forwarder.js';
import { ProjectSettings } from './settings.js';
import type { FromUpstreamThread, ToUpstreamThread, UpstreamThreadData } from './thread.js';

/** What the API, /metrics, /status and the dashboard read of the forwarder. */
export interface UpstreamHandle {
  /** The latest counters the thread reported (at most 200 ms old). */
  snapshot(): ForwarderState;
  /** Per-project settings, read on this thread for the API. */
  readonly settings: ProjectSettings;
  /** The API changed a project's settings: the forwarder reads them again. */
  settingsChanged(): void;
}

const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 60_000;

/**
 * The main thread's side of the upstream thread: starts it (when a DSN is set), keeps its latest
 * state, starts it again with backoff if it dies (its cursor is in the database: it goes on
 * where it stopped), and stops it on close.
 */
export class UpstreamWorker implements UpstreamHandle {
  readonly settings: ProjectSettings;
  private state: ForwarderState;
  private worker: Worker | null = null;
  private stopping = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly data: UpstreamThreadData,
    private readonly entry: URL,
    private readonly stores: { upstream: UpstreamStore; store: Pick<Store, 'listProjects'> },
    private readonly logger: Logger,
  ) {
    this.settings = new ProjectSettings(data.upstream, stores.upstream, stores.store);
    this.state = idleState(data.upstream);
  }

  snapshot(): ForwarderState {
    return structuredClone(this.state);
  }

  settingsChanged(): void {
    this.settings.invalidate();
    this.worker?.postMessage({ type: 'settingsChanged' } satisfies ToUpstreamThread);
  }

  /** Before the server listens: the cursors start here, so nothing accepted from now on is skipped. */
  async prepare(): Promise<void> {
    if (this.data.upstream.dsn) await startCursors(this.stores.upstream);
  }

  start(): void {
    if (!this.data.upstream.dsn || this.worker || this.stopping) return;
    const worker = threadWorker(this.entry, this.data);
    this.worker = worker;
    worker.on('message', (message: FromUpstreamThread) => {
      if (message.type === 'state') this.state = message.state;
    });
    worker.on('error', (err) => reportFailure(this.logger, 'upstream_thread', err, 'the upstream thread failed'));
    worker.on('exit', (code) => {
      this.worker = null;
      if (this.stopping) return;
      const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** this.restarts++);
      reportFailure(this.logger, 'upstream_thread', new Error(`exit code ${code}`), 'the upstream thread ended; starting it again', { retryInMs: delay });
      this.restartTimer = setTimeout(() => this.start(), delay);
      this.restartTimer.unref();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      worker.on('message', (message: FromUpstreamThread) => {
        if (message.type === 'stopped') resolve();
      });
      worker.once('exit', () => resolve());
      worker.postMessage({ type: 'stop' } satisfies ToUpstreamThread);
    });
    await worker.terminate();
  }
}

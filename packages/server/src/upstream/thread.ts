import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { pino, type Level } from 'pino';
import type { AlertStore } from '../store/alerts.js';
import type { Store } from '../store/store.js';
import type { UpstreamStore } from '../store/upstream.js';
import type { UpstreamConfig } from './config.js';
import { UpstreamForwarder, type ForwarderState } from './forwarder.js';

/** What the main thread gives the upstream thread at start. */
export interface UpstreamThreadData {
  upstream: UpstreamConfig;
  publicUrl: string;
  databaseFile: string;
  /** PostgreSQL: the URL in clear (it stays in this process; a DatabaseUrl cannot cross threads). */
  postgres?: { url: string; statementTimeoutMs: number };
  logLevel: Level | 'silent';
}

export type ToUpstreamThread = { type: 'settingsChanged' } | { type: 'stop' };
export type FromUpstreamThread = { type: 'state'; state: ForwarderState } | { type: 'stopped' };

export interface UpstreamThreadStores {
  store: Pick<Store, 'listRawItems' | 'listProjects' | 'close'>;
  upstream: UpstreamStore;
  leases: Pick<AlertStore, 'lease' | 'releaseLease'>;
}

/**
 * The forwarder thread's nice value (Linux): when ingestion needs both cores the scheduler gives
 * this thread a small share, and it catches up with the CPU ingestion leaves idle (its queue is
 * the events table, bounded by BOTPULSE_UPSTREAM_BACKLOG_LIMIT). Measured: docs/performance.md.
 */
export const FORWARDER_NICE = 10;

/**
 * Lowers this thread's priority only (on Linux a thread is a task with its own nice value; the
 * process's other threads keep theirs). Elsewhere, or if refused, the thread runs as it is.
 */
export function lowerThreadPriority(nice: number): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return null;
    setPriority(tid, nice);
    return tid;
  } catch {
    return null;
  }
}

/** How often the thread tells the main thread its counters (for /metrics, /status, the API). */
const STATE_EVERY_MS = 200;

/**
 * The forwarder's thread (upstream-thread.ts is its entry). Decoding stored payloads, building
 * envelopes and the HTTP exchanges with the upstream run here, on a connection of its own, so
 * the thread answering ingestion never does that work (docs/architecture.md).
 */
export async function runUpstreamThread(open: (data: UpstreamThreadData) => Promise<UpstreamThreadStores>): Promise<void> {
  const data = workerData as UpstreamThreadData;
  const port = parentPort!;
  const logger = pino({ level: data.logLevel, base: { service: 'botpulse', component: 'upstream' } });
  const tid = lowerThreadPriority(FORWARDER_NICE);
  logger.debug({ tid, nice: tid === null ? null : FORWARDER_NICE }, tid === null ? 'upstream thread: priority left as it is' : 'upstream thread: lower priority than ingestion');
  const stores = await open(data);
  const forwarder = new UpstreamForwarder({ config: data.upstream, forwardedBy: data.publicUrl, upstream: stores.upstream, store: stores.store, leases: stores.leases, logger });
  const post = (message: FromUpstreamThread) => port.postMessage(message);
  const report = setInterval(() => post({ type: 'state', state: forwarder.snapshot() }), STATE_EVERY_MS);
  port.on('message', (message: ToUpstreamThread) => {
    if (message.type === 'settingsChanged') forwarder.projectSettings.invalidate();
    if (message.type === 'stop') {
      clearInterval(report);
      void forwarder
        .stop()
        .then(() => stores.store.close())
        .catch((err: unknown) => logger.error({ err }, 'the upstream thread did not stop cleanly'))
        .finally(() => {
          post({ type: 'state', state: forwarder.snapshot() });
          post({ type: 'stopped' });
        });
    }
  });
  forwarder.start();
  post({ type: 'state', state: forwarder.snapshot() });
}

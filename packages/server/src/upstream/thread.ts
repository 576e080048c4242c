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

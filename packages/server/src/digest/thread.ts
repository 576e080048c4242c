/**
 * The digest's own thread. It opens its own connection to the database and runs the DigestLoop
 * there, so grouping and event writes use the machine's second core while the main thread keeps
 * answering ingestion. It talks to the main thread only by messages (see worker.ts). The thread's
 * entry (src/digest-thread.ts) hands in how to open the store: the store is picked in stores.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { Store } from '../store/store.js';
import { FlushWindow, HeldRows, type HandedRows } from './held-rows.js';
import { DigestLoop, type BacklogCounter } from './loop.js';
import { createRowDigester } from './process.js';
import type { FromDigestThread, ToDigestThread, DigestThreadData } from './thread-messages.js';

/**
 * At most this much handed-over payload is held (about 12,000 events of 5 KB; the digest keeps up
 * with far less). Rows handed while it is full are read back from the database when digested.
 */
const HELD_MAX_BYTES = 64 * 1024 * 1024;

export async function runDigestThread(openStore: (data: DigestThreadData) => Promise<Store>): Promise<void> {
  const data = workerData as DigestThreadData;
  const port = parentPort!;
  const post = (message: FromDigestThread) => port.postMessage(message);
  const logger = pino({ level: data.logLevel, base: { service: 'botpulse', thread: 'digest' } });

  // The main thread migrated the schema before starting this thread.
  const store = await openStore(data);

  /** What this process spooled, handed over by the main thread (PostgreSQL; see held-rows.ts). */
  const held = new HeldRows(HELD_MAX_BYTES, { port: data.handOff.port, window: new FlushWindow(data.handOff.window) });
  // Rows this process just committed to the spool (PostgreSQL), so the digest needs not read their payloads back.
  data.handOff.port.on('message', (rows: HandedRows) => held.add(rows));
  let payloadsRead = 0;

  /** The main thread's backlog figure, brought by each kick, minus what this thread took since. */
  const backlog: BacklogCounter & { backlog: number } = {
    backlog: 0,
    digested(rows) {
      this.backlog = Math.max(0, this.backlog - rows);
      const now = Date.now();
      post({ type: 'digested', rows, lagsMs: batchReceivedAt.map((at) => now - at), payloadsRead });
      batchReceivedAt = [];
      payloadsRead = 0;
    },
  };
  /** Acceptance times of the batch being digested, for the digest latency metric. */
  let batchReceivedAt: number[] = [];
  const digestRows = createRowDigester({
    onRejected: (row, err) => post({ type: 'rejected', spoolId: row.id, projectId: row.projectId, error: err.message }),
  });

  const loop = new DigestLoop(store, backlog, {
    batchSize: data.batchSize,
    coalesceMs: data.coalesceMs,
    digestRows: (rows) => {
      batchReceivedAt = rows.map((row) => row.receivedAt);
      return digestRows(rows);
    },
    held,
    onPayloadsRead: (n) => (payloadsRead += n),
    onChanges: (changes) => post({ type: 'changed', issues: changes.length }),
    onIdle: () => post({ type: 'idle' }),
    onQuarantined: (rows) => post({ type: 'quarantined', rows }),
    onBatchFailed: (err, retryInMs) => post({ type: 'batchFailed', error: `${err.name}: ${err.message}`, retryInMs }),
    onFoldFailed: () => post({ type: 'foldFailed' }),
    onReclaimFailed: () => post({ type: 'reclaimFailed' }),
    logger,
  });

  port.on('message', (message: ToDigestThread) => {
    handle(message).catch((err: Error) => {
      // Logged here, counted by the main thread; a pause or close still answers, so the main
      // thread never waits forever for a reply that will not come.
      logger.error({ err, message: message.type }, 'digest thread could not handle a message');
      post({ type: 'failed', what: message.type, error: `${err.name}: ${err.message}` });
      if (message.type === 'pause') post({ type: 'paused' });
      if (message.type === 'close') {
        post({ type: 'closed' });
        port.close();
        data.handOff.port.close();
      }
    });
  });

  async function handle(message: ToDigestThread): Promise<void> {
    switch (message.type) {
      case 'kick':
        backlog.backlog = message.backlog;
        loop.kick();
        break;
      case 'pause':
        await loop.stop();
        post({ type: 'paused' });
        break;
      case 'resume':
        loop.resume();
        break;
      case 'close':
        await loop.stop();
        await store.close();
        post({ type: 'closed' });
        port.close();
        data.handOff.port.close();
        break;
    }
  }

  post({ type: 'ready' });
}

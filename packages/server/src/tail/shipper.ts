import { promisify } from 'node:util';
import { constants as zlib, gzip as gzipCallback } from 'node:zlib';

const gzip = promisify(gzipCallback);

/** One serialized NDJSON line waiting to be sent, and where its record ended (the resume point). */
export interface QueuedLine {
  json: string;
  bytes: number;
  sourceId: string;
  end: number;
  /** An ERROR line or worse: its batch leaves without waiting out `batchWaitMs` (what may page should not sit in the buffer). */
  urgent?: boolean;
}

export interface ShipperOptions {
  url: string;
  /** The `X-Sentry-Auth` value (holds the DSN key: never printed). */
  auth: string;
  maxBatchLines?: number;
  maxBatchBytes?: number;
  /** The oldest buffered line waits at most this long for its batch to fill. */
  batchWaitMs?: number;
  maxBufferLines?: number;
  maxBufferBytes?: number;
  /** Standard input can't be re-read: when the buffer is full the oldest line is dropped (and counted). Files stop reading instead. */
  dropOldest: boolean;
  retryMinMs?: number;
  retryMaxMs?: number;
  requestTimeoutMs?: number;
  /** Batches sent at once (their positions are still saved in order). */
  maxInFlight?: number;
  /** A batch is settled (accepted, or refused for good): the position after its last line may be saved. */
  onSettled(last: QueuedLine): Promise<void>;
  warn(message: string): void;
}

export interface ShipperCounts {
  /** Lines the server acknowledged (accepted or recognised as duplicates of lines it has). */
  sent: number;
  duplicates: number;
  /** Lines refused (a 4xx for their batch, or rejected one by one), or dropped from a full stdin buffer. */
  dropped: number;
  buffered: number;
  /** Why sending is being retried right now, if it is. */
  retrying?: { reason: string; attempt: number; nextAt: number };
}

interface Answer {
  accepted?: number;
  duplicates?: number;
  rejected?: { line: number; reason: string }[];
}

type Outcome = { kind: 'ok'; answer: Answer } | { kind: 'permanent'; status: number; reason: string } | { kind: 'retry'; reason: string; retryAfterMs?: number };

/**
 * The bounded buffer and the sender: batches by lines, bytes and time; up to two batches in
 * flight, settled in the order they were taken, so "settled up to here" is a single position; retries network errors, 429 and 5xx with
 * exponential backoff (honouring Retry-After) for as long as it takes; a 4xx other than 408/429 is
 * permanent for that batch (413 first splits it), reported and counted as dropped, never retried.
 */
export class Shipper {
  private readonly queue: QueuedLine[] = [];
  private queueBytes = 0;
  /** Urgent lines in `queue`. */
  private urgentQueued = 0;
  private inFlightLines = 0;
  /** Batches sent and not yet settled, oldest first: positions are saved in this order only. */
  private readonly inFlight: { lines: number; last: QueuedLine; done: boolean }[] = [];
  private settling: Promise<void> = Promise.resolve();
  private oldestAt = 0;
  private closing = false;
  private abandoned = false;
  private wake: (() => void) | undefined;
  private roomWaiters: (() => void)[] = [];
  private readonly abort = new AbortController();
  readonly counts: ShipperCounts = { sent: 0, duplicates: 0, dropped: 0, buffered: 0 };
  private readonly o: Required<Omit<ShipperOptions, 'onSettled' | 'warn'>> & Pick<ShipperOptions, 'onSettled' | 'warn'>;

  constructor(options: ShipperOptions) {
    this.o = {
      maxBatchLines: 1000,
      maxBatchBytes: 1024 * 1024,
      // A partial batch leaves within 250 ms: a forbidden line in a quiet file is alerted on soon (benchmarks/logs/e2e.mjs).
      batchWaitMs: 250,
      maxBufferLines: 10_000,
      maxBufferBytes: 16 * 1024 * 1024,
      retryMinMs: 500,
      retryMaxMs: 30_000,
      requestTimeoutMs: 30_000,
      maxInFlight: 2,
      ...options,
    };
  }

  push(line: QueuedLine): void {
    if (this.queue.length === 0) this.oldestAt = Date.now();
    this.queue.push(line);
    this.queueBytes += line.bytes;
    if (line.urgent) this.urgentQueued++;
    if (this.o.dropOldest) {
      while (this.queue.length > 1 && this.full()) {
        const dropped = this.queue.shift()!;
        this.queueBytes -= dropped.bytes;
        if (dropped.urgent) this.urgentQueued--;
        this.counts.dropped++;
      }
    }
    this.updateBuffered();
    this.wake?.();
  }

  full(): boolean {
    return this.queue.length >= this.o.maxBufferLines || this.queueBytes >= this.o.maxBufferBytes;
  }

  /** Resolves once the buffer has room (a file reader waits here instead of reading on). */
  waitForRoom(): Promise<void> {
    if (!this.full() || this.closing) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Sends until `close` is called and the buffer is empty (or `abandon` is called). */
  async run(): Promise<void> {
    const active = new Set<Promise<void>>();
    while (!this.abandoned) {
      if (this.queue.length === 0) {
        if (this.closing) break;
        await this.idle(Infinity);
        continue;
      }
      const waited = Date.now() - this.oldestAt;
      const ready = this.closing || this.urgentQueued > 0 || this.queue.length >= this.o.maxBatchLines || this.queueBytes >= this.o.maxBatchBytes || waited >= this.o.batchWaitMs;
      if (!ready) {
        await this.idle(this.o.batchWaitMs - waited);
        continue;
      }
      if (active.size >= this.o.maxInFlight) {
        await Promise.race(active);
        continue;
      }
      const sending = this.send(this.takeBatch()).finally(() => active.delete(sending));
      active.add(sending);
    }
    await Promise.all(active);
    await this.settling;
  }

  /** One batch: delivered (or refused for good), then settled in the order batches were taken. */
  private async send(batch: QueuedLine[]): Promise<void> {
    const entry = { lines: batch.length, last: batch[batch.length - 1]!, done: false };
    this.inFlight.push(entry);
    entry.done = await this.deliver(batch); // false only when abandoned: its position must not be saved
    if (entry.done) await this.settleInOrder();
  }

  /** Saves the position after every leading settled batch; a batch still out holds back those after it. */
  private settleInOrder(): Promise<void> {
    this.settling = this.settling.then(async () => {
      while (this.inFlight[0]?.done) {
        const head = this.inFlight.shift()!;
        this.inFlightLines -= head.lines;
        this.updateBuffered();
        try {
          await this.o.onSettled(head.last);
        } catch (err) {
          this.o.warn(`could not save the position: ${(err as Error).message}`);
        }
      }
    });
    return this.settling;
  }

  /** No more lines will come: send what is buffered, then `run` returns. */
  close(): void {
    this.closing = true;
    this.releaseRoom();
    this.wake?.();
  }

  /** Give up now (shutdown deadline): the request in flight is aborted, retries stop. */
  abandon(): void {
    this.closing = true;
    this.abandoned = true;
    this.abort.abort();
    this.releaseRoom();
    this.wake?.();
  }

  private takeBatch(): QueuedLine[] {
    const batch: QueuedLine[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && batch.length < this.o.maxBatchLines) {
      const next = this.queue[0]!;
      if (batch.length > 0 && bytes + next.bytes > this.o.maxBatchBytes) break;
      batch.push(this.queue.shift()!);
      bytes += next.bytes;
      if (next.urgent) this.urgentQueued--;
    }
    this.queueBytes -= bytes;
    this.inFlightLines += batch.length;
    this.oldestAt = Date.now();
    this.updateBuffered();
    if (!this.full()) this.releaseRoom();
    return batch;
  }

  /** Sends until the server took the batch (true) or refused it for good (true: dropped and counted); false when abandoned. */
  private async deliver(batch: QueuedLine[]): Promise<boolean> {
    for (let attempt = 1; !this.abandoned; attempt++) {
      const outcome = await this.post(batch);
      if (outcome.kind === 'ok') {
        this.counts.retrying = undefined;
        this.acknowledge(batch, outcome.answer);
        return true;
      }
      if (outcome.kind === 'permanent') {
        this.counts.retrying = undefined;
        if (outcome.status === 413 && batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          return (await this.deliver(batch.slice(0, half))) && this.deliver(batch.slice(half));
        }
        this.counts.dropped += batch.length;
        this.o.warn(`the server refused a batch of ${batch.length} line(s) with ${outcome.status}: ${outcome.reason}; they are dropped`);
        return true;
      }
      const backoff = Math.min(this.o.retryMaxMs, this.o.retryMinMs * 2 ** (attempt - 1));
      const delay = outcome.retryAfterMs !== undefined ? Math.min(outcome.retryAfterMs, 300_000) : backoff * (0.75 + Math.random() * 0.5);
      this.counts.retrying = { reason: outcome.reason, attempt, nextAt: Date.now() + delay };
      await this.sleep(delay);
    }
    return false;
  }

  private acknowledge(batch: QueuedLine[], answer: Answer): void {
    const rejected = Array.isArray(answer.rejected) ? answer.rejected : [];
    this.counts.dropped += rejected.length;
    this.counts.sent += batch.length - rejected.length;
    this.counts.duplicates += typeof answer.duplicates === 'number' ? answer.duplicates : 0;
    if (rejected.length > 0) {
      const first = rejected[0]!;
      this.o.warn(`the server rejected ${rejected.length} line(s) of a batch of ${batch.length} (line ${first.line}: ${first.reason})`);
    }
  }

  private async post(batch: QueuedLine[]): Promise<Outcome> {
    const ndjson = Buffer.from(batch.map((l) => l.json).join('\n') + '\n');
    const zipped = ndjson.length > 1024;
    // Fastest level: log lines compress ~17× at it too, and the CPU is the bot's.
    const body = zipped ? await gzip(ndjson, { level: zlib.Z_BEST_SPEED }) : ndjson;
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson', 'x-sentry-auth': this.o.auth };
    if (zipped) headers['content-encoding'] = 'gzip';
    let response: Response;
    let text: string;
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.o.requestTimeoutMs)]);
      response = await fetch(this.o.url, { method: 'POST', headers, body, signal });
      text = await response.text();
    } catch (err) {
      return { kind: 'retry', reason: networkReason(err) };
    }
    if (response.ok) {
      try {
        return { kind: 'ok', answer: JSON.parse(text) as Answer };
      } catch {
        return { kind: 'ok', answer: {} };
      }
    }
    const reason = `${response.status} ${oneLine(text)}`;
    if (response.status === 408 || response.status === 429 || response.status >= 500) return { kind: 'retry', reason, retryAfterMs: retryAfter(response.headers.get('retry-after')) };
    return { kind: 'permanent', status: response.status, reason: oneLine(text) || response.statusText };
  }

  private updateBuffered(): void {
    this.counts.buffered = this.queue.length + this.inFlightLines;
  }

  private releaseRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((err as Error).name === 'TimeoutError') return 'timeout';
  return (err as Error).message ?? String(err);
}

/** `Retry-After`: seconds or an HTTP date. */
function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

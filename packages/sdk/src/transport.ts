// Delivery of Sentry envelopes over HTTP: a bounded queue (items and bytes; when full the OLDEST
// item is dropped and counted), batching of non-event items, gzip for larger bodies, retries
// with exponential backoff and jitter on network errors and 5xx, and 429 / Retry-After /
// X-Sentry-Rate-Limits honoured per category. One request in flight at a time: a bot reporting
// errors must never compete with its own Bot API calls for sockets.
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { envelopeUrl, parseDsn, serializeEnvelope, type Dsn, type EnvelopeItem } from '@botpulse/protocol';
import { dataCategory, type DiscardReason } from './client-reports.js';
import { PERSISTED_TYPES, type DiskQueue, type StoredItem } from './disk-queue.js';
import { SDK_NAME, SDK_VERSION } from './version.js';

const gzip = promisify(gzipCallback);

/** One item waiting to be sent. `type` is the envelope item type. */
export interface TransportItem {
  type: string;
  payload: Buffer;
  /** Extra item headers (e.g. `content_type`, `item_count` for logs). */
  headers?: Record<string, unknown>;
  /** Set for `event` and `transaction` items: goes into the envelope headers. */
  eventId?: string;
}

/** Why items were dropped instead of delivered. */
export type DropReason = 'queue_overflow' | 'send_error' | 'rejected' | 'rate_limited' | 'closed';

/** Counters of the transport, for tests, metrics and the benchmark. */
export interface TransportStats {
  queuedItems: number;
  queuedBytes: number;
  sentEnvelopes: number;
  sentItems: number;
  retries: number;
  dropped: Record<DropReason, number>;
  /** Items written to the disk queue instead of being dropped (HttpTransport with a disk queue). */
  spilledToDisk?: number;
  /** Items read back from the disk queue. */
  loadedFromDisk?: number;
}

/** What the client needs from a transport; pass your own to `init({ transport })`. */
export interface Transport {
  send(item: TransportItem): void;
  /** Resolves true once everything queued so far is delivered (or dropped), false on timeout. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Flushes, then stops accepting items and frees sockets. */
  close(timeoutMs?: number): Promise<boolean>;
  stats(): TransportStats;
  /**
   * Optional: called from `process.on('exit')`, where nothing asynchronous runs any more. Keeps
   * what is still unsent (on disk, when the transport has a disk queue); must be synchronous.
   */
  persistSync?(): void;
  /** Optional: replaces the payload of a queued, not yet sent event. False when it is gone (sent, or never queued). */
  replace?(eventId: string, payload: Buffer): boolean;
}

export interface HttpTransportOptions {
  dsn: string;
  /** Max items waiting (default 1000). */
  maxQueueItems?: number;
  /** Max payload bytes waiting (default 8 MiB). */
  maxQueueBytes?: number;
  /** Max non-event items in one envelope (default 50). */
  maxBatchItems?: number;
  /** Bodies larger than this are gzipped (default 4096 bytes). */
  gzipThreshold?: number;
  /** Attempts after the first before a batch is dropped (default 5). */
  maxRetries?: number;
  /** First backoff delay (default 1000 ms), doubled each attempt, with ±50% jitter, capped by `retryMaxMs` (default 60 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Per request (default 10 s). */
  requestTimeoutMs?: number;
  /**
   * Where items go instead of being dropped: evicted from a full memory queue, out of retries,
   * or unsent when the process ends. The client sets it up (`init({ diskQueue })`).
   */
  diskQueue?: DiskQueue | undefined;
  /** Told about every item dropped for good, for client reports. */
  onDiscard?: ((reason: DiscardReason, category: string, quantity: number) => void) | undefined;
  /** Told why a batch was given up (refused, or no answer after every retry), so the bot's author can see it. */
  onFailure?: ((kind: string, message: string, error?: unknown) => void) | undefined;
}

interface Queued extends TransportItem {
  category: string;
  attempts: number;
  /** Written to the disk queue by close()/exit while its request was in flight: not counted as dropped again. */
  persisted?: boolean;
}

interface PostResult {
  status: number;
  retryAfter: string | undefined;
  rateLimits: string | undefined;
}

const ALL_CATEGORIES = '*';
const DEFAULT_RATE_LIMIT_MS = 60_000;

/**
 * The default transport: Sentry envelopes over HTTP(S) to the DSN's envelope endpoint.
 * @example
 * const transport = new HttpTransport({ dsn: process.env.BOTPULSE_DSN! });
 * transport.send({ type: 'check_in', payload: Buffer.from('{"status":"ok"}') });
 * await transport.flush(2000);
 */
export class HttpTransport implements Transport {
  private readonly dsn: Dsn;
  private readonly dsnString: string;
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly authHeader: string;
  private readonly options: Required<Omit<HttpTransportOptions, 'dsn' | 'diskQueue' | 'onDiscard' | 'onFailure'>>;
  private readonly disk: DiskQueue | undefined;
  private readonly onDiscard: (reason: DiscardReason, category: string, quantity: number) => void;
  private readonly onFailure: (kind: string, message: string, error?: unknown) => void;
  private queue: Queued[] = [];
  /** The batch whose request is in flight (for persistSync: it may not have arrived). */
  private inFlight: Queued[] | undefined;
  /** Items evicted or out of retries, written to disk at the next turn of the event loop (or at exit). */
  private spillBuffer: Queued[] = [];
  private spillScheduled = false;
  /** The disk queue may hold files: checked at start and set on every spill. */
  private diskPending: boolean;
  private refillTimer: NodeJS.Timeout | undefined;
  private queuedBytes = 0;
  private running = false;
  private lastDeliveryOk = false;
  private scheduled = false;
  private closed = false;
  private readonly rateLimits = new Map<string, number>();
  private wake: (() => void) | undefined;
  private readonly idleWaiters = new Set<() => void>();
  private readonly counters: Required<Omit<TransportStats, 'queuedItems' | 'queuedBytes'>> = {
    sentEnvelopes: 0,
    sentItems: 0,
    retries: 0,
    dropped: { queue_overflow: 0, send_error: 0, rejected: 0, rate_limited: 0, closed: 0 },
    spilledToDisk: 0,
    loadedFromDisk: 0,
  };

  constructor(options: HttpTransportOptions) {
    this.dsn = parseDsn(options.dsn);
    this.dsnString = options.dsn;
    this.url = new URL(envelopeUrl(this.dsn));
    this.options = {
      maxQueueItems: options.maxQueueItems ?? 1000,
      maxQueueBytes: options.maxQueueBytes ?? 8 * 1024 * 1024,
      maxBatchItems: options.maxBatchItems ?? 50,
      gzipThreshold: options.gzipThreshold ?? 4096,
      maxRetries: options.maxRetries ?? 5,
      retryBaseMs: options.retryBaseMs ?? 1000,
      retryMaxMs: options.retryMaxMs ?? 60_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    };
    this.disk = options.diskQueue;
    this.onDiscard = options.onDiscard ?? (() => undefined);
    this.onFailure = options.onFailure ?? (() => undefined);
    this.diskPending = this.disk !== undefined;
    // What an earlier process left on disk goes out first, once this one is up.
    if (this.disk) this.scheduleRefill(0);
    const Agent = this.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
    this.authHeader = `Sentry sentry_version=7, sentry_key=${this.dsn.publicKey}, sentry_client=${SDK_NAME}/${SDK_VERSION}`;
  }

  send(item: TransportItem): void {
    if (this.closed) {
      this.counters.dropped.closed += 1;
      this.onDiscard('send_error', dataCategory(item.type), 1);
      return;
    }
    this.enqueue({ ...item, category: dataCategory(item.type), attempts: 0 }, false);
    this.wake?.();
    this.schedule();
  }

  stats(): TransportStats {
    return { queuedItems: this.queue.length, queuedBytes: this.queuedBytes, ...this.counters, dropped: { ...this.counters.dropped } };
  }

  /** Items on their way to the disk queue (written at the next turn of the event loop). */
  get spilling(): number {
    return this.spillBuffer.length;
  }

  flush(timeoutMs = 2000): Promise<boolean> {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(onIdle);
        resolve(ok);
      };
      const onIdle = (): void => done(true);
      // Not unref'd: a caller awaiting flush() wants the process kept alive until it is done.
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.add(onIdle);
    });
  }

  async close(timeoutMs = 2000): Promise<boolean> {
    const flushed = await this.flush(timeoutMs);
    this.closed = true;
    // What the flush could not deliver is kept on disk (or counted), as at process exit.
    this.persistSync();
    this.agent.destroy();
    this.notifyIfIdle();
    return flushed;
  }

  /**
   * Writes everything unsent (queued, waiting to spill, and the batch in flight, which may or may
   * not have arrived: the server drops a repeated event id) to the disk queue; items that are not
   * kept on disk, or everything when there is no disk queue, are counted as dropped.
   */
  persistSync(): void {
    const inFlight = (this.inFlight ?? []).filter((item) => !item.persisted);
    for (const item of inFlight) item.persisted = true;
    const unsent = [...this.spillBuffer, ...inFlight, ...this.queue];
    this.spillBuffer = [];
    this.queue = [];
    this.queuedBytes = 0;
    if (unsent.length === 0) return;
    this.counters.dropped.closed += this.spill(unsent, 'send_error');
  }

  replace(eventId: string, payload: Buffer): boolean {
    const item = this.queue.find((i) => i.type === 'event' && i.eventId === eventId) ?? this.spillBuffer.find((i) => i.eventId === eventId);
    if (!item) return false;
    if (this.queue.includes(item)) this.queuedBytes += payload.length - item.payload.length;
    item.payload = payload;
    return true;
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && !this.running && !this.scheduled;
  }

  /**
   * Items that cannot stay in memory: to the disk queue when they are worth keeping (events, logs,
   * client reports), else dropped and reported with `reason`. Returns how many were dropped.
   */
  private spill(items: Queued[], reason: DiscardReason): number {
    const kept: StoredItem[] = [];
    let dropped = 0;
    for (const item of items) {
      if (this.disk && PERSISTED_TYPES.has(item.type)) {
        const stored: StoredItem = { type: item.type, payload: item.payload.toString('utf8') };
        if (item.headers) stored.headers = item.headers;
        if (item.eventId) stored.eventId = item.eventId;
        kept.push(stored);
      } else {
        dropped += 1;
        this.onDiscard(reason, item.category, 1);
      }
    }
    if (kept.length > 0 && this.disk) {
      if (this.disk.write(kept)) {
        this.counters.spilledToDisk += kept.length;
        this.diskPending = true;
      } else {
        // Read-only or full disk: lost after all, for the reason they were spilled.
        dropped += kept.length;
        for (const item of kept) this.onDiscard(reason, dataCategory(item.type), 1);
      }
    }
    return dropped;
  }

  /** Evicted or out of retries: to disk at the next turn, so that a burst becomes one file. */
  private spillLater(items: Queued[], reason: DiscardReason, counter: DropReason): void {
    if (!this.disk) {
      this.counters.dropped[counter] += items.length;
      for (const item of items) this.onDiscard(reason, item.category, 1);
      return;
    }
    this.spillBuffer.push(...items);
    if (this.spillScheduled) return;
    this.spillScheduled = true;
    setImmediate(() => {
      this.spillScheduled = false;
      const batch = this.spillBuffer;
      this.spillBuffer = [];
      this.counters.dropped[counter] += this.spill(batch, reason);
    });
  }

  private scheduleRefill(ms: number): void {
    if (this.refillTimer) return;
    // unref'd: a disk queue waiting for the server never keeps the process alive.
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      this.refillFromDisk();
    }, ms);
    this.refillTimer.unref();
  }

  /** Loads the oldest file of the disk queue when the memory queue is empty and the server answers. */
  private refillFromDisk(): void {
    if (!this.disk || !this.diskPending || this.closed || this.queue.length > 0) return;
    // No more than fits: the rest stays on disk, first in line (no churn through the memory queue).
    const items = this.disk.takeOldest(Math.max(1, this.options.maxQueueItems - this.queue.length));
    if (!items) {
      this.diskPending = false;
      return;
    }
    this.counters.loadedFromDisk += items.length;
    for (const stored of items) {
      const item: Queued = { type: stored.type, payload: Buffer.from(stored.payload, 'utf8'), category: dataCategory(stored.type), attempts: 0 };
      if (stored.headers) item.headers = stored.headers;
      if (stored.eventId) item.eventId = stored.eventId;
      this.enqueue(item, false);
    }
    this.schedule();
  }

  private notifyIfIdle(): void {
    if (!this.isIdle()) return;
    for (const waiter of [...this.idleWaiters]) waiter();
  }

  /** Adds an item; a requeued batch goes back to the front. Evicts the oldest beyond the bounds. */
  private enqueue(item: Queued, front: boolean): void {
    if (front) this.queue.unshift(item);
    else this.queue.push(item);
    this.queuedBytes += item.payload.length;
    const evicted: Queued[] = [];
    while (this.queue.length > this.options.maxQueueItems || (this.queuedBytes > this.options.maxQueueBytes && this.queue.length > 1)) {
      const oldest = this.queue.shift();
      if (!oldest) break;
      this.queuedBytes -= oldest.payload.length;
      evicted.push(oldest);
    }
    if (evicted.length > 0) this.spillLater(evicted, 'queue_overflow', 'queue_overflow');
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // setImmediate: items captured in the same event-loop turn go out in one envelope.
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const batch = this.takeBatch();
        if (batch.length === 0) {
          await this.waitForLimitOrNewItem(this.rateLimitWaitMs());
          continue;
        }
        await this.deliver(batch);
        if (this.queue.length === 0 && this.diskPending && this.lastDeliveryOk) this.refillFromDisk();
      }
    } finally {
      this.running = false;
      this.notifyIfIdle();
      // The disk queue still holds items: try again, at once after a success, else after the longest backoff.
      if (this.diskPending && !this.closed && this.queue.length === 0) this.scheduleRefill(this.lastDeliveryOk ? 0 : this.options.retryMaxMs);
    }
  }

  /** Sleeps while every queued item is rate limited; a new item (maybe of another category) wakes it. */
  private waitForLimitOrNewItem(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  /** An event alone, or up to maxBatchItems other items, skipping rate-limited categories. */
  private takeBatch(): Queued[] {
    const now = Date.now();
    const batch: Queued[] = [];
    const rest: Queued[] = [];
    for (const item of this.queue) {
      const eligible = !this.isLimited(item.category, now) && batch.length < this.options.maxBatchItems;
      const fits = eligible && (batch.length === 0 || (item.type !== 'event' && batch[0]?.type !== 'event'));
      if (fits) batch.push(item);
      else rest.push(item);
    }
    this.queue = rest;
    for (const item of batch) this.queuedBytes -= item.payload.length;
    return batch;
  }

  private async deliver(batch: Queued[]): Promise<void> {
    this.inFlight = batch;
    try {
      await this.deliverWithRetries(batch);
    } finally {
      this.inFlight = undefined;
    }
  }

  private async deliverWithRetries(batch: Queued[]): Promise<void> {
    for (;;) {
      let result: PostResult | undefined;
      let networkError: unknown;
      try {
        result = await this.post(batch);
      } catch (error) {
        networkError = error; // no answer: retried below, and named if every retry fails
      }
      this.lastDeliveryOk = result !== undefined && result.status >= 200 && result.status < 300;
      if (result && result.status >= 200 && result.status < 300) {
        this.counters.sentEnvelopes += 1;
        this.counters.sentItems += batch.length;
        if (result.rateLimits) this.applyRateLimits(result);
        return;
      }
      if (batch.some((item) => item.persisted)) return; // close() or exit kept it on disk meanwhile
      if (result?.status === 429) {
        this.applyRateLimits(result);
        this.requeueOrDrop(batch, 'rate_limited');
        return;
      }
      if (result && result.status < 500) {
        // 4xx: the server will never take it, so it is not kept.
        this.counters.dropped.rejected += batch.length;
        for (const item of batch) this.onDiscard('send_error', item.category, 1);
        this.onFailure('delivery_refused', `the server refused ${batch.length} item(s) with HTTP ${result.status} (a wrong DSN or key answers 401/403/404); dropped`);
        return;
      }
      const attempt = (batch[0]?.attempts ?? 0) + 1;
      for (const item of batch) item.attempts = attempt;
      if (attempt > this.options.maxRetries || this.closed) {
        const cause = result ? `HTTP ${result.status}` : 'no answer';
        const fate = this.disk ? 'kept on the disk queue where it can be' : 'dropped';
        this.onFailure('delivery_failed', `${batch.length} item(s) not delivered after ${attempt} attempt(s) (${cause}); ${fate}`, networkError);
        this.spillLater(batch, result ? 'send_error' : 'network_error', 'send_error');
        return;
      }
      this.counters.retries += 1;
      await sleep(this.backoffMs(attempt));
    }
  }

  private requeueOrDrop(batch: Queued[], reason: DropReason): void {
    const exhausted: Queued[] = [];
    for (const item of [...batch].reverse()) {
      item.attempts += 1;
      if (item.attempts > this.options.maxRetries) exhausted.push(item);
      else this.enqueue(item, true);
    }
    if (exhausted.length > 0) this.spillLater(exhausted, 'ratelimit_backoff', reason);
  }

  /** base × 2^(attempt-1), capped, then ±50% jitter so many bots don't retry in lockstep. */
  private backoffMs(attempt: number): number {
    const exp = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (attempt - 1));
    return Math.round(exp * (0.5 + Math.random()));
  }

  private async post(batch: Queued[]): Promise<PostResult> {
    const body = await this.encode(batch);
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'application/x-sentry-envelope',
      'X-Sentry-Auth': this.authHeader,
      'Content-Length': body.data.length,
    };
    if (body.gzipped) headers['Content-Encoding'] = 'gzip';
    const request = this.url.protocol === 'https:' ? https.request : http.request;
    return new Promise<PostResult>((resolve, reject) => {
      const req = request(this.url, { method: 'POST', headers, agent: this.agent, timeout: this.options.requestTimeoutMs }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, retryAfter: header(res.headers['retry-after']), rateLimits: header(res.headers['x-sentry-rate-limits']) }),
        );
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(body.data);
    });
  }

  private async encode(batch: Queued[]): Promise<{ data: Buffer; gzipped: boolean }> {
    const eventId = batch.find((item) => item.eventId)?.eventId;
    const headers: Record<string, unknown> = { sent_at: new Date().toISOString(), dsn: this.dsnString, sdk: { name: SDK_NAME, version: SDK_VERSION } };
    if (eventId && batch.length === 1) headers['event_id'] = eventId;
    const items: EnvelopeItem[] = batch.map((item) => ({ headers: { type: item.type, ...item.headers }, payload: item.payload }));
    const raw = serializeEnvelope({ headers, items });
    if (raw.length <= this.options.gzipThreshold) return { data: raw, gzipped: false };
    return { data: await gzip(raw), gzipped: true };
  }

  private isLimited(category: string, now: number): boolean {
    const until = Math.max(this.rateLimits.get(category) ?? 0, this.rateLimits.get(ALL_CATEGORIES) ?? 0);
    return until > now;
  }

  private rateLimitWaitMs(): number {
    const now = Date.now();
    const pending = this.queue.map((item) => Math.max(this.rateLimits.get(item.category) ?? 0, this.rateLimits.get(ALL_CATEGORIES) ?? 0) - now);
    return Math.max(10, Math.min(...pending));
  }

  /** `X-Sentry-Rate-Limits` wins; else `Retry-After`; a bare 429 means 60 s for everything. */
  private applyRateLimits(result: PostResult): void {
    const now = Date.now();
    if (result.rateLimits) {
      for (const [categories, ms] of parseRateLimits(result.rateLimits)) {
        for (const category of categories.length ? categories : [ALL_CATEGORIES]) this.rateLimits.set(category, now + ms);
      }
      return;
    }
    if (result.status === 429) this.rateLimits.set(ALL_CATEGORIES, now + parseRetryAfter(result.retryAfter, now));
  }
}

/**
 * Parses `X-Sentry-Rate-Limits` (`<secs>:<cat;cat>:<scope>[:reason], ...`) into category lists and durations.
 * @example parseRateLimits('60:error;transaction:org') // [[['error','transaction'], 60000]]
 */
export function parseRateLimits(value: string): [string[], number][] {
  const limits: [string[], number][] = [];
  for (const part of value.split(',')) {
    const [seconds, categories = ''] = part.trim().split(':');
    const secs = Number(seconds);
    if (!Number.isFinite(secs)) continue;
    limits.push([categories.split(';').filter(Boolean), Math.max(0, secs) * 1000]);
  }
  return limits;
}

/**
 * `Retry-After` as seconds or an HTTP date; 60 s when missing or unreadable.
 * @example parseRetryAfter('17') // 17000
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number {
  if (!value) return DEFAULT_RATE_LIMIT_MS;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : DEFAULT_RATE_LIMIT_MS;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * A transport that drops everything (used when no DSN is configured).
 * @example new BotpulseClient({ transport: new NoopTransport() })
 */
export class NoopTransport implements Transport {
  send(): void {}
  flush(): Promise<boolean> {
    return Promise.resolve(true);
  }
  close(): Promise<boolean> {
    return Promise.resolve(true);
  }
  stats(): TransportStats {
    return { queuedItems: 0, queuedBytes: 0, sentEnvelopes: 0, sentItems: 0, retries: 0, dropped: { queue_overflow: 0, send_error: 0, rejected: 0, rate_limited: 0, closed: 0 } };
  }
}

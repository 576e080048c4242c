// In-process counters: what was filtered, repeated, conflicted or dropped. Exposed by
// `client.counters()` and, with prom-client, as Prometheus metrics (metrics.ts).

/** A counter broken down by one label. */
export type LabeledCount = Record<string, number>;

/** Mutable counters of one client. */
export class Counters {
  /** Errors classified as expected Telegram noise, by kind (reported as breadcrumbs, not events). */
  readonly noise: LabeledCount = {};
  /** Failed Bot API calls, by error code ("network" when Telegram never answered). */
  readonly apiErrors: LabeledCount = {};
  /** Events not sent, by reason (before_send, sample_rate, noise...). */
  readonly eventsDropped: LabeledCount = {};
  /** Bot API calls answered 429 Too Many Requests, by method. */
  readonly throttled: LabeledCount = {};
  /** Sum of the retry_after (seconds) of those 429 answers. */
  retryAfterSeconds = 0;
  apiCalls = 0;
  duplicateUpdates = 0;
  pollingConflicts = 0;
  eventsCaptured = 0;
  heartbeatsOk = 0;
  heartbeatsError = 0;
  /** Unix time (seconds) of the last healthy heartbeat; 0 before the first. */
  lastHeartbeatTimestamp = 0;

  static increment(counter: LabeledCount, label: string, by = 1): void {
    counter[label] = (counter[label] ?? 0) + by;
  }
}

/** A read-only copy of the counters plus the transport's own. */
export interface CountersSnapshot {
  noise: LabeledCount;
  apiErrors: LabeledCount;
  eventsDropped: LabeledCount;
  /** 429 answers by Bot API method, and the sum of their retry_after (seconds). */
  throttled: LabeledCount;
  retryAfterSeconds: number;
  apiCalls: number;
  duplicateUpdates: number;
  pollingConflicts: number;
  eventsCaptured: number;
  heartbeatsOk: number;
  heartbeatsError: number;
  lastHeartbeatTimestamp: number;
  /** Items the transport dropped, by reason (queue_overflow, send_error, rejected, rate_limited, closed). */
  transportDropped: LabeledCount;
  transportSentItems: number;
  /** Items dropped for good as reported to the server in client reports, by `reason:category`. */
  discarded: LabeledCount;
  /** Items written to the disk queue instead of being dropped, and read back from it. */
  spilledToDisk: number;
  loadedFromDisk: number;
  /** Failures the SDK handled on its own, by kind (each also logged through `init({ logger })`). */
  failures: LabeledCount;
}

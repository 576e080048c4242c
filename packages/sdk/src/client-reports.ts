// Sentry client reports (https://develop.sentry.dev/sdk/telemetry/client-reports/): how many
// items the SDK itself discarded, by reason and data category, sent as a `client_report`
// envelope item so that the server, not only the bot, knows what never arrived and why.

/**
 * Discard reasons the Sentry protocol defines (the ones this SDK uses).
 * - `sample_rate`: left out by `sampleRate`;
 * - `before_send`: `beforeSend` returned null;
 * - `event_processor`: the error-storm guard held it back (a similar error was sent);
 * - `queue_overflow`: the memory queue was full and the item could not go to disk (no disk queue,
 *   an unwritable one, or a type never kept there: transactions, check-ins);
 * - `cache_overflow`: the disk queue was full, its oldest file deleted;
 * - `network_error`: no answer after every retry, and no disk queue to keep it;
 * - `send_error`: the server refused it (4xx other than 429, or 5xx after every retry), or it
 *   was still unsent when the process ended and could not be kept on disk;
 * - `ratelimit_backoff`: the server's rate limit outlasted every retry;
 * - `internal_sdk_error`: the SDK could not build the item (an event that cannot be serialised)
 *   or read it back (a damaged disk-queue file).
 */
export type DiscardReason =
  | 'sample_rate'
  | 'before_send'
  | 'event_processor'
  | 'queue_overflow'
  | 'cache_overflow'
  | 'network_error'
  | 'send_error'
  | 'ratelimit_backoff'
  | 'internal_sdk_error';

/** The Sentry data category of an envelope item type. */
export function dataCategory(itemType: string): string {
  return CATEGORY_OF_TYPE[itemType] ?? 'default';
}

const CATEGORY_OF_TYPE: Record<string, string> = {
  event: 'error',
  transaction: 'transaction',
  check_in: 'monitor',
  log: 'log_item',
  attachment: 'attachment',
  span: 'span',
  client_report: 'internal',
};

/** The payload of a `client_report` item. */
export interface ClientReport {
  timestamp: number;
  discarded_events: { reason: string; category: string; quantity: number }[];
}

/**
 * Counts discarded items until they are taken for a report.
 * @example
 * const reports = new ClientReports();
 * reports.record('queue_overflow', 'error', 3);
 * reports.take(); // { timestamp, discarded_events: [{ reason: 'queue_overflow', category: 'error', quantity: 3 }] }
 */
export class ClientReports {
  private counts = new Map<string, number>();
  /** Everything recorded since the start, for `counters()`. */
  readonly totals: Record<string, number> = {};

  record(reason: DiscardReason, category: string, quantity = 1): void {
    // A lost client report is not itself reported: that way lies a loop.
    if (quantity <= 0 || category === 'internal') return;
    const key = `${reason}:${category}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + quantity);
    this.totals[key] = (this.totals[key] ?? 0) + quantity;
  }

  get pending(): boolean {
    return this.counts.size > 0;
  }

  /** The report of everything recorded since the last take, or undefined when nothing was. */
  take(): ClientReport | undefined {
    if (this.counts.size === 0) return undefined;
    const discarded_events = [...this.counts].map(([key, quantity]) => {
      const [reason = '', category = ''] = key.split(':');
      return { reason, category, quantity };
    });
    this.counts = new Map();
    return { timestamp: Date.now() / 1000, discarded_events };
  }
}

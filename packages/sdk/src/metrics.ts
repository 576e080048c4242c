// Prometheus metrics with the seed's names, on a prom-client Registry the caller owns. The
// metrics are collectors that read the client's counters at scrape time, so nothing here
// imports prom-client (it stays an optional peer) and nothing is counted twice.
import type { BotpulseClient } from './client.js';
import type { CountersSnapshot } from './counters.js';
import { resolveClient } from './sdk.js';

/** What `registry.registerMetric` needs (prom-client's Registry fits). */
export interface MetricsRegistry {
  registerMetric(metric: any): void;
}

interface MetricValue {
  value: number;
  labels: Record<string, string>;
}

export interface MetricsOptions {
  registry: MetricsRegistry;
  /** Metric name prefix, e.g. "staffprobot" → staffprobot_bot_polling_conflicts_total. Default "botpulse". */
  prefix?: string;
  client?: BotpulseClient;
}

type Definition = { suffix: string; help: string; type: 'counter' | 'gauge'; read: (c: CountersSnapshot) => MetricValue[] };

const single = (value: number): MetricValue[] => [{ value, labels: {} }];
const labeled = (counts: Record<string, number>, label: string): MetricValue[] =>
  Object.entries(counts).map(([key, value]) => ({ value, labels: { [label]: key } }));

const DEFINITIONS: Definition[] = [
  { suffix: 'bot_polling_conflicts_total', help: 'getUpdates answers 409 Conflict (another poller for the same token)', type: 'counter', read: (c) => single(c.pollingConflicts) },
  { suffix: 'bot_polling_heartbeat_timestamp', help: 'Unix time of the last healthy polling heartbeat', type: 'gauge', read: (c) => single(c.lastHeartbeatTimestamp) },
  { suffix: 'bot_polling_heartbeat_errors_total', help: 'Heartbeats that found the polling loop unhealthy', type: 'counter', read: (c) => single(c.heartbeatsError) },
  { suffix: 'bot_telegram_noise_total', help: 'Expected Telegram errors kept out of error tracking, by kind', type: 'counter', read: (c) => labeled(c.noise, 'kind') },
  { suffix: 'bot_telegram_api_errors_total', help: 'Failed Bot API calls, by error code', type: 'counter', read: (c) => labeled(c.apiErrors, 'code') },
  { suffix: 'bot_telegram_throttled_total', help: 'Bot API calls answered 429 Too Many Requests, by method', type: 'counter', read: (c) => labeled(c.throttled, 'method') },
  { suffix: 'bot_telegram_retry_after_seconds_total', help: 'Sum of the retry_after seconds of 429 answers', type: 'counter', read: (c) => single(c.retryAfterSeconds) },
  { suffix: 'bot_telegram_api_calls_total', help: 'Bot API calls made', type: 'counter', read: (c) => single(c.apiCalls) },
  { suffix: 'bot_duplicate_updates_total', help: 'Updates received again (same update_id)', type: 'counter', read: (c) => single(c.duplicateUpdates) },
  { suffix: 'botpulse_events_total', help: 'Error events captured and queued', type: 'counter', read: (c) => single(c.eventsCaptured) },
  { suffix: 'botpulse_dropped_total', help: 'Items not delivered to Botpulse, by reason', type: 'counter', read: (c) => [...labeled(c.transportDropped, 'reason'), ...labeled(c.eventsDropped, 'reason')] },
  { suffix: 'botpulse_sdk_failures_total', help: 'Failures the SDK handled on its own (also logged), by kind', type: 'counter', read: (c) => labeled(c.failures, 'kind') },
];

/**
 * Registers the SDK's counters and gauges on a prom-client registry.
 * @example
 * import { Registry } from 'prom-client';
 * const registry = new Registry();
 * registerMetrics({ registry, prefix: 'staffprobot' });
 * // GET /metrics → staffprobot_bot_polling_conflicts_total 0 ...
 */
export function registerMetrics(options: MetricsOptions): string[] {
  const client = resolveClient(options.client);
  const prefix = options.prefix ?? 'botpulse';
  const names: string[] = [];
  for (const definition of DEFINITIONS) {
    const name = `${prefix}_${definition.suffix}`;
    options.registry.registerMetric({
      name,
      help: definition.help,
      type: definition.type,
      aggregator: definition.type === 'gauge' ? 'max' : 'sum',
      get: async () => ({ name, help: definition.help, type: definition.type, aggregator: definition.type === 'gauge' ? 'max' : 'sum', values: definition.read(client.counters()) }),
      reset: () => undefined,
    });
    names.push(name);
  }
  return names;
}

import { statSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { GithubStats } from '../github/stats.js';
import { Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { Alerting } from '../alerts/alerting.js';
import type { Config } from '../config/load.js';
import type { DigestWorker } from '../digest/worker.js';
import type { IngestStats } from '../http/stats.js';
import type { Spool } from '../ingest/spool.js';
import { ClientError } from '../lib/errors.js';
import { reportFailure } from '../lib/failures.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { SIGNAL_NAMES, type SignalName } from '../store/monitors.js';
import type { Monitoring } from '../monitors/monitoring.js';
import type { DatabasePoolFigures } from '../store/postgres/database.js';
import type { Store } from '../store/store.js';
import { failurePathMetrics } from './failure-paths.js';
import { mirroredCounter } from './mirrored-counter.js';
import { MonitorSeries } from './monitor-series.js';
import { upstreamMetrics } from './upstream.js';
import type { ForwarderState } from '../upstream/forwarder.js';

export interface MetricsDeps {
  config: Readonly<Config>;
  alerting: Alerting;
  stats: IngestStats;
  digest: DigestWorker;
  spool: Spool;
  monitoring: Monitoring;
  /** What the GitHub integration did (docs/github.md). */
  github?: GithubStats;
  /** For what the bots' client reports say they dropped. */
  store?: Store;
  /** The PostgreSQL pool of the main thread (absent on SQLite). */
  databasePool?: (() => DatabasePoolFigures) | undefined;
  /** Where a family that could not be read is reported (botpulse_failures_total{site="metrics_collect"}). */
  logger: Pick<Logger, 'warn' | 'error'>;
  /** The log-line thread's health (logs/line-worker.ts). */
  logLines?: () => import('../logs/line-worker.js').LineWorkerHealth;
  /** The upstream forwarder's counters (absent: forwarding is off and no family is shown). */
  upstream?: () => ForwarderState;
}

/** What `/metrics` answers: prom-client's Registry, then the per-monitor families (written in pages). */
export interface Metrics {
  register: Registry;
  /** The whole exposition text. */
  text(): Promise<string>;
  /** Stops the event-loop delay sampler. */
  close(): void;
}

/**
 * Botpulse's `/metrics` on its own prom-client Registry (never the global one: tests run several
 * servers in one process). Counters that already exist elsewhere (IngestStats, the digest's
 * total, the notifier's counts) are read at scrape time by collect(), so nothing is counted twice.
 * Names follow Prometheus conventions: `botpulse_` prefix, base units, `_total` counters,
 * timestamps not ages, and no user or chat ids in labels (a bot is its project slug).
 */
export function createMetrics(deps: MetricsDeps): Metrics {
  const register = new Registry();
  // Not prom-client's default metrics: three of them are gauges named `_total`, which promtool rejects.
  const startedAt = Date.now() / 1000;
  new Gauge({ name: 'botpulse_process_start_time_seconds', help: 'Unix time this server process started.', registers: [register], collect() {
    this.set(startedAt);
  } });
  new Gauge({ name: 'botpulse_process_resident_memory_bytes', help: 'Resident memory of this server process.', registers: [register], collect() {
    this.set(process.memoryUsage.rss());
  } });
  const loopDelay = eventLoopDelayMetrics(register);
  const service = deps.monitoring.service;
  const slugs = new Map<number, string>();
  const slugOf = async (projectId: number) => {
    let s = slugs.get(projectId);
    if (!s) {
      s = (await service.project(projectId))?.slug ?? String(projectId);
      slugs.set(projectId, s);
    }
    return s;
  };

  mirroredCounter(register, {
    name: 'botpulse_events_accepted_total',
    help: 'Items accepted by ingestion, by kind (event, transaction, check_in, log, ...).',
    labelNames: ['kind'],
    read: () => Object.entries(deps.stats.acceptedByKind).map(([kind, n]) => [{ kind }, n]),
  });
  mirroredCounter(register, {
    name: 'botpulse_events_rejected_total',
    help: 'Ingestion requests refused, by HTTP status (413 too large, 429 backlog full, 401/403 auth, 400 malformed).',
    labelNames: ['status'],
    read: () => Object.entries(deps.stats.rejectedByStatus).map(([status, n]) => [{ status }, n]),
  });
  const bodies = deps.stats.bodies;
  new Gauge({ name: 'botpulse_ingest_body_bytes_in_flight', help: 'Request body bytes held now (after decompression), all requests together.', registers: [register], collect() {
    this.set(bodies.inFlightBytes);
  } });
  new Gauge({ name: 'botpulse_ingest_body_bytes_in_flight_peak', help: 'The most request body bytes ever held at once since start; never above the BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT budget.', registers: [register], collect() {
    this.set(bodies.peakInFlightBytes);
  } });
  mirroredCounter(register, { name: 'botpulse_ingest_inflated_bytes_total', help: 'Bytes produced by decompressing request bodies (refused ones included).', read: () => bodies.inflatedBytesTotal });
  mirroredCounter(register, { name: 'botpulse_ingest_body_budget_refusals_total', help: 'Requests answered 503 because the request bodies in flight reached BOTPULSE_MAX_BODY_BYTES_IN_FLIGHT.', read: () => bodies.refusedTotal });
  if (deps.github) githubMetrics(register, deps.github);
  mirroredCounter(register, {
    name: 'botpulse_events_digested_total',
    help: 'Spool rows digested (grouped into issues and stored).',
    read: () => deps.digest.digestedTotal,
  });
  const digestLatency = new Histogram({
    name: 'botpulse_digest_latency_seconds',
    help: 'Time from an item\'s acceptance (the 200) to its digest commit (grouped and stored).',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [register],
  });
  deps.digest.onDigestLag = (lagsMs) => {
    for (const ms of lagsMs) digestLatency.observe(ms / 1000);
  };
  mirroredCounter(register, {
    name: 'botpulse_alerts_sent_total',
    help: 'Alert messages delivered (issue and monitor alerts; several alerts may share one message), by channel.',
    labelNames: ['channel'],
    read: () => Object.entries(deps.alerting.sender.sentByChannel).map(([channel, n]) => [{ channel }, n]),
  });
  mirroredCounter(register, {
    name: 'botpulse_alerts_failed_total',
    help: 'Alert delivery attempts that failed (retried later, or given up), by channel.',
    labelNames: ['channel'],
    read: () => Object.entries(deps.alerting.sender.failedByChannel).map(([channel, n]) => [{ channel }, n]),
  });
  alertPathMetrics(register, deps.alerting);
  failurePathMetrics(register, deps);
  if (deps.upstream) upstreamMetrics(register, deps.upstream);
  new Gauge({ name: 'botpulse_spool_backlog', help: 'Items accepted but not digested yet.', registers: [register], collect() {
    this.set(deps.spool.backlog);
  } });
  // The pool as it was when the scrape began: the families that read the database take
  // connections while the scrape runs, and the gauges must not show the scrape's own queries.
  let poolAtScrape: DatabasePoolFigures | null = null;
  const databasePool = deps.databasePool;
  if (databasePool) registerPoolGauges(register, () => poolAtScrape ?? databasePool());
  // On PostgreSQL the size is the database server's to report (pg_database_size, postgres_exporter).
  if (deps.config.database.kind !== 'postgres') {
    new Gauge({ name: 'botpulse_store_size_bytes', help: 'Size of the SQLite database file and its WAL.', registers: [register], collect() {
      this.set(fileSize(deps.config.databaseFile) + fileSize(`${deps.config.databaseFile}-wal`));
    } });
  }
  new Gauge({ name: 'botpulse_monitor_sweep_duration_seconds', help: 'Duration of the last monitor sweeper tick.', registers: [register], collect() {
    this.set(service.stats.lastTickMs / 1000);
  } });
  mirroredCounter(register, {
    name: 'botpulse_monitor_notifications_total',
    help: 'Monitor notifications handed to the alert outbox (forwarded) and forwarding attempts that failed and will be retried (failed).',
    labelNames: ['result'],
    read: () => [
      [{ result: 'forwarded' }, service.notifier.forwarded],
      [{ result: 'failed' }, service.notifier.failed],
    ],
  });

  mirroredCounter(register, {
    name: 'botpulse_monitor_checkins_refused_total',
    help: 'Check-ins and pings the monitors refused, by bot and reason: limit (unknown monitor beyond BOTPULSE_CHECKIN_MONITOR_LIMIT), slug (no usable monitor slug), schedule (impossible or unreadable monitor_config schedule).',
    labelNames: ['bot', 'reason'],
    read: async () => {
      const counts: [{ bot: string; reason: string }, number][] = [];
      for (const r of await deps.monitoring.store.refusals()) counts.push([{ bot: await slugOf(r.projectId), reason: r.reason }, r.count]);
      return counts;
    },
  });
  const store = deps.store;
  if (store) {
    mirroredCounter(register, {
      name: 'botpulse_sdk_discarded_events_total',
      help: 'Items a bot\'s SDK dropped before sending, from its Sentry client reports, by discard reason (queue_overflow, network_error, sample_rate, ...) and data category (error, transaction, ...).',
      labelNames: ['bot', 'reason', 'category'],
      read: async () => {
        const counts: [{ bot: string; reason: string; category: string }, number][] = [];
        for (const d of await store.clientDiscards()) counts.push([{ bot: await slugOf(d.projectId), reason: d.reason, category: d.category }, d.quantity]);
        return counts;
      },
    });
  }
  const latency = new Histogram({
    name: 'botpulse_bot_update_duration_seconds',
    help: 'Duration of bot updates/webhooks from the SDK\'s transactions.',
    labelNames: ['bot'],
    buckets: [0.05, 0.1, 0.25, 0.5, 0.8, 1, 2, 5, 10],
    registers: [register],
  });
  const tick = new Histogram({
    name: 'botpulse_monitor_tick_duration_seconds',
    help: 'Monitor sweeper ticks by phase: consume (check-ins, transactions), sweep (passed deadlines), total.',
    labelNames: ['phase'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [register],
  });
  service.onTick = (t) => {
    tick.observe({ phase: 'consume' }, t.consumeMs / 1000);
    tick.observe({ phase: 'sweep' }, t.sweepMs / 1000);
    tick.observe({ phase: 'total' }, t.totalMs / 1000);
  };
  service.onLatency = (projectId, ms) => {
    const bot = slugs.get(projectId);
    if (bot) latency.observe({ bot }, ms / 1000);
    else slugOf(projectId).then((s) => latency.observe({ bot: s }, ms / 1000), () => latency.observe({ bot: String(projectId) }, ms / 1000));
  };
  botSignalMetrics(register, deps.monitoring, slugOf);
  const monitorSeries = new MonitorSeries(deps.monitoring.store, slugOf);
  // After every family above is registered: each one that reads the database may fail alone.
  const unread = leaveOutFailedReads(register);
  const monitorFamilies = async () => {
    try {
      return await monitorSeries.render();
    } catch (err) {
      unread.push({ metric: 'the per-monitor families', err });
      return '';
    }
  };
  const scrape = async () => {
    poolAtScrape = databasePool?.() ?? null;
    let text: string;
    try {
      // prom-client's text ends with a newline; the per-monitor families follow after a blank line.
      text = `${await register.metrics()}\n${await monitorFamilies()}`;
    } finally {
      poolAtScrape = null;
    }
    // One line per scrape, however many families failed (while the database is away, most do).
    const failed = unread.splice(0);
    if (failed.length > 0) {
      reportFailure(deps.logger, 'metrics_collect', failed[0]!.err, 'metrics could not be read; this scrape leaves them out', { metrics: failed.map((f) => f.metric) }, 'warn');
    }
    return text;
  };
  return {
    register,
    text: scrape,
    close: () => loopDelay.disable(),
  };
}

/**
 * Many families are read from the database at scrape time, and prom-client fails the whole scrape
 * when one collect() throws: while PostgreSQL restarts, /metrics would answer 503 exactly when the
 * operator needs the 503 counter, the pool gauges and the failure counts. So every collect()
 * registered so far is wrapped: a failed read leaves that family as the read left it (a labelled
 * gauge with no series, one without labels and a mirrored counter with their last values) and is
 * noted in the returned list, which the scrape
 * reports (botpulse_failures_total{site="metrics_collect"}) while the other families are served.
 */
export function leaveOutFailedReads(register: Registry): { metric: string; err: unknown }[] {
  const unread: { metric: string; err: unknown }[] = [];
  for (const metric of register.getMetricsAsArray()) {
    // prom-client keeps the `collect` option on the metric and calls it as a method of it.
    const family = metric as unknown as Metric & { name: string; collect?: (this: Metric) => unknown };
    const collect = family.collect;
    if (!collect) continue;
    family.collect = async function (this: Metric) {
      try {
        await collect.call(this);
      } catch (err) {
        unread.push({ metric: family.name, err });
      }
    };
  }
  return unread;
}

/**
 * How long the event loop was held since the previous scrape (Node's own sampler, resolution
 * 10 ms): p99 and max. prom-client's nodejs_eventloop_lag_* are not used because its default
 * metrics are left out (see createMetrics). A max near a second means pings and ingestion waited
 * that long: docs/performance.md "The event loop never stalls".
 */
function eventLoopDelayMetrics(register: Registry): { disable(): void } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let p99 = 0;
  new Gauge({ name: 'botpulse_event_loop_delay_max_seconds', help: 'Longest event-loop delay since the previous scrape (how long the server could not answer anything).', registers: [register], collect() {
    // Read both here (this collector runs first) and reset once, so p99 and max describe one interval.
    p99 = histogram.count > 0 ? histogram.percentile(99) / 1e9 : 0;
    this.set(histogram.count > 0 ? histogram.max / 1e9 : 0);
    histogram.reset();
  } });
  new Gauge({ name: 'botpulse_event_loop_delay_p99_seconds', help: '99th percentile of the event-loop delay since the previous scrape.', registers: [register], collect() {
    this.set(p99);
  } });
  return histogram;
}

/**
 * The alert path's own failure states (docs/alerts.md "Delivery guarantees"): rows given up without
 * delivery and why, rows waiting or parked now, and the change feed between the digest and the
 * engine. A parked row or a feed that only grows is something to alert on.
 */
function alertPathMetrics(register: Registry, alerting: Alerting): void {
  mirroredCounter(register, {
    name: 'botpulse_alerts_undelivered_total',
    help: 'Alert outbox rows given up without delivery, by channel and reason: parked (failed in Botpulse itself), expired (unsent after 24 h), rejected (the channel refused the message), target_disabled, no_channel.',
    labelNames: ['channel', 'reason'],
    read: () =>
      Object.entries(alerting.sender.undelivered).flatMap(([channel, reasons]) =>
        Object.entries(reasons ?? {}).map(([reason, n]) => [{ channel, reason }, n]),
      ),
  });
  new Gauge({
    name: 'botpulse_alert_outbox_rows',
    help: 'Alert outbox rows now pending (waiting, paced, retrying or being sent) and parked (set aside after failing in Botpulse itself; see GET /api/v1/alerts).',
    labelNames: ['status'],
    registers: [register],
    async collect() {
      this.reset();
      for (const status of ['pending', 'parked'] as const) this.set({ status }, await alerting.alerts.countOutbox(status));
    },
  });
  new Gauge({
    name: 'botpulse_alert_changes_backlog',
    help: 'Issue changes digested but not yet evaluated by the alert engine (the durable change feed).',
    registers: [register],
    async collect() {
      this.set(await alerting.alerts.changeBacklog());
    },
  });
  mirroredCounter(register, {
    name: 'botpulse_alert_changes_total',
    help: 'Issue changes of the feed evaluated by this process\'s alert engine (evaluated), evaluation attempts that failed and will be retried (failed), and changes given up after failing several times (given_up).',
    labelNames: ['result'],
    read: () => {
      const stats = alerting.engine.stats;
      return [
        [{ result: 'evaluated' }, stats.evaluated],
        [{ result: 'given_up' }, stats.givenUp],
        [{ result: 'failed' }, stats.failures],
      ];
    },
  });
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * `/metrics`: with BOTPULSE_METRICS_TOKEN, a Bearer token is required; without it only loopback
 * clients are answered (per-bot states and names are not for the internet).
 */
export function metricsRoute(app: FastifyInstance, metrics: Metrics, config: Readonly<Config>): void {
  app.get('/metrics', async (req: FastifyRequest, reply) => {
    const token = config.monitors.metricsToken;
    if (token) {
      const sent = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (sent !== token) throw new ClientError(401, 'metrics need "Authorization: Bearer <BOTPULSE_METRICS_TOKEN>"');
    } else if (!isLoopback(req.socket.remoteAddress)) {
      throw new ClientError(403, 'metrics are served to loopback clients only; set BOTPULSE_METRICS_TOKEN to scrape from elsewhere');
    }
    return reply.header('content-type', metrics.register.contentType).send(await metrics.text());
  });
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1' || (address?.startsWith('127.') ?? false);
}

const YIELD_EVERY = 500;

/** Memoizes `read` for one scrape: calls within a second share the first call's result. */
function perScrape<T>(read: () => Promise<T>, ttlMs = 1000): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > ttlMs) last = { at: now, value: read() };
    return last.value;
  };
}

/**
 * The bot signals (docs/monitors.md, "Bot signals"): what the bots' SDKs reported with their
 * heartbeats. Bounded: one set per monitor (its environments merged: the highest reading, the sum
 * of counts, an alert firing in any), the signal label from a fixed set of three and the lag
 * statistic from a fixed set of three; never per Bot API method (the SDK's own metrics have that).
 * Only monitors whose bot reported signals are read, once per scrape.
 */
function botSignalMetrics(register: Registry, monitoring: Monitoring, slugOf: (projectId: number) => Promise<string>): void {
  type Merged = { bot: string; monitor: string; firing: Record<SignalName, number>; pending: number | null; lag: { p50: number; p95: number; max: number } | null; throttled: number; retryAfter: number };
  const merged = perScrape(async () => {
    const byId = new Map<number, Merged>();
    let n = 0;
    for (const s of await monitoring.store.listMonitors({ withSignals: true })) {
      const signals = s.signals;
      if (!signals) continue;
      const m = byId.get(s.id) ?? { bot: await slugOf(s.projectId), monitor: s.slug, firing: { webhook: 0, update_lag: 0, throttled: 0 }, pending: null, lag: null, throttled: 0, retryAfter: 0 };
      for (const name of SIGNAL_NAMES) if (signals.rules[name]?.state === 'firing') m.firing[name] = 1;
      if (typeof signals.webhook?.pendingUpdateCount === 'number') m.pending = Math.max(m.pending ?? 0, signals.webhook.pendingUpdateCount);
      const last = signals.minutes[signals.minutes.length - 1];
      if (last && last.dated > 0) {
        const prev = m.lag ?? { p50: 0, p95: 0, max: 0 };
        m.lag = { p50: Math.max(prev.p50, last.lagP50 ?? 0), p95: Math.max(prev.p95, last.lagP95 ?? 0), max: Math.max(prev.max, last.lagMax ?? 0) };
      }
      m.throttled += signals.totals.throttled;
      m.retryAfter += signals.totals.retryAfterSeconds;
      byId.set(s.id, m);
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
    }
    return [...byId.values()];
  });
  new Gauge({
    name: 'botpulse_bot_signal_alert',
    help: 'A bot signal alert firing (1) or not (0), per monitor and signal: webhook (Telegram cannot deliver), update_lag (updates wait too long), throttled (sustained 429s).',
    labelNames: ['bot', 'monitor', 'signal'],
    registers: [register],
    async collect() {
      this.reset();
      for (const m of await merged()) for (const signal of SIGNAL_NAMES) this.set({ bot: m.bot, monitor: m.monitor, signal }, m.firing[signal]);
    },
  });
  new Gauge({
    name: 'botpulse_bot_webhook_pending_updates',
    help: "Updates Telegram holds for a webhook bot (getWebhookInfo.pending_update_count, as the bot's SDK last asked).",
    labelNames: ['bot', 'monitor'],
    registers: [register],
    async collect() {
      this.reset();
      for (const m of await merged()) if (m.pending !== null) this.set({ bot: m.bot, monitor: m.monitor }, m.pending);
    },
  });
  new Gauge({
    name: 'botpulse_bot_update_lag_seconds',
    help: "Age of updates when the bot began handling them, in the bot's last reported minute: p50, p95, max.",
    labelNames: ['bot', 'monitor', 'stat'],
    registers: [register],
    async collect() {
      this.reset();
      for (const m of await merged()) {
        if (!m.lag) continue;
        for (const stat of ['p50', 'p95', 'max'] as const) this.set({ bot: m.bot, monitor: m.monitor, stat }, m.lag[stat]);
      }
    },
  });
  mirroredCounter(register, {
    name: 'botpulse_bot_telegram_throttled_total',
    help: "Bot API calls Telegram answered 429 Too Many Requests, as the bot's SDK reported them (per minute, each minute counted once).",
    labelNames: ['bot', 'monitor'],
    read: async () => (await merged()).map((m) => [{ bot: m.bot, monitor: m.monitor }, m.throttled]),
  });
  mirroredCounter(register, {
    name: 'botpulse_bot_telegram_retry_after_seconds_total',
    help: 'Sum of the retry_after seconds of those 429 answers.',
    labelNames: ['bot', 'monitor'],
    read: async () => (await merged()).map((m) => [{ bot: m.bot, monitor: m.monitor }, m.retryAfter]),
  });
  mirroredCounter(register, {
    name: 'botpulse_bot_signal_parts_ignored_total',
    help: "Parts of check-ins' bot signals that could not be read and were left out (the check-ins themselves were applied).",
    read: () => monitoring.service.stats.signalPartsIgnored,
  });
  mirroredCounter(register, {
    name: 'botpulse_checkin_config_parts_ignored_total',
    help: "Parts of check-ins' monitor_config that could not be read (an unknown interval unit, a margin that is no number) and were left out; the rest was applied.",
    read: () => monitoring.service.stats.configPartsIgnored,
  });
}

/** The main thread's PostgreSQL pool (the digest thread holds a small pool of its own besides). */
function registerPoolGauges(register: Registry, figures: () => DatabasePoolFigures): void {
  new Gauge({ name: 'botpulse_database_pool_max_connections', help: 'Connections the main thread\'s PostgreSQL pool may open (BOTPULSE_DATABASE_POOL_MAX).', registers: [register], collect() {
    this.set(figures().max);
  } });
  new Gauge({ name: 'botpulse_database_pool_connections', help: 'Open connections of the main thread\'s PostgreSQL pool, by state (busy: lent to a query or transaction).', labelNames: ['state'], registers: [register], collect() {
    const f = figures();
    this.set({ state: 'idle' }, f.idle);
    this.set({ state: 'busy' }, f.total - f.idle);
  } });
  new Gauge({ name: 'botpulse_database_pool_waiting_queries', help: 'Queries waiting for a free connection of the main thread\'s PostgreSQL pool.', registers: [register], collect() {
    this.set(figures().waiting);
  } });
}

/** botpulse_github_*: calls by outcome, issues created or found again, webhooks by outcome, links disabled. */
function githubMetrics(register: Registry, stats: GithubStats): void {
  const byResult = (name: string, help: string, map: Map<string, number>) =>
    mirroredCounter(register, { name, help, labelNames: ['result'], read: () => [...map].map(([result, n]) => [{ result }, n]) });
  byResult('botpulse_github_calls_total', 'GitHub queue jobs worked, by outcome: ok, rate_limited, permanent, invalid, transient.', stats.calls);
  byResult('botpulse_github_webhooks_total', 'GitHub webhook deliveries, by outcome: applied, ignored, bad_signature, no_secret, invalid.', stats.webhooks);
  mirroredCounter(register, { name: 'botpulse_github_issues_created_total', help: 'GitHub issues created for Botpulse issues.', read: () => stats.created });
  mirroredCounter(register, { name: 'botpulse_github_issues_found_total', help: 'GitHub issues an earlier try had created (its answer lost), found by their marker and linked instead of creating another.', read: () => stats.found });
  mirroredCounter(register, { name: 'botpulse_github_links_disabled_total', help: 'Times a project\'s GitHub link was disabled by a permanent error (bad token, repository gone).', read: () => stats.disabled });
}

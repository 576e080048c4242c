import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { createAlerting, type Alerting, type AlertingOptions } from './alerts/alerting.js';
import { alertRoutes } from './alerts/routes.js';
import type { Config } from './config/load.js';
import { DigestWorker } from './digest/worker.js';
import { createGithub, type GithubOptions, type GithubService } from './github/index.js';
import { githubRoutes, githubWebhookRoute } from './github/routes.js';
import { createScrubber } from './digest/scrub.js';
import { digestStatusLines } from './alerts/digest-status.js';
import { buildApp } from './http/app.js';
import { IngestStats } from './http/stats.js';
import { ProjectCache } from './http/project-cache.js';
import { ProjectDeleter } from './http/project-deleter.js';
import { BodyBudget } from './ingest/body-budget.js';
import { Spool } from './ingest/spool.js';
import { LogRuleEvaluator } from './logs/evaluator.js';
import { logRoutes } from './http/log-routes.js';
import { LogLineWorker } from './logs/line-worker.js';
import { forbiddenMatches, logStatusLines, logThreadStatusLines } from './logs/status.js';
import { createMetrics, metricsRoute } from './metrics/registry.js';
import { createMonitoring, type Monitoring, type MonitoringOptions } from './monitors/monitoring.js';
import { editSettings, presentMonitor, setPaused } from './monitors/routes.js';
import { toNewMonitor } from './monitors/definition.js';
import { monitorStatusLines } from './monitors/status.js';
import { RetentionJob } from './retention.js';
import type { LogStore } from './store/logs.js';
import { SqliteStore } from './store/sqlite/index.js';
import type { Store } from './store/store.js';
import { eventLoopBusy } from './lib/loop-busy.js';
import { alertStoreFor, databasePoolOf, githubStoreFor, isSharedStore, logStoreFor, monitorStoreFor, openStore, spoolFlushesFor, spoolGatherMsFor, upstreamStoreFor } from './stores.js';
import { escapeHtml } from './alerts/channels/telegram/format.js';
import { UpstreamWorker } from './upstream/worker.js';
import { upstreamRoutes } from './upstream/routes.js';
import { refuseSelfUpstream } from './upstream/self-check.js';
import { upstreamStatusLines } from './upstream/status.js';
import { dashboard } from './web/plugin.js';

/**
 * A second spool flush starts beside one in flight only while the main thread's event loop was
 * busy less than this share of the last 100 ms (ingest/spool.ts mayOverlap).
 */
const SPOOL_OVERLAP_MAX_UTILIZATION = 0.8;
const notBusy = (busy: () => boolean) => () => !busy();

/** A running Botpulse: every part wired together. The only place that picks concrete parts. */
export interface Botpulse {
  config: Readonly<Config>;
  store: Store;
  app: FastifyInstance;
  spool: Spool;
  digest: DigestWorker;
  logger: Logger;
  /** Alert rules, outbox sender and the alert bot (docs/alerts.md); started by listen(). */
  alerting: Alerting;
  /** Removes deleted projects' data in the background. */
  deleter: ProjectDeleter;
  /** Heartbeats, uptime probes, thresholds (docs/monitors.md); started by listen(). */
  monitoring: Monitoring;
  /** Log lines and the state of the log rules (docs/logs.md). */
  logs: LogStore;
  /** The log rules (forbidden, rate-limited, error rate); started by listen(). */
  logRules: LogRuleEvaluator;
  /** The log-line thread's handle: parse, scrub and templates off the main thread (docs/logs.md "Threads"). */
  logLines: LogLineWorker;
  /** Forwarding to the upstream Sentry (docs/upstream.md); started by listen() when a DSN is set. */
  upstream: UpstreamWorker;
  /** GitHub issues in step with Botpulse issues (docs/github.md); its queue starts with listen(). */
  github: GithubService;
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<string>;
  /** Stops accepting, finishes in-flight requests and the current digest batch, closes the store. */
  close(): Promise<void>;
}

/** How often a process sharing its database looks for spool rows other processes left. */
const SHARED_SPOOL_SWEEP_MS = 2000;

export interface CreateOptions {
  logger?: Logger;
  alerting?: AlertingOptions;
  monitoring?: MonitoringOptions;
  /** The log rules' clock (recoveries of rate rules); tests compress time with it. */
  logs?: { clock?: { now(): number } };
  github?: GithubOptions;
}

// The stores are named in stores.ts (used by the digest thread's entry too); the domains
// (digest, alerts, monitors, web, CLI) receive the interfaces.
export { alertStoreFor, logStoreFor, monitorStoreFor, openStore } from './stores.js';

export async function createBotpulse(config: Readonly<Config>, options: CreateOptions = {}): Promise<Botpulse> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'botpulse' } });
  // WAL checkpoints run on the digest thread's connection, not on the thread answering HTTP.
  const store = await openStore(config, {
    checkpoints: false,
    onIdleError: (err) => logger.warn({ err }, 'an idle PostgreSQL connection failed; the pool opens a new one on the next query'),
  });
  // What assemble() has started (its threads, the metrics' histogram), so that a step failing after
  // them closes them: a thread holds the process open (the digest thread its own database
  // connection too) behind a start that failed.
  const started: { close(): Promise<void> }[] = [];
  try {
    return await assemble(config, options, logger, store, started);
  } catch (err) {
    // The caller hears the start's own failure (a digest thread that could not start, an embedder's
    // logger Fastify refuses, say); what was opened is closed behind it, the last opened first.
    for (const part of started.reverse()) {
      await part.close().catch((closeErr: unknown) => logger.error({ err: closeErr }, 'closing a started part after a failed start failed too'));
    }
    await store.close().catch((closeErr: unknown) => logger.error({ err: closeErr }, 'closing the store after a failed start failed too'));
    throw err;
  }
}

/** Everything around an open store: the threads, the HTTP app and the domains, not listening yet. */
async function assemble(config: Readonly<Config>, options: CreateOptions, logger: Logger, store: Store, started: { close(): Promise<void> }[]): Promise<Botpulse> {
  if (store instanceof SqliteStore && store.tightened.length > 0) {
    logger.warn({ tightened: store.tightened }, 'data files were readable by other users; made them private (directory 0700, files 0600)');
  }
  const logs = logStoreFor(store);
  const spool = new Spool(store, config.backlogLimit, spoolGatherMsFor(store), spoolFlushesFor(store, config.spoolFlushes), notBusy(eventLoopBusy(SPOOL_OVERLAP_MAX_UTILIZATION)));
  await spool.init();
  const stats = new IngestStats(new BodyBudget(config.limits.maxBodyBytesInFlight));
  // /status asks the digest, the log-line thread and the monitors (created after alerting, which they send through) for their summary.
  let monitoring: Monitoring | null = null;
  let digestHandle: DigestWorker | null = null;
  let lineWorkerHandle: LogLineWorker | null = null;
  const logClock = options.logs?.clock ?? { now: () => Date.now() };
  const upstreamStore = upstreamStoreFor(store);
  // The forwarder runs on a thread of its own (upstream-thread.ts), like the digest.
  const forwarder = new UpstreamWorker(
    {
      upstream: config.upstream,
      publicUrl: config.publicUrl,
      databaseFile: config.databaseFile,
      ...(config.database.kind === 'postgres' ? { postgres: { url: config.database.url.reveal(), statementTimeoutMs: config.database.statementTimeoutMs } } : {}),
      logLevel: config.logLevel,
    },
    new URL(import.meta.url.endsWith('.ts') ? './upstream-thread.ts' : './upstream-thread.js', import.meta.url),
    { upstream: upstreamStore, store },
    logger.child({ component: 'upstream' }),
  );
  const github = createGithub(config, store, githubStoreFor(store), logger, options.github);
  const statusExtras = async () => [
    ...(await github.statusLines()),
    ...(digestHandle ? await digestStatusLines(digestHandle.health(), store, Date.now()) : []),
    ...upstreamStatusLines(forwarder.snapshot(), Date.now()).map(escapeHtml),
    ...(monitoring ? await monitorStatusLines(store, monitoring.store, monitoring.service.clock.now(), config.monitors.uptimeTargetPercent) : []),
    ...(await logStatusLines(logs, async (id) => (await store.getProject(String(id)))?.slug ?? String(id), logClock.now())),
    ...(lineWorkerHandle ? logThreadStatusLines(lineWorkerHandle.health()) : []),
  ];
  const alerting = createAlerting(config, store, alertStoreFor(store), logger, {
    statusExtras,
    tracker: { offers: (projectId) => github.offers(projectId), create: async (issue, by) => (await github.requestCreate(issue, by)).link },
    logMatches: (projectId, pattern) => forbiddenMatches(logs, projectId, pattern),
    ...options.alerting,
  });
  const digest = await DigestWorker.start(config, spool, {
    // The thread's entry picks its store in stores.ts too (.ts when the tests run the source).
    threadEntry: new URL(import.meta.url.endsWith('.ts') ? './digest-thread.ts' : './digest-thread.js', import.meta.url),
    onChanged: () => alerting.changesDigested(),
    logger,
  });
  digestHandle = digest;
  started.push(digest);
  const projects = new ProjectCache(store);
  const deleter = new ProjectDeleter(store, logger, () => projects.forget());
  monitoring = createMonitoring(config, store, monitorStoreFor(store), alerting, logger, options.monitoring);
  const monitorService = monitoring.service;
  const logRules = new LogRuleEvaluator({
    logs,
    store,
    config: config.logs,
    // Forbidden lines become events: into the spool like any event, then the digest makes their issue.
    spoolEvents: async (items) => {
      await spool.append(items);
      digest.kick();
    },
    lease: (holder, now, ttlMs) => alerting.alerts.lease('logs:rules', holder, now, ttlMs),
    notify: () => void monitorService.notifier.deliverDue().catch((err: unknown) => logger.warn({ err }, 'log rule notifications not forwarded yet; the monitors\' next tick forwards them')),
    clock: logClock,
    logger,
    workerId: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
  });
  // Parsing, scrubbing and templates run on a thread of their own (docs/logs.md "Threads"); it owns the miners.
  const lineWorker = await LogLineWorker.start({
    entry: new URL(import.meta.url.endsWith('.ts') ? './log-line-thread.ts' : './log-line-thread.js', import.meta.url),
    data: { scrub: { extraKeys: config.scrub.extraKeys, extraPatterns: config.scrub.extraPatterns.map((p) => p.source) }, logLevel: config.logLevel },
    load: (projectId, limit) => logs.templates({ projectId, since: logClock.now() - 86_400_000, limit }),
    now: () => logClock.now(),
    logger: logger.child({ component: 'log-lines' }),
  });
  lineWorkerHandle = lineWorker;
  started.push(lineWorker);
  const app = buildApp({
    config,
    scrubber: createScrubber(config.scrub),
    store,
    spool,
    stats,
    logger,
    findProject: projects.find,
    deleter,
    onProjectsChanged: () => projects.forget(),
    onSpooled: () => digest.kick(),
    checkIns: monitoring.service,
    logs: {
      limits: config.logs.limits,
      parse: (body, ctx) => lineWorker.parse(body, ctx),
      append: async (lines) => {
        await logRules.waitForRules(lines[0]?.projectId);
        // NDJSON lines come templated from the thread; Sentry `log` items' lines get theirs there now.
        if (lines.some((l) => l.template === undefined)) await lineWorker.assignOrLeaveUntemplated(lines);
        const stored = await logs.appendLines(lines);
        logRules.handOver(stored.stored);
        logRules.kick();
        return { accepted: stored.accepted, duplicates: stored.duplicates };
      },
    },
    health: () => ({ backlog: spool.backlog, digested: digest.digestedTotal, accepted: stats.acceptedByKind }),
  });
  app.register(dashboard, {
    config,
    store,
    github,
    deleter,
    onProjectsChanged: () => projects.forget(),
    alerting: { rules: alerting.rules, alerts: alerting.alerts },
    upstreamLines: () => upstreamStatusLines(forwarder.snapshot(), Date.now()),
    monitors: {
      store: monitoring.store,
      alerts: alerting.alerts,
      present: (m, states) => presentMonitor(m, { lockView: monitoring.lockView, monitors: monitoring.service }, states),
      edit: async (m, patch) => void (await editSettings(monitoring.service, m, patch)),
      create: async (projectId, definition) => {
        const created = await monitoring.store.createMonitor(toNewMonitor(definition, projectId, config.monitors, 'api'), monitoring.service.clock.now());
        monitoring.service.kick();
        return created;
      },
      setPaused: (m, paused) => setPaused(monitoring.service, m.id, paused),
      remove: (m) => monitoring.store.deleteMonitor(m.id),
      now: () => monitoring.service.clock.now(),
    },
    logs,
    logsNow: () => logClock.now(),
    logRules,
  });
  app.register(alertRoutes, { prefix: '/api/v1', store, alerting });
  app.register(githubRoutes, { prefix: '/api/v1', store, github });
  app.register(githubWebhookRoute, { github });
  monitoring.register(app, projects.find);
  app.register(logRoutes, { prefix: '/api/v1', store, logs, evaluator: logRules, now: () => logClock.now() });
  app.register(upstreamRoutes, { prefix: '/api/v1', store, upstream: upstreamStore, forwarder });
  const metrics = createMetrics({ config, alerting, github: github.stats, stats, digest, spool, monitoring, store, databasePool: databasePoolOf(store), logger, logLines: () => lineWorker.health(), ...(config.upstream.dsn ? { upstream: () => forwarder.snapshot() } : {}) });
  started.push({ close: async () => metrics.close() }); // its event-loop delay histogram
  metricsRoute(app, metrics, config);
  const retention = new RetentionJob(store, config, logger, monitoring.store, logs);
  digest.kick(); // a backlog left by a crash is digested at once
  // On a shared database another process may die with rows it answered 200 still in the spool:
  // look every few seconds, not only when this process spools something.
  const sweep = isSharedStore(store) ? setInterval(() => digest.sweepShared(), SHARED_SPOOL_SWEEP_MS) : null;
  sweep?.unref();

  const running: Botpulse = {
    config,
    store,
    app,
    spool,
    digest,
    logger,
    alerting,
    monitoring,
    github,
    deleter,
    logs,
    logRules,
    logLines: lineWorker,
    upstream: forwarder,
    async listen() {
      // Either everything runs or nothing does: a start that fails half-way (an undeclared project
      // in BOTPULSE_MONITORS, a port in use...) closes the threads, timers and store it had opened,
      // so an embedding process is not kept alive by a server that never served.
      try {
        await monitoring.applyDeclared();
        await forwarder.prepare();
        const address = await app.listen({ host: config.host, port: config.port });
        await refuseUpstreamToSelf(config, store, Number(new URL(address).port));
        forwarder.start();
        retention.start();
        alerting.start();
        await monitoring.start();
        github.worker.start();
        await deleter.resumeAll(); // a deletion a restart cut short carries on
        logRules.start();
        return address;
      } catch (err) {
        await running.close().catch((closeErr: unknown) => logger.error({ err: closeErr }, 'closing after a failed start failed too'));
        throw err;
      }
    },
    async close() {
      if (sweep) clearInterval(sweep);
      retention.stop();
      deleter.stop();
      metrics.close();
      await app.close();
      await lineWorker.close();
      await logRules.stop();
      await digest.close();
      await forwarder.stop();
      await monitoring.stop();
      await github.worker.stop();
      await alerting.stop();
      await store.close();
    },
  };
  return running;
}

/** An upstream that is this very server is refused at start (docs/upstream.md). */
async function refuseUpstreamToSelf(config: Readonly<Config>, store: Store, boundPort: number): Promise<void> {
  const { dsn, dsnSource } = config.upstream;
  if (!dsn) return;
  refuseSelfUpstream(dsn, { publicUrl: config.publicUrl, host: config.host, port: boundPort || config.port }, await store.listProjects(), dsnSource ?? 'BOTPULSE_UPSTREAM_DSN');
}



import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { createAlerting, type Alerting, type AlertingOptions } from './alerts/alerting.js';
import { alertRoutes } from './alerts/routes.js';
import type { Config } from './config/load.js';
import { DigestWorker } from './digest/worker.js';
import { createScrubber } from './digest/scrub.js';
import { digestStatusLines } from './alerts/digest-status.js';
import { buildApp } from './http/app.js';
import { IngestStats } from './http/stats.js';
import { ProjectCache } from './http/project-cache.js';
import { ProjectDeleter } from './http/project-deleter.js';
import { BodyBudget } from './ingest/body-budget.js';
import { Spool } from './ingest/spool.js';
import { createMetrics, metricsRoute } from './metrics/registry.js';
import { createMonitoring, type Monitoring, type MonitoringOptions } from './monitors/monitoring.js';
import { editSettings, presentMonitor, setPaused } from './monitors/routes.js';
import { toNewMonitor } from './monitors/definition.js';
import { monitorStatusLines } from './monitors/status.js';
import { RetentionJob } from './retention.js';
import type { Project } from './store/model.js';
import { SqliteStore } from './store/sqlite/index.js';
import type { Store } from './store/store.js';
import { alertStoreFor, databasePoolOf, isSharedStore, monitorStoreFor, openStore } from './stores.js';
import { dashboard } from './web/plugin.js';

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
}

// The stores are named in stores.ts (used by the digest thread's entry too); the domains
// (digest, alerts, monitors, web, CLI) receive the interfaces.
export { alertStoreFor, monitorStoreFor, openStore } from './stores.js';

export async function createBotpulse(config: Readonly<Config>, options: CreateOptions = {}): Promise<Botpulse> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'botpulse' } });
  // WAL checkpoints run on the digest thread's connection, not on the thread answering HTTP.
  const store = await openStore(config, {
    checkpoints: false,
    onIdleError: (err) => logger.warn({ err }, 'an idle PostgreSQL connection failed; the pool opens a new one on the next query'),
  });
  if (store instanceof SqliteStore && store.tightened.length > 0) {
    logger.warn({ tightened: store.tightened }, 'data files were readable by other users; made them private (directory 0700, files 0600)');
  }
  const spool = new Spool(store, config.backlogLimit);
  await spool.init();
  const stats = new IngestStats(new BodyBudget(config.limits.maxBodyBytesInFlight));
  // /status asks the digest and the monitors (created after alerting, which they send through) for their summary.
  let monitoring: Monitoring | null = null;
  let digestHandle: DigestWorker | null = null;
  const statusExtras = async () => [
    ...(digestHandle ? await digestStatusLines(digestHandle.health(), store, Date.now()) : []),
    ...(monitoring ? await monitorStatusLines(store, monitoring.store, monitoring.service.clock.now(), config.monitors.uptimeTargetPercent) : []),
  ];
  const alerting = createAlerting(config, store, alertStoreFor(store), logger, { statusExtras, ...options.alerting });
  const digest = await DigestWorker.start(config, spool, {
    // The thread's entry picks its store in stores.ts too (.ts when the tests run the source).
    threadEntry: new URL(import.meta.url.endsWith('.ts') ? './digest-thread.ts' : './digest-thread.js', import.meta.url),
    onChanged: () => alerting.changesDigested(),
    logger,
  });
  digestHandle = digest;
  const projects = new ProjectCache(store);
  const deleter = new ProjectDeleter(store, logger, () => projects.forget());
  monitoring = createMonitoring(config, store, monitorStoreFor(store), alerting, logger, options.monitoring);
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
    health: () => ({ backlog: spool.backlog, digested: digest.digestedTotal, accepted: stats.acceptedByKind }),
  });
  app.register(dashboard, {
    config,
    store,
    deleter,
    onProjectsChanged: () => projects.forget(),
    alerting: { rules: alerting.rules, alerts: alerting.alerts },
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
  });
  app.register(alertRoutes, { prefix: '/api/v1', store, alerting });
  monitoring.register(app, projects.find);
  const metrics = createMetrics({ config, alerting, stats, digest, spool, monitoring, store, databasePool: databasePoolOf(store), logger });
  metricsRoute(app, metrics, config);
  const retention = new RetentionJob(store, config, logger, monitoring.store);
  digest.kick(); // a backlog left by a crash is digested at once
  // On a shared database another process may die with rows it answered 200 still in the spool:
  // look every few seconds, not only when this process spools something.
  const sweep = isSharedStore(store) ? setInterval(() => digest.sweepShared(), SHARED_SPOOL_SWEEP_MS) : null;
  sweep?.unref();

  return {
    config,
    store,
    app,
    spool,
    digest,
    logger,
    alerting,
    monitoring,
    deleter,
    async listen() {
      await monitoring.applyDeclared();
      const address = await app.listen({ host: config.host, port: config.port });
      retention.start();
      alerting.start();
      await monitoring.start();
      await deleter.resumeAll(); // a deletion a restart cut short carries on
      return address;
    },
    async close() {
      if (sweep) clearInterval(sweep);
      retention.stop();
      deleter.stop();
      metrics.close();
      await app.close();
      await digest.close();
      await monitoring.stop();
      await alerting.stop();
      await store.close();
    },
  };
}



import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Alerting } from '../alerts/alerting.js';
import type { MonitorStore } from '../store/monitors.js';
import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import { systemClock, type Clock } from './clock.js';
import type { MonitoringSettings } from './config.js';
import { applyDeclaredMonitors, type DeclaredResult } from './declared.js';
import { LockView } from './lock-view.js';
import { monitorApiRoutes, pingRoutes } from './routes.js';
import { Monitors } from './service.js';

/** Everything monitors, as main.ts wires it. */
export interface Monitoring {
  store: MonitorStore;
  service: Monitors;
  lockView: LockView;
  /** Adds the ping route and the /api/v1 monitor routes. */
  register(app: FastifyInstance, findProject: (id: string) => Promise<Project | null>): void;
  /** Makes the stored monitors match BOTPULSE_MONITORS (before the server listens: a bad file stops the start). */
  applyDeclared(): Promise<DeclaredResult>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface MonitoringOptions {
  /** Tests compress time with scaledClock/ManualClock. */
  clock?: Clock;
}

/** `store` and `monitorStore` are whatever main.ts picked (monitors never choose a database themselves). */
export function createMonitoring(config: MonitoringSettings, store: Store, monitorStore: MonitorStore, alerting: Alerting, logger: Logger, options: MonitoringOptions = {}): Monitoring {
  const service = new Monitors({ config, store, monitors: monitorStore, alerting, logger: logger.child({ part: 'monitors' }), clock: options.clock ?? systemClock });
  const lockView = new LockView(config.monitors.redisUrl);
  return {
    store: monitorStore,
    service,
    lockView,
    register(app, findProject) {
      const deps = { store, monitors: service, lockView, findProject };
      app.register(pingRoutes, deps);
      app.register(monitorApiRoutes, { prefix: '/api/v1', ...deps });
    },
    applyDeclared: () => applyDeclaredMonitors({ store, monitors: monitorStore, config: config.monitors, logger: service.deps.logger }, service.clock.now()),
    start: () => service.start(),
    async stop() {
      await service.stop();
      lockView.close();
    },
  };
}

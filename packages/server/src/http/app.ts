import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Spool } from '../ingest/spool.js';
import { ClientError, databaseUnavailable, isDatabaseUnavailable } from '../lib/errors.js';
import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import { apiRoutes, type ApiDeps } from './api-routes.js';
import { ingestRoutes, type IngestDeps } from './ingest-routes.js';
import type { IngestStats } from './stats.js';

export interface AppDeps {
  config: IngestDeps['config'] & ApiDeps['config'];
  scrubber: IngestDeps['scrubber'];
  store: Store;
  spool: Spool;
  stats: IngestStats;
  logger: Logger;
  findProject: (id: string) => Promise<Project | null>;
  onSpooled: () => void;
  /** The monitors' screening of check-ins before the 200 (absent: every check-in is parked). */
  checkIns?: IngestDeps['checkIns'];
  /** Where log lines go (Sentry `log` items, the NDJSON endpoint). */
  logs: IngestDeps['logs'];
  health: () => Record<string, unknown>;
  /** Removes deleted projects' data in the background (management routes). */
  deleter: ApiDeps['deleter'];
  /** Told after a project's key or state changed (ingestion's project cache forgets). */
  onProjectsChanged: () => void;
}

const routesByApp = new WeakMap<FastifyInstance, { method: string; url: string; role: string | undefined }[]>();

/** Every route registered on the app (after `ready`): the access test walks the mutating ones. */
export function registeredRoutes(app: FastifyInstance): { method: string; url: string; role: string | undefined }[] {
  return routesByApp.get(app) ?? [];
}

/**
 * Builds the HTTP app (ingestion, /api/v1) without listening, so tests can drive it with
 * `app.inject`. The parts above http (dashboard, alert and monitor routes) are registered on it by main.ts.
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request logs at ingest rates would drown everything else, and URLs carry DSN keys.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: 1024 * 1024,
  });
  const routes: { method: string; url: string; role: string | undefined }[] = [];
  routesByApp.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, role: route.config?.role });
  });

  app.setErrorHandler((err: FastifyError | ClientError, req, reply) => {
    if (err instanceof ClientError) {
      return reply.code(err.status).headers(err.headers).send({ error: err.message });
    }
    if (isDatabaseUnavailable(err)) {
      req.log.warn({ url: req.routeOptions.url, error: err.message }, 'the database is unreachable; answered 503');
      const unavailable = databaseUnavailable();
      return reply.code(unavailable.status).headers(unavailable.headers).send({ error: unavailable.message });
    }
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.code(status).send({ error: err.message });
    }
    req.log.error({ err, url: req.routeOptions.url }, 'request failed');
    return reply.code(500).send({ error: 'internal error; see the Botpulse log' });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));

  app.get('/health', async () => ({ status: 'ok', ...deps.health() }));
  app.register(ingestRoutes, deps);
  app.register(apiRoutes, { prefix: '/api/v1', config: deps.config, store: deps.store, deleter: deps.deleter, onProjectsChanged: deps.onProjectsChanged });
  return app;
}

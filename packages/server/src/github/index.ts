import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { GithubStore } from '../store/github.js';
import type { Store } from '../store/store.js';
import type { GithubConfig } from './config.js';
import { GithubService } from './service.js';
import { GithubStats } from './stats.js';
import { GithubWorker } from './worker.js';

export interface GithubOptions {
  now?: () => number;
  /** Pause between queue turns with nothing due (tests shorten it). */
  idleMs?: number;
}

/** The GitHub integration (docs/github.md): its queue worker and the service the API, dashboard, CLI and bot use. */
export function createGithub(
  settings: { readonly github: GithubConfig; readonly publicUrl: string },
  store: Store,
  github: GithubStore,
  logger: Logger,
  options: GithubOptions = {},
): GithubService {
  const stats = new GithubStats();
  const log = logger.child({ component: 'github' });
  const workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const worker = new GithubWorker({
    store,
    github,
    config: settings.github,
    publicUrl: settings.publicUrl,
    logger: log,
    stats,
    workerId,
    ...(options.now ? { now: options.now } : {}),
    ...(options.idleMs ? { idleMs: options.idleMs } : {}),
  });
  return new GithubService({ store, github, config: settings.github, stats, logger: log, worker, ...(options.now ? { now: options.now } : {}) });
}

export { GithubService } from './service.js';
export { GithubStats } from './stats.js';

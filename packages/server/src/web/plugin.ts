import type { GithubService } from '../github/service.js';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ClientError } from '../lib/errors.js';
import type { LogStore } from '../store/logs.js';
import type { Store } from '../store/store.js';
import { DEFAULT_LOCKOUT, LoginLockout, type LockoutOptions } from './auth/lockout.js';
import { sameToken, SESSION_COOKIE, Sessions } from './auth/sessions.js';
import { attachSession, pageContext, sendHtml, type DashboardAlerting, type DashboardLogRules, type DashboardMonitors, type WebDeps, type WebSettings } from './context.js';
import { loginRoutes, logoutRoutes } from './routes/auth.js';
import { releaseRoutes } from './routes/releases.js';
import { logRoutes } from './routes/logs.js';
import { logTemplateRoutes } from './routes/log-templates.js';
import { issueRoutes } from './routes/issues.js';
import { monitorRoutes } from './routes/monitors.js';
import { projectRoutes } from './routes/projects.js';
import { userRoutes } from './routes/users.js';
import { alertRuleRoutes } from './routes/alert-rules.js';
import { roleNeeded } from '../http/api-access.js';
import type { ProjectDeleter } from '../http/project-deleter.js';
import { roleAtLeast } from '../store/model.js';
import { staticRoutes } from './routes/static.js';
import { errorPage } from './views/login.js';
import { reportFailure } from '../lib/failures.js';

export interface DashboardOptions {
  config: WebSettings;
  store: Store;
  lockout?: Partial<LockoutOptions>;
  now?: () => number;
  monitors?: DashboardMonitors;
  github?: GithubService;
  deleter?: ProjectDeleter;
  onProjectsChanged?: () => void;
  alerting?: DashboardAlerting;
  logs?: LogStore;
  /** The logs' clock (tests compress it): the templates page's rate window. */
  logsNow?: () => number;
  logRules?: DashboardLogRules;
  /** Lines about forwarding to the upstream Sentry, shown on the issue list while it fails. */
  upstreamLines?: () => string[];
}

/**
 * Scripts only from this origin (no inline script at all), nothing framed, forms only to us.
 * Inline styles stay allowed: uPlot sizes its canvas with them.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/**
 * The server-rendered dashboard. Encapsulated: its cookie and form parsers, hooks and error pages
 * apply to its own routes only, never to ingestion or the JSON API.
 */
export async function dashboard(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 256 * 1024 });
  const now = opts.now ?? Date.now;
  const deps: WebDeps = {
    config: opts.config,
    store: opts.store,
    sessions: new Sessions(opts.store, now),
    lockout: new LoginLockout(opts.store, { ...DEFAULT_LOCKOUT, ...opts.lockout }, now),
    assets: staticRoutes(app),
    now,
    ...(opts.monitors ? { monitors: opts.monitors } : {}),
    ...(opts.github ? { github: opts.github } : {}),
    ...(opts.deleter ? { deleter: opts.deleter } : {}),
    ...(opts.alerting ? { alerting: opts.alerting } : {}),
    onProjectsChanged: opts.onProjectsChanged ?? (() => undefined),
    ...(opts.logs ? { logs: opts.logs } : {}),
    ...(opts.logsNow ? { logsNow: opts.logsNow } : {}),
    ...(opts.logRules ? { logRules: opts.logRules } : {}),
    ...(opts.upstreamLines ? { upstreamLines: opts.upstreamLines } : {}),
  };

  app.addHook('onSend', async (_req, reply) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header('content-security-policy', CSP);
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'same-origin');
      reply.header('cache-control', 'no-store');
    }
    reply.header('x-content-type-options', 'nosniff');
  });
  app.setErrorHandler((err: FastifyError | ClientError, req, reply) => renderError(deps, err, req, reply));

  loginRoutes(app, deps);
  await app.register(async (authed) => {
    authed.addHook('preHandler', (req, reply) => requireSession(deps, req, reply));
    authed.get('/', async (_req, reply) => reply.redirect('/issues'));
    logoutRoutes(authed, deps);
    issueRoutes(authed, deps);
    releaseRoutes(authed, deps);
    logRoutes(authed, deps);
    logTemplateRoutes(authed, deps);
    projectRoutes(authed, deps);
    monitorRoutes(authed, deps);
    userRoutes(authed, deps);
    alertRuleRoutes(authed, deps);
  });
  pruneSessionsDaily(app, deps);
}

/**
 * Every authenticated route: a live session of a user who still exists, else the login page; on
 * any state-changing request the session's synchronizer token, else 403; and the role the route
 * needs (`config.role`, default member: a viewer changes nothing), else 403. Checked here, once,
 * so no mutating route can forget it.
 */
async function requireSession(deps: WebDeps, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const session = await deps.sessions.resume(req.cookies[SESSION_COOKIE]);
  const user = session ? await deps.store.getUser(session.login) : null;
  if (!session || !user) {
    if (session) await deps.sessions.destroy(session); // the user was removed
    const target = `/login?next=${encodeURIComponent(req.url)}`;
    if (req.headers['hx-request']) return reply.header('hx-redirect', target).code(401).send();
    return reply.redirect(target, req.method === 'GET' || req.method === 'HEAD' ? 302 : 303);
  }
  attachSession(req, session, user.role);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const sent = (req.body as { _csrf?: unknown } | undefined)?._csrf ?? req.headers['x-csrf-token'];
    if (!sameToken(typeof sent === 'string' ? sent : undefined, session.csrfToken)) {
      return sendHtml(reply, errorPage(pageContext(deps, req), 403, 'This form is missing its security token or it expired. Go back, reload the page and try again.', true), 403);
    }
  }
  const needed = roleNeeded(req);
  if (needed && !roleAtLeast(user.role, needed)) {
    const what = needed === 'admin' ? 'an admin' : 'a member or an admin';
    return sendHtml(reply, errorPage(pageContext(deps, req), 403, `Your role (${user.role}) cannot make this change: it needs ${what}. Ask an admin.`, true), 403);
  }
  return undefined;
}

function renderError(deps: WebDeps, err: FastifyError | ClientError, req: FastifyRequest, reply: FastifyReply) {
  const status = err instanceof ClientError ? err.status : (err as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) {
    return sendHtml(reply, errorPage(pageContext(deps, req), status, err.message, true), status);
  }
  req.log.error({ err, url: req.routeOptions.url }, 'dashboard request failed');
  return sendHtml(reply, errorPage(pageContext(deps, req), 500, 'The server failed to render this page; the Botpulse log has the details.', true), 500);
}

function pruneSessionsDaily(app: FastifyInstance, deps: WebDeps): void {
  const prune = () =>
    Promise.all([deps.sessions.pruneExpired(), deps.lockout.pruneExpired()]).catch((err: unknown) =>
      reportFailure(app.log, 'session_prune', err, 'could not prune expired sessions and login attempts; will retry tomorrow', {}, 'warn'),
    );
  const timer = setInterval(prune, 24 * 3600_000);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
  app.addHook('onReady', async () => void prune());
}

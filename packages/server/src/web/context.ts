import type { GithubService } from '../github/service.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { safeRedirectPath } from '../lib/safe-redirect.js';
import type { MonitorDefinition, MonitorPatch } from '../monitors/definition.js';
import type { PresentedMonitor } from '../monitors/routes.js';
import type { AlertStore } from '../store/alerts.js';
import type { RulesResolver } from '../alerts/rules.js';
import type { ProjectDeleter } from '../http/project-deleter.js';
import type { Role } from '../store/model.js';
import type { LogStore } from '../store/logs.js';
import type { LogConfig, LogRulesSpec } from '../logs/config.js';
import type { Monitor, MonitorStore } from '../store/monitors.js';
import type { Store, WebSession } from '../store/store.js';
import type { LoginLockout } from './auth/lockout.js';
import type { Sessions } from './auth/sessions.js';
import type { Html } from './html.js';
import type { PageContext } from './views/layout.js';
import type { StaticUrls } from './routes/static.js';

/** The settings the dashboard reads (a slice of config/load.ts Config). */
export interface WebSettings {
  /** The base of DSNs and links; an https one makes the session cookie Secure. */
  readonly publicUrl: string;
  readonly monitors: { readonly checkInMonitorLimit: number };
  /** After a DSN key rotation, how long the old key is still accepted (ms). */
  readonly dsnKeyGraceMs: number;
}

/** What every dashboard route needs. */
export interface WebDeps {
  config: WebSettings;
  store: Store;
  sessions: Sessions;
  lockout: LoginLockout;
  assets: StaticUrls;
  now: () => number;
  /** The monitors page's data (absent: the page says monitors are not running). */
  monitors?: DashboardMonitors;
  /** GitHub issues for Botpulse issues (absent: no buttons, no links state). */
  github?: GithubService;
  /** Removes deleted projects' data in the background (absent: deleting is not offered). */
  deleter?: ProjectDeleter;
  /** Told after a project's key or state changed (ingestion's cached projects are read again). */
  onProjectsChanged: () => void;
  /** Alert rules and silences (absent: the alert-rules page says alerting is not running). */
  alerting?: DashboardAlerting;
  /** The logs page's lines (absent: the page says logs are not kept). */
  logs?: LogStore;
  /** The logs' clock (the templates page's rate window); absent: the wall clock. */
  logsNow?: () => number;
  /** The log rules in force per project and their configuration (the rule editor; absent: no rules). */
  logRules?: DashboardLogRules;
  /** Lines about forwarding to the upstream Sentry when it is failing (upstream/status.ts); none while all is well. */
  upstreamLines?: () => string[];
}

/** What the Logs pages read of the log rule evaluator (logs/evaluator.ts). */
export interface DashboardLogRules {
  readonly config: LogConfig;
  /** Forgets a project's cached rules (they were edited). */
  forget(projectId: number): void;
  rulesFor(projectId: number): Promise<{ spec: LogRulesSpec } | null>;
}

/** What the alert-rules page reads and edits. */
export interface DashboardAlerting {
  rules: Pick<RulesResolver, 'forProject' | 'forget' | 'config'>;
  alerts: Pick<AlertStore, 'activeSilences' | 'addSilence' | 'removeSilence'>;
}

/** What the monitors page reads: the monitor and alert stores, the lock view, the monitors' clock. */
export interface DashboardMonitors {
  store: MonitorStore;
  alerts: AlertStore;
  /** A monitor with all its environments (`states`: already read). */
  present(m: Monitor, states?: Monitor[]): Promise<PresentedMonitor>;
  /** A person's edit of a monitor's settings (monitors/routes.ts editSettings): throws a ClientError for a bad value. */
  edit(m: Monitor, patch: MonitorPatch): Promise<void>;
  /** A person's new monitor (its settings count as set by hand); throws a ClientError naming a bad field. */
  create(projectId: number, definition: MonitorDefinition): Promise<Monitor>;
  /** Pauses or resumes every environment (monitors/routes.ts setPaused). */
  setPaused(m: Monitor, paused: boolean): Promise<void>;
  /** Deletes the monitor and its history. */
  remove(m: Monitor): Promise<void>;
  now(): number;
}

const sessionsByRequest = new WeakMap<FastifyRequest, WebSession & { role: Role }>();

export function attachSession(req: FastifyRequest, session: WebSession, role: Role): void {
  sessionsByRequest.set(req, { ...session, role });
}

/** The session of an authenticated route (the auth hook guarantees one). */
export function sessionOf(req: FastifyRequest): WebSession & { role: Role } {
  const session = sessionsByRequest.get(req);
  if (!session) throw new Error('route reached without a session; is it registered in the authenticated scope?');
  return session;
}

export function pageContext(deps: WebDeps, req: FastifyRequest): PageContext {
  const session = sessionsByRequest.get(req);
  return { login: session?.login, ...(session ? { role: session.role } : {}), csrfToken: session?.csrfToken, assets: deps.assets, now: deps.now() };
}

export function sendHtml(reply: FastifyReply, body: Html, status = 200): FastifyReply {
  return reply.code(status).header('content-type', 'text/html; charset=utf-8').send(body.value);
}

/** Only same-site paths (lib/safe-redirect.ts): anything else would be an open redirect. */
export function safeNext(next: unknown): string {
  return safeRedirectPath(next, '/issues');
}

import { operationPercentiles, type OperationPercentiles } from '../../logs/latency.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { monitorDefinition, type MonitorPatch } from '../../monitors/definition.js';
import { forwardedDelivery } from '../../monitors/notify.js';
import { groupByMonitor, latencySeries } from '../../monitors/routes.js';
import { ClientError } from '../../lib/errors.js';
import type { Monitor } from '../../store/monitors.js';
import type { Project } from '../../store/model.js';
import { pageContext, sendHtml, type DashboardMonitors, type WebDeps } from '../context.js';
import { monitorsPage, type BotSection } from '../views/monitors.js';
import { shownAlerts } from './monitor-alerts.js';

const LATENCY_HOURS = 6;
const LATENCY_STEP_MINUTES = 5;
const FLIPS_PER_MONITOR = 20;
const ALERTS_PER_BOT = 50;
const MAX_OPERATIONS_SHOWN = 20;

type EditRequest = FastifyRequest<{ Params: { id: string }; Body: Record<string, unknown> }>;

export function monitorRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/monitors', async (req: FastifyRequest<{ Querystring: { saved?: string; error?: string } }>, reply) => {
    const projects = await deps.store.listProjects();
    const m = deps.monitors;
    const now = m ? m.now() : deps.now();
    const bots = m ? await Promise.all(projects.map((p) => botSection(m, deps, p, now))) : projects.map((project) => ({ project, monitors: [], latency: [], notifications: [], alertLog: [], refusals: [] }));
    const targets = m ? await m.alerts.listTargets() : [];
    const parkedAlerts = m ? await parkedSummary(m) : undefined;
    const flash = req.query.saved ? `Saved the settings of ${req.query.saved}; check-ins no longer change them.` : undefined;
    return sendHtml(
      reply,
      monitorsPage(pageContext(deps, req), { enabled: !!m, now, bots, targets, latencyHours: LATENCY_HOURS, latencyStepMinutes: LATENCY_STEP_MINUTES, checkInMonitorLimit: deps.config.monitors.checkInMonitorLimit, ...(flash ? { flash } : {}), ...(parkedAlerts ? { parkedAlerts } : {}) }),
    );
  });

  /**
   * The monitor card's edit form. Only the fields whose value the person changed become "set by
   * hand" (the form shows every current value); "Give back to check-ins" clears every mark.
   */
  app.post('/monitors/:id/settings', ADMIN, async (req: EditRequest, reply) => {
    const { m, monitor } = await monitorOr404(deps, req.params.id);
    const patch = req.body?.['giveBack'] ? giveBack(monitor) : formPatch(monitor, req.body ?? {});
    if (Object.keys(patch).length) await m.edit(monitor, patch);
    return reply.redirect(`/monitors?saved=${encodeURIComponent(monitor.slug)}#monitor-${monitor.id}`, 303);
  });

  app.post('/monitors', ADMIN, async (req: EditRequest, reply) => {
    const m = monitorsOr404(deps);
    const body = req.body ?? {};
    const project = typeof body.project === 'string' ? await deps.store.getProject(body.project) : null;
    if (!project || project.deletingAt !== null) throw new ClientError(404, `There is no project "${String(body.project ?? '')}".`);
    const parsed = monitorDefinition.safeParse(definitionFromForm(body));
    if (!parsed.success) throw new ClientError(400, `The monitor was not created: ${parsed.error.issues.map((i) => `${FIELD_LABELS[String(i.path[0])] ?? String(i.path[0] ?? 'form')}: ${i.message}`).join('; ')}.`);
    if (await m.store.findMonitor(project.id, parsed.data.slug)) throw new ClientError(409, `Slug: a monitor "${parsed.data.slug}" already exists in ${project.name}.`);
    const created = await m.create(project.id, parsed.data);
    return reply.redirect(`/monitors?saved=${encodeURIComponent(created.slug)}#monitor-${created.id}`, 303);
  });

  app.post('/monitors/:id/pause', ADMIN, async (req: EditRequest, reply) => {
    const { m, monitor } = await monitorOr404(deps, req.params.id);
    await m.setPaused(monitor, req.body?.['paused'] !== '0');
    return reply.redirect(`/monitors#monitor-${monitor.id}`, 303);
  });

  app.post('/monitors/:id/delete', ADMIN, async (req: EditRequest, reply) => {
    const { m, monitor } = await monitorOr404(deps, req.params.id);
    if (monitor.source === 'config') throw new ClientError(409, `The monitor "${monitor.slug}" is declared in BOTPULSE_MONITORS: remove it there (it would come back at the next start).`);
    await m.remove(monitor);
    return reply.redirect('/monitors', 303);
  });
}

const ADMIN = { config: { role: 'admin' as const } };
const FIELD_LABELS: Record<string, string> = { slug: 'Slug', kind: 'Kind', periodSeconds: 'Period', graceSeconds: 'Grace', schedule: 'Cron schedule', timezone: 'Time zone', failureThreshold: 'Failures before down', url: 'URL' };

function monitorsOr404(deps: WebDeps): DashboardMonitors {
  if (!deps.monitors) throw new ClientError(404, 'Monitors are not running in this server.');
  return deps.monitors;
}

async function monitorOr404(deps: WebDeps, id: string): Promise<{ m: DashboardMonitors; monitor: Monitor }> {
  const m = monitorsOr404(deps);
  const monitor = /^\d+$/.test(id) ? await m.store.getMonitor(Number(id)) : null;
  if (!monitor) throw new ClientError(404, `There is no monitor ${id}.`);
  return { m, monitor };
}

/** The create form's filled fields, numbers as numbers (the API's definition schema checks them). */
function definitionFromForm(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['slug', 'kind', 'schedule', 'timezone', 'url']) {
    const value = typeof body[key] === 'string' ? (body[key] as string).trim() : '';
    if (value) out[key] = value;
  }
  for (const key of ['periodSeconds', 'graceSeconds', 'failureThreshold']) {
    const value = typeof body[key] === 'string' ? (body[key] as string).trim() : '';
    if (value) out[key] = Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return out;
}

/** The form's values that differ from the monitor's, as an API patch (seconds, numbers, "" for no schedule). */
function formPatch(m: Monitor, body: Record<string, unknown>): MonitorPatch {
  const text = (key: string) => (typeof body[key] === 'string' ? (body[key] as string).trim() : null);
  const number = (key: string, label: string): number | null => {
    const value = text(key);
    if (value === null || value === '') return null;
    const n = Number(value);
    if (!Number.isFinite(n)) throw new ClientError(400, `${label}: "${value}" is not a number.`);
    return n;
  };
  const patch: MonitorPatch = {};
  const period = number('periodSeconds', 'Period');
  if (period !== null && period * 1000 !== m.periodMs) patch.periodSeconds = period;
  const grace = number('graceSeconds', 'Grace');
  if (grace !== null && grace * 1000 !== m.graceMs) patch.graceSeconds = grace;
  const schedule = text('schedule');
  if (schedule !== null && schedule !== (m.schedule ?? '')) patch.schedule = schedule;
  const timezone = text('timezone');
  if (timezone !== null && timezone !== (m.timezone ?? '')) patch.timezone = timezone;
  const failures = number('failureThreshold', 'Failure threshold');
  if (failures !== null && failures !== m.failureThreshold) patch.failureThreshold = failures;
  const recoveries = number('recoveryThreshold', 'Recovery threshold');
  if (recoveries !== null && recoveries !== m.recoveryThreshold) patch.recoveryThreshold = recoveries;
  // Left empty: the server's default rule (BOTPULSE_THRESHOLD_UPDATE_LAG) keeps applying.
  const lag = number('updateLagSeconds', 'Update lag limit');
  if (lag !== null && (lag < 0 || lag > 86_400)) throw new ClientError(400, `Update lag limit: ${lag} is not between 0 (off) and 86400 seconds.`);
  if (lag !== null && lag * 1000 !== m.updateLagMs) patch.updateLagSeconds = lag;
  const lagMinutes = number('updateLagMinutes', 'Update lag duration');
  if (lagMinutes !== null && (lagMinutes <= 0 || lagMinutes > 1440)) throw new ClientError(400, `Update lag duration: ${lagMinutes} is not between 0 and 1440 minutes.`);
  if (lagMinutes !== null && lagMinutes * 60_000 !== m.updateLagForMs) patch.updateLagMinutes = lagMinutes;
  return patch;
}

function giveBack(m: Monitor): MonitorPatch {
  const fields: Record<string, keyof MonitorPatch> = { periodMs: 'periodSeconds', graceMs: 'graceSeconds', schedule: 'schedule', timezone: 'timezone', failureThreshold: 'failureThreshold', recoveryThreshold: 'recoveryThreshold', url: 'url', timeoutMs: 'timeoutSeconds', lockKey: 'lockKey', updateLagMs: 'updateLagSeconds', updateLagForMs: 'updateLagMinutes' };
  return Object.fromEntries(m.manualFields.map((f) => [fields[f], null])) as MonitorPatch;
}

/** How many alert rows are parked, and one's reason (shown like a disabled target). */
async function parkedSummary(m: DashboardMonitors): Promise<{ count: number; exampleReason: string | null }> {
  const count = await m.alerts.countOutbox('parked');
  const [first] = count ? await m.alerts.outbox({ status: 'parked', limit: 1 }) : [];
  return { count, exampleReason: first?.lastError ?? null };
}

/** One bot (project): its monitors with their environments, lock view and flips, latency percentiles, recent alerts, refused check-ins. */
async function botSection(m: DashboardMonitors, deps: Pick<WebDeps, 'store' | 'logs'>, project: Project, now: number): Promise<BotSection> {
  const store = deps.store;
  const groups = groupByMonitor(await m.store.listMonitors({ projectId: project.id }));
  const [monitors, latency, recorded, decisions, refusals] = await Promise.all([
    Promise.all(groups.map(async (states) => ({ monitor: await m.present(states[0]!, states), flips: await m.store.flips(states[0]!.id, { limit: FLIPS_PER_MONITOR }) }))),
    latencySeries(m.store, project.id, now, LATENCY_HOURS * 60, LATENCY_STEP_MINUTES),
    m.store.notifications({ projectId: project.id, limit: ALERTS_PER_BOT }),
    m.alerts.recentLog({ projectId: project.id, limit: ALERTS_PER_BOT }),
    m.store.refusals(project.id),
  ]);
  const alertLog = await shownAlerts(store, m.alerts, decisions);
  // A forwarded notification's delivery state is its alert outbox rows' (sent, pending, failed).
  const notifications = await Promise.all(
    recorded.map(async (n) => (n.status === 'forwarded' ? { ...n, status: (await forwardedDelivery(m.alerts, n.id)) ?? n.status } : n)),
  );
  // Worst first: down, late, then the rest by name.
  const rank: Record<string, number> = { down: 0, late: 1, new: 2, up: 3, paused: 4 };
  monitors.sort((a, b) => (rank[a.monitor.status] ?? 9) - (rank[b.monitor.status] ?? 9) || a.monitor.slug.localeCompare(b.monitor.slug));
  return { project, monitors, latency, notifications, alertLog, refusals, operations: await operationsOf(deps, project) };
}

/** Per-operation percentiles from log lines with `operation` + `duration_ms`, over the latency chart's hours (arrival minutes, wall clock). */
async function operationsOf(deps: Pick<WebDeps, 'logs'>, project: Project): Promise<OperationPercentiles[]> {
  if (!deps.logs) return [];
  const to = Math.floor(Date.now() / 60_000) * 60_000;
  return operationPercentiles(await deps.logs.operationLatency(project.id, to - LATENCY_HOURS * 3_600_000 + 60_000, to)).slice(0, MAX_OPERATIONS_SHOWN);
}

import type { FastifyInstance } from 'fastify';
import { forwardedDelivery } from '../../monitors/notify.js';
import { latencySeries } from '../../monitors/routes.js';
import type { Project } from '../../store/model.js';
import { pageContext, sendHtml, type DashboardMonitors, type WebDeps } from '../context.js';
import { monitorsPage, type BotSection } from '../views/monitors.js';

const LATENCY_HOURS = 6;
const LATENCY_STEP_MINUTES = 5;
const FLIPS_PER_MONITOR = 20;
const ALERTS_PER_BOT = 50;

export function monitorRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/monitors', async (req, reply) => {
    const projects = await deps.store.listProjects();
    const m = deps.monitors;
    const now = m ? m.now() : deps.now();
    const bots = m ? await Promise.all(projects.map((p) => botSection(m, p, now))) : projects.map((project) => ({ project, monitors: [], latency: [], notifications: [], alertLog: [] }));
    const targets = m ? await m.alerts.listTargets() : [];
    const parkedAlerts = m ? await parkedSummary(m) : undefined;
    return sendHtml(reply, monitorsPage(pageContext(deps, req), { enabled: !!m, now, bots, targets, ...(parkedAlerts ? { parkedAlerts } : {}), latencyHours: LATENCY_HOURS, latencyStepMinutes: LATENCY_STEP_MINUTES }));
  });
}

/** How many alert rows are parked, and one's reason (shown like a disabled target). */
async function parkedSummary(m: DashboardMonitors): Promise<{ count: number; exampleReason: string | null }> {
  const count = await m.alerts.countOutbox('parked');
  const [first] = count ? await m.alerts.outbox({ status: 'parked', limit: 1 }) : [];
  return { count, exampleReason: first?.lastError ?? null };
}

/** One bot (project): its monitors with lock view and flips, latency percentiles, recent monitor and issue alerts. */
async function botSection(m: DashboardMonitors, project: Project, now: number): Promise<BotSection> {
  const list = await m.store.listMonitors({ projectId: project.id });
  const [monitors, latency, recorded, alertLog] = await Promise.all([
    Promise.all(list.map(async (mon) => ({ monitor: await m.present(mon), flips: await m.store.flips(mon.id, { limit: FLIPS_PER_MONITOR }) }))),
    latencySeries(m.store, project.id, now, LATENCY_HOURS * 60, LATENCY_STEP_MINUTES),
    m.store.notifications({ projectId: project.id, limit: ALERTS_PER_BOT }),
    m.alerts.recentLog({ projectId: project.id, limit: ALERTS_PER_BOT }),
  ]);
  // A forwarded notification's delivery state is its alert outbox rows' (sent, pending, failed).
  const notifications = await Promise.all(
    recorded.map(async (n) => (n.status === 'forwarded' ? { ...n, status: (await forwardedDelivery(m.alerts, n.id)) ?? n.status } : n)),
  );
  // Worst first: down, late, then the rest by name.
  const rank: Record<string, number> = { down: 0, late: 1, new: 2, up: 3, paused: 4 };
  monitors.sort((a, b) => (rank[a.monitor.status] ?? 9) - (rank[b.monitor.status] ?? 9) || a.monitor.slug.localeCompare(b.monitor.slug));
  return { project, monitors, latency, notifications, alertLog };
}

import type { FastifyInstance } from 'fastify';
import type { Project } from '../../store/model.js';
import type { SpoolRow } from '../../store/store.js';
import { pageContext, sendHtml, type WebDeps } from '../context.js';
import { monitorsPage, type CheckInSummary } from '../views/monitors.js';

export function monitorRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/monitors', async (req, reply) => {
    const projects = await deps.store.listProjects();
    const summaries = await Promise.all(projects.map((p) => checkInSummary(deps, p)));
    return sendHtml(reply, monitorsPage(pageContext(deps, req), summaries));
  });
}

async function checkInSummary(deps: WebDeps, project: Project): Promise<CheckInSummary> {
  const parked = await deps.store.countRawItems('check_in', project.id);
  const rows = parked ? await latestRawItems(deps, project.id) : [];
  const latestBySlug = new Map<string, { slug: string; status: string; receivedAt: number }>();
  for (const row of rows) {
    const c = readCheckIn(row);
    if (c) latestBySlug.set(c.slug, c); // rows ascend by id: the last one per slug wins
  }
  return { project, parked, latest: [...latestBySlug.values()].slice(-5) };
}

/** Raw items are kept for BOTPULSE_RAW_ITEM_RETENTION_HOURS only, so a bounded read covers them. */
async function latestRawItems(deps: WebDeps, projectId: number): Promise<SpoolRow[]> {
  return deps.store.listRawItems('check_in', { projectId, limit: 1000 });
}

function readCheckIn(row: SpoolRow): { slug: string; status: string; receivedAt: number } | null {
  try {
    const data = JSON.parse(row.payload.toString('utf8')) as { monitor_slug?: unknown; status?: unknown };
    return { slug: String(data.monitor_slug ?? 'unnamed').slice(0, 60), status: String(data.status ?? '?').slice(0, 20), receivedAt: row.receivedAt };
  } catch {
    return null;
  }
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HOUR_MS } from '../../store/logs.js';
import { pageContext, sendHtml, type WebDeps } from '../context.js';
import { logTemplatesPage } from '../views/log-templates.js';

type TemplatesRequest = FastifyRequest<{ Querystring: Record<string, string | string[] | undefined> }>;

const WINDOWS = [1, 24, 168];

/** A project's log templates (docs/logs.md "Templates"): the top ones by lines in the window, with their rate. */
export function logTemplateRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/logs/templates', async (req: TemplatesRequest, reply) => {
    const projects = await deps.store.listProjects();
    const slug = typeof req.query.project === 'string' ? req.query.project : undefined;
    const project = projects.find((p) => p.slug === slug) ?? projects[0] ?? null;
    const asked = Number(req.query.hours);
    const hours = WINDOWS.includes(asked) ? asked : 24;
    const now = deps.logsNow?.() ?? Date.now();
    const templates = project && deps.logs ? await deps.logs.templates({ projectId: project.id, since: now - hours * HOUR_MS, limit: 100 }) : [];
    return sendHtml(reply, logTemplatesPage(pageContext(deps, req), { projects, project, templates, hours, windows: WINDOWS, now, kept: Boolean(deps.logs) }));
  });
}

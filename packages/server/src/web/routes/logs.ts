import type { FastifyInstance, FastifyRequest } from 'fastify';
import { searchQuery } from '../../http/log-routes.js';
import { pageContext, sendHtml, type WebDeps } from '../context.js';
import { logsPage } from '../views/logs.js';

type LogsRequest = FastifyRequest<{ Querystring: Record<string, string | string[] | undefined> }>;

/** A project's log lines, newest first, with the API's filters (docs/logs.md "Searching"). */
export function logRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/logs', async (req: LogsRequest, reply) => {
    const projects = await deps.store.listProjects();
    const slug = typeof req.query.project === 'string' ? req.query.project : undefined;
    const project = projects.find((p) => p.slug === slug) ?? projects[0] ?? null;
    const query = project ? searchQuery(project.id, { ...req.query, limit: '200' }) : null;
    const lines = project && query && deps.logs ? await deps.logs.searchLines(query) : [];
    const filters = { q: String(req.query.q ?? ''), min_level: String(req.query.min_level ?? '') };
    // A forbidden line links to the issue it became (few lines have one).
    const issues = new Map<string, number>();
    for (const l of lines) {
      if (!project || !l.eventId || issues.has(l.eventId)) continue;
      const event = await deps.store.getEvent(project.id, l.eventId);
      if (event) issues.set(l.eventId, event.issueId);
    }
    return sendHtml(reply, logsPage(pageContext(deps, req), { projects, project, lines, issues, filters, kept: Boolean(deps.logs) }));
  });
}

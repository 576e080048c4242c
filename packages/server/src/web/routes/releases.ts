import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ClientError } from '../../lib/errors.js';
import { MAX_PAGE } from '../../store/issue-queries.js';
import { pageContext, sendHtml, sessionOf, type WebDeps } from '../context.js';
import { releasesPage } from '../views/releases.js';

export function releaseRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/releases', async (req: FastifyRequest<{ Querystring: { project?: string; done?: string } }>, reply) => {
    const projects = await deps.store.listProjects();
    const project = projects.find((p) => p.slug === req.query.project) ?? projects[0] ?? null;
    const releases = project ? await deps.store.releaseSummaries(project.id) : [];
    const done = /^\d+$/.test(req.query.done ?? '') ? Number(req.query.done) : null;
    const flash = done === null ? undefined : `Resolved ${done} issue${done === 1 ? '' : 's'} in the next release.`;
    return sendHtml(reply, releasesPage(pageContext(deps, req), { projects, project, releases, ...(flash ? { flash } : {}) }));
  });

  /** Resolves, in the next release, the open issues whose latest event came from this release. */
  app.post('/releases/resolve-next', async (req: FastifyRequest<{ Body: Record<string, unknown> }>, reply) => {
    const slug = String(req.body?.project ?? '');
    const release = String(req.body?.release ?? '');
    const project = (await deps.store.listProjects()).find((p) => p.slug === slug);
    if (!project) throw new ClientError(404, `There is no project "${slug}".`);
    if (!release) throw new ClientError(400, 'Which release? The form names none.');
    const { issues } = await deps.store.searchIssues({ projectId: project.id, status: ['new', 'in_progress'], release, limit: MAX_PAGE });
    const actor = { kind: 'user', name: sessionOf(req).login } as const;
    let resolved = 0;
    for (const issue of issues.filter((i) => i.lastRelease === release)) {
      await deps.store.setIssueStatus(issue.id, { status: 'resolved', inNextRelease: true, actor });
      resolved += 1;
    }
    return reply.redirect(`/releases?project=${encodeURIComponent(project.slug)}&done=${resolved}`, 303);
  });
}

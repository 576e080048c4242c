import type { FastifyInstance, FastifyRequest } from 'fastify';
import { presentProject } from '../../http/present.js';
import { ClientError } from '../../lib/errors.js';
import type { Project } from '../../store/model.js';
import { SHORT_ID_PREFIX_PATTERN, SHORT_ID_PREFIX_RULE } from '../../store/naming.js';
import { pageContext, sendHtml, type WebDeps } from '../context.js';
import { parseLinkTemplates } from '../links.js';
import { projectListPage, projectPage, type ProjectView } from '../views/projects.js';

type SlugParams = { Params: { slug: string } };

export function projectRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/projects', async (req, reply) => {
    const projects = await deps.store.listProjects();
    const views = await Promise.all(projects.map((p) => projectView(deps, p)));
    return sendHtml(reply, projectListPage(pageContext(deps, req), views));
  });

  app.get('/projects/:slug', async (req: FastifyRequest<SlugParams & { Querystring: { saved?: string } }>, reply) => {
    const project = await projectOr404(deps, req.params.slug);
    const view = { ...(await projectView(deps, project)), discards: await deps.store.clientDiscards(project.id) };
    return sendHtml(reply, projectPage(pageContext(deps, req), view, req.query.saved ? { flash: 'Saved.' } : {}));
  });

  app.post('/projects/:slug', async (req: FastifyRequest<SlugParams & { Body: Record<string, unknown> }>, reply) => {
    const project = await projectOr404(deps, req.params.slug);
    const text = (key: string) => (typeof req.body?.[key] === 'string' ? (req.body[key] as string).trim() : '');
    const { templates, errors } = parseLinkTemplates(text('linkTemplates'));
    const prefix = text('shortIdPrefix');
    const chat = text('alertChatId');
    if (!SHORT_ID_PREFIX_PATTERN.test(prefix)) errors.push(`The short-id prefix must be ${SHORT_ID_PREFIX_RULE}.`);
    if (!text('name')) errors.push('The name must not be empty.');
    if (chat && !/^(-?\d+|@\w{5,})$/.test(chat)) errors.push('The alert chat id must be a number (e.g. -1001234567890) or an @channel name.');
    if (errors.length) {
      const view = await projectView(deps, project);
      return sendHtml(reply, projectPage(pageContext(deps, req), view, { errors }), 400);
    }
    await deps.store.updateProject(project.id, { name: text('name').slice(0, 100), shortIdPrefix: prefix, linkTemplates: templates });
    await deps.store.setProjectSetting(project.id, 'alert_chat_id', chat || null);
    return reply.redirect(`/projects/${project.slug}?saved=1`, 303);
  });
}

async function projectOr404(deps: WebDeps, slug: string): Promise<Project> {
  const project = await deps.store.getProject(slug);
  if (!project) throw new ClientError(404, `There is no project "${slug}".`);
  return project;
}

async function projectView(deps: WebDeps, project: Project): Promise<ProjectView> {
  const [settings, counts] = await Promise.all([deps.store.getProjectSettings(project.id), deps.store.issueStatusCounts(project.id)]);
  return { project, dsn: presentProject(project, deps.config.publicUrl).dsn, settings, counts: { unresolved: counts.new + counts.in_progress } };
}

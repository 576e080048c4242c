import type { FastifyInstance, FastifyRequest } from 'fastify';
import { deletionState, setThreadId } from '../../http/management-routes.js';
import { alertChatId, alertThreadId, formErrors, newProject, projectName, shortIdPrefix } from '../../http/management.js';
import { dsnFor, presentProject } from '../../http/present.js';
import { ClientError } from '../../lib/errors.js';
import type { Project } from '../../store/model.js';
import { SlugTakenError } from '../../store/naming.js';
import { pageContext, sendHtml, type WebDeps } from '../context.js';
import { parseLinkTemplates } from '../links.js';
import { deletionFragment, projectListPage, projectPage, type ProjectView } from '../views/projects.js';
import { z } from 'zod';

type SlugParams = { Params: { slug: string } };
type FormRequest = FastifyRequest<SlugParams & { Body: Record<string, unknown>; Querystring: { saved?: string } }>;
const ADMIN = { config: { role: 'admin' as const } };

const settingsForm = z.object({ name: projectName, shortIdPrefix, alertChatId, alertThreadId });
const LABELS = { name: 'Name', shortIdPrefix: 'Short-id prefix', alertChatId: 'Alert chat id', alertThreadId: 'Alert thread id', slug: 'Slug' };

export function projectRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/projects', async (req: FormRequest, reply) => {
    const projects = await deps.store.listProjects();
    const views = await Promise.all(projects.map((p) => projectView(deps, p)));
    return sendHtml(reply, projectListPage(pageContext(deps, req), views, req.query.saved ? { flash: req.query.saved } : {}));
  });

  app.post('/projects', ADMIN, async (req: FormRequest, reply) => {
    const text = formText(req.body);
    const parsed = newProject.safeParse({ name: text('name'), ...(text('shortIdPrefix') ? { shortIdPrefix: text('shortIdPrefix') } : {}) });
    const refuse = async (errors: string[], status: number) => {
      const views = await Promise.all((await deps.store.listProjects()).map((p) => projectView(deps, p)));
      return sendHtml(reply, projectListPage(pageContext(deps, req), views, { errors, form: { name: text('name'), shortIdPrefix: text('shortIdPrefix') } }), status);
    };
    if (!parsed.success) return refuse(formErrors(parsed.error, LABELS), 400);
    try {
      const project = await deps.store.createProject(parsed.data);
      return reply.redirect(`/projects/${project.slug}?saved=created`, 303);
    } catch (err) {
      if (!(err instanceof SlugTakenError)) throw err;
      return refuse([`Name: ${capitalised(err.message)} (/projects/${err.slug}); choose another name.`], 409);
    }
  });

  app.get('/projects/:slug', async (req: FormRequest, reply) => {
    const project = await projectOr404(deps, req.params.slug);
    const view = { ...(await projectView(deps, project)), discards: await deps.store.clientDiscards(project.id), storage: await storageOf(deps, project.id) };
    return sendHtml(reply, projectPage(pageContext(deps, req), view, flashFor(req.query.saved)));
  });

  /** The deleting project's progress, polled by the page (htmx) until it is gone. */
  app.get('/projects/:slug/deletion', async (req: FormRequest, reply) => {
    const project = await deps.store.getProject(req.params.slug);
    if (project && project.deletingAt === null) throw new ClientError(404, `The project "${project.slug}" is not being deleted.`);
    return sendHtml(reply, deletionFragment(project ? await projectView(deps, project) : null));
  });

  app.post('/projects/:slug', ADMIN, async (req: FormRequest, reply) => {
    const project = await liveProjectOr404(deps, req.params.slug);
    const text = formText(req.body);
    const { templates, errors } = parseLinkTemplates(text('linkTemplates'));
    const parsed = settingsForm.safeParse({ name: text('name'), shortIdPrefix: text('shortIdPrefix'), alertChatId: text('alertChatId'), alertThreadId: text('alertThreadId') });
    const all = [...(parsed.success ? [] : formErrors(parsed.error, LABELS)), ...errors.map((e) => `Link templates: ${e}.`)];
    if (!parsed.success || all.length) {
      const view = await projectView(deps, project);
      return sendHtml(reply, projectPage(pageContext(deps, req), view, { errors: all }), 400);
    }
    const form = parsed.data;
    await deps.store.updateProject(project.id, { name: form.name, shortIdPrefix: form.shortIdPrefix, linkTemplates: templates });
    await deps.store.setProjectSetting(project.id, 'alert_chat_id', form.alertChatId || null);
    await setThreadId(deps.store, project.id, form.alertThreadId ? Number(form.alertThreadId) : null);
    deps.alerting?.rules.forget(project.id);
    return reply.redirect(`/projects/${project.slug}?saved=1`, 303);
  });

  app.post('/projects/:slug/rotate-key', ADMIN, async (req: FormRequest, reply) => {
    const project = await liveProjectOr404(deps, req.params.slug);
    await deps.store.rotateProjectKey(project.id, deps.config.dsnKeyGraceMs, deps.now());
    deps.onProjectsChanged();
    return reply.redirect(`/projects/${project.slug}?saved=rotated#dsn`, 303);
  });

  app.post('/projects/:slug/delete', ADMIN, async (req: FormRequest, reply) => {
    const project = await projectOr404(deps, req.params.slug);
    if (!deps.deleter) throw new ClientError(404, 'Deleting projects is not available in this server.');
    if (formText(req.body)('confirm') !== project.slug) {
      const view = await projectView(deps, project);
      return sendHtml(reply, projectPage(pageContext(deps, req), view, { errors: [`Confirm: type the project's slug "${project.slug}" to delete it and all its data.`] }), 400);
    }
    await deps.deleter.delete(project);
    return reply.redirect(`/projects/${project.slug}?saved=deleting`, 303);
  });
}

function flashFor(saved: string | undefined): { flash?: string } {
  if (saved === 'rotated') return { flash: 'Rotated the DSN key. Deploy the new DSN; the old one keeps working until the time shown.' };
  if (saved === 'created') return { flash: 'Created the project. Copy its DSN into your bot.' };
  if (saved === 'deleting') return { flash: 'Deleting the project: its events are refused from now on, and its data is being removed.' };
  return saved ? { flash: 'Saved.' } : {};
}

function formText(body: Record<string, unknown> | undefined): (key: string) => string {
  return (key) => (typeof body?.[key] === 'string' ? (body[key] as string).trim() : '');
}

async function projectOr404(deps: WebDeps, slug: string): Promise<Project> {
  const project = await deps.store.getProject(slug);
  if (!project) throw new ClientError(404, `There is no project "${slug}".`);
  return project;
}

async function liveProjectOr404(deps: WebDeps, slug: string): Promise<Project> {
  const project = await projectOr404(deps, slug);
  if (project.deletingAt !== null) throw new ClientError(409, `The project "${slug}" is being deleted.`);
  return project;
}

/** Measuring reads every event row of the project: at most once per STORAGE_TTL_MS per project. */
const STORAGE_TTL_MS = 5 * 60_000;
const storageCache = new Map<number, { events: number; payloadBytes: number; measuredAt: number }>();

async function storageOf(deps: WebDeps, projectId: number): Promise<{ events: number; payloadBytes: number; measuredAt: number }> {
  const cached = storageCache.get(projectId);
  if (cached && deps.now() - cached.measuredAt < STORAGE_TTL_MS) return cached;
  const measured = { ...(await deps.store.projectStorage(projectId)), measuredAt: deps.now() };
  storageCache.set(projectId, measured);
  return measured;
}

async function projectView(deps: WebDeps, project: Project): Promise<ProjectView> {
  const [settings, counts] = await Promise.all([deps.store.getProjectSettings(project.id), deps.store.issueStatusCounts(project.id)]);
  const now = deps.now();
  const previous =
    project.previousPublicKey && (project.previousKeyExpiresAt ?? 0) > now ? { dsn: dsnFor(project, deps.config.publicUrl, project.previousPublicKey), expiresAt: project.previousKeyExpiresAt! } : null;
  const deletion = project.deletingAt !== null && deps.deleter ? await deletionState({ store: deps.store, deleter: deps.deleter }, project) : null;
  return {
    project,
    dsn: presentProject(project, deps.config.publicUrl).dsn,
    previous,
    deletion,
    settings,
    threadId: threadIdOf(settings.alert_rules),
    counts: { unresolved: counts.new + counts.in_progress },
    graceHours: deps.config.dsnKeyGraceMs / 3600_000,
  };
}

function threadIdOf(text: string | undefined): number | null {
  try {
    const value = text ? (JSON.parse(text) as { threadId?: unknown }).threadId : null;
    return typeof value === 'number' ? value : null;
  } catch {
    return null;
  }
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

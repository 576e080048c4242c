import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireApiToken, projectOr404 as findProjectOr404 } from './api-access.js';
import { z } from 'zod';
import { ClientError } from '../lib/errors.js';
import { parseDuration, parseTime } from '../lib/time.js';
import { ISSUE_STATUSES, type Actor, type IssueStatus, type Project } from '../store/model.js';
import { MAX_NOTE_LENGTH } from '../store/issue-story.js';
import { SlugTakenError } from '../store/naming.js';
import { presentEvent, presentHistoryEntry, presentIssue, presentProject } from './present.js';
import type { IssueFilter, Store } from '../store/store.js';
import { managementRoutes } from './management-routes.js';
import { newProject, parseInput } from './management.js';
import type { ProjectDeleter } from './project-deleter.js';

export interface ApiDeps {
  /** `publicUrl`: the base of DSNs and links, without a trailing slash; `dsnKeyGraceMs`: a rotated key's grace period. */
  config: { readonly publicUrl: string; readonly dsnKeyGraceMs: number };
  store: Store;
  /** Removes deleted projects' data in the background. */
  deleter: ProjectDeleter;
  /** Told after a project's key or state changed, so ingestion's cached projects are read again. */
  onProjectsChanged: () => void;
}

const statusList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.enum(ISSUE_STATUSES as [IssueStatus, ...IssueStatus[]])));

const issueQuery = z.object({
  status: statusList.optional(),
  level: z.string().optional(),
  environment: z.string().optional(),
  release: z.string().optional(),
  origin: z.string().optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  period: z.string().optional(),
  query: z.string().optional(),
  sort: z.enum(['last_seen', 'count', 'users', 'first_seen']).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  offset: z.coerce.number().int().min(0).optional(),
});

const issueChange = z
  .object({
    status: z.enum(ISSUE_STATUSES as [IssueStatus, ...IssueStatus[]]).optional(),
    inRelease: z.string().min(1).optional(),
    inNextRelease: z.boolean().optional(),
    ignoreUntil: z.string().optional(),
    ignoreFor: z.string().optional(),
    ignoreForEvents: z.number().int().positive().optional(),
    /** A dashboard login, or null to unassign. */
    assignee: z.string().trim().min(1).max(100).nullable().optional(),
    /** Who acts through the token, for the issue's history (e.g. the CLI's $USER). */
    by: z.string().trim().min(1).max(100).optional(),
  })
  .refine((c) => c.status !== undefined || c.assignee !== undefined, { message: 'send a status, an assignee, or both' });

const newNote = z.object({ text: z.string().trim().min(1).max(MAX_NOTE_LENGTH), by: z.string().trim().min(1).max(100).optional() });


/**
 * The JSON API under /api/v1, for scripts, the CLI and the dashboard. Every route needs
 * `Authorization: Bearer <token>` (tokens come from `botpulse token create`).
 */
export async function apiRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { config, store } = deps;
  app.addHook('onRequest', requireApiToken(store));

  const projectOr404 = (idOrSlug: string): Promise<Project> => findProjectOr404(store, idOrSlug);
  const issueOr404 = async (id: string) => {
    const issue = /^\d+$/.test(id) ? await store.getIssue(Number(id)) : null;
    if (!issue) throw new ClientError(404, `no issue ${id}`);
    return issue;
  };

  app.get('/projects', async () => (await store.listProjects()).map((p) => presentProject(p, config.publicUrl)));

  app.post('/projects', { config: { role: 'admin' } }, async (req, reply) => {
    const input = parseInput(newProject, req.body);
    const project = await store.createProject(input).catch((err: unknown) => {
      if (!(err instanceof SlugTakenError)) throw err;
      throw new ClientError(409, `${err.message}: GET /api/v1/projects/${err.slug} shows it; send another name or slug for a new project`);
    });
    return reply.code(201).send(presentProject(project, config.publicUrl));
  });

  managementRoutes(app, deps);

  app.get('/projects/:project/issues', async (req: FastifyRequest<{ Params: { project: string } }>) => {
    const project = await projectOr404(req.params.project);
    const filter = toIssueFilter(parse(issueQuery, req.query), project.id);
    const { issues, total } = await store.listIssues(filter);
    return { total, issues: issues.map(presentIssue) };
  });

  app.get('/projects/:project/issues/:shortId', async (req: FastifyRequest<{ Params: { project: string; shortId: string } }>) => {
    const project = await projectOr404(req.params.project);
    const issue = await store.getIssueByShortId(project.id, req.params.shortId);
    if (!issue) throw new ClientError(404, `no issue ${req.params.shortId} in ${project.slug}`);
    const latest = await store.latestEvent(issue.id);
    return { ...presentIssue(issue), latestEvent: latest && presentEvent(latest) };
  });

  app.get('/projects/:project/events/:eventId', async (req: FastifyRequest<{ Params: { project: string; eventId: string } }>) => {
    const project = await projectOr404(req.params.project);
    const event = await store.getEvent(project.id, req.params.eventId);
    if (!event) throw new ClientError(404, `no event ${req.params.eventId}`);
    return presentEvent(event);
  });

  app.get('/issues/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const issue = await issueOr404(req.params.id);
    const latest = await store.latestEvent(issue.id);
    return { ...presentIssue(issue), latestEvent: latest && presentEvent(latest) };
  });

  app.get('/issues/:id/events', async (req: FastifyRequest<{ Params: { id: string }; Querystring: { limit?: string; before?: string } }>) => {
    const issue = await issueOr404(req.params.id);
    const q = parse(z.object({ limit: z.coerce.number().int().min(1).max(500).optional(), before: z.coerce.number().int().optional() }), req.query);
    return (await store.listEvents(issue.id, q)).map(presentEvent);
  });

  app.patch('/issues/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const issue = await issueOr404(req.params.id);
    const change = parse(issueChange, req.body);
    const actor = tokenActor(change.by);
    let updated = issue;
    if (change.assignee !== undefined) {
      if (change.assignee !== null && !(await store.getUser(change.assignee))) throw new ClientError(400, `assignee: there is no dashboard user "${change.assignee}"`);
      updated = await store.assignIssue(issue.id, change.assignee, actor);
    }
    if (change.status !== undefined) {
      const ignoreUntil = change.ignoreUntil
        ? parseTime(change.ignoreUntil)
        : change.ignoreFor
          ? Date.now() + parseDuration(change.ignoreFor)
          : null;
      updated = await store.setIssueStatus(issue.id, {
        status: change.status,
        inRelease: change.inRelease ?? null,
        inNextRelease: change.inNextRelease ?? false,
        ignoreUntil,
        ignoreForEvents: change.ignoreForEvents ?? null,
        actor,
      });
    }
    return presentIssue(updated);
  });

  app.get('/issues/:id/history', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const issue = await issueOr404(req.params.id);
    return (await store.issueHistory(issue.id)).map(presentHistoryEntry);
  });

  app.post('/issues/:id/notes', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const issue = await issueOr404(req.params.id);
    const note = parse(newNote, req.body);
    await store.addIssueHistory(issue.id, tokenActor(note.by), 'note', { text: note.text });
    return reply.code(201).send({ ok: true });
  });
}

/** The API acts with a token; `by` (free text, e.g. the CLI's login name) says who is behind it. */
function tokenActor(by: string | undefined): Actor {
  return { kind: 'token', name: by ?? 'API' };
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    throw new ClientError(400, result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return result.data;
}

/** `query` mixes free text and `key:value` tag filters: `timeout chat_type:group`. */
function toIssueFilter(q: z.output<typeof issueQuery>, projectId: number): IssueFilter {
  const tags: Record<string, string> = {};
  const words: string[] = [];
  for (const token of (q.query ?? '').split(/\s+/).filter(Boolean)) {
    const m = /^([\w.-]+):(.+)$/.exec(token);
    if (m) tags[m[1]!] = m[2]!;
    else words.push(token);
  }
  const filter: IssueFilter = { projectId, tags };
  if (q.status?.length) filter.status = q.status;
  if (q.level) filter.level = q.level === 'critical' ? 'fatal' : q.level;
  if (q.environment) filter.environment = q.environment;
  if (q.release) filter.release = q.release;
  if (q.origin) filter.origin = q.origin;
  if (q.since) filter.since = parseTime(q.since);
  if (q.period) filter.since = Date.now() - parseDuration(q.period);
  if (q.until) filter.until = parseTime(q.until);
  if (words.length) filter.text = words.join(' ');
  if (q.sort) filter.sort = q.sort;
  if (q.limit) filter.limit = q.limit;
  if (q.offset) filter.offset = q.offset;
  return filter;
}

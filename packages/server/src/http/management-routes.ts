import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ClientError } from '../lib/errors.js';
import { hashPassword } from '../lib/password.js';
import { roleAtLeast, type Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import { apiTokenOf, projectOr404 } from './api-access.js';
import { newToken, newUser, parseInput, projectPatch, userPatch } from './management.js';
import { presentProject } from './present.js';
import type { ProjectDeleter } from './project-deleter.js';

export interface ManagementDeps {
  config: { readonly publicUrl: string; readonly dsnKeyGraceMs: number };
  store: Store;
  deleter: ProjectDeleter;
  onProjectsChanged: () => void;
}

type ProjectParams = { Params: { project: string } };
const ADMIN = { config: { role: 'admin' as const } };

/**
 * Management under /api/v1 (admin tokens; docs/api.md "Management"): projects (edit, rotate the
 * DSN key, delete), users and API tokens. The dashboard's forms do the same through
 * web/routes/manage.ts with the same rules (http/management.ts).
 */
export function managementRoutes(app: FastifyInstance, deps: ManagementDeps): void {
  const { store, config } = deps;
  /** Reading users and tokens is an admin's business too. */
  const adminReads = (req: FastifyRequest) => {
    const token = apiTokenOf(req);
    if (!token || !roleAtLeast(token.role, 'admin')) throw new ClientError(403, 'only an admin API token may read users and tokens');
  };
  const liveProject = async (ref: string): Promise<Project> => {
    const project = await projectOr404(store, ref);
    if (project.deletingAt !== null) throw new ClientError(409, `project "${project.slug}" is being deleted`);
    return project;
  };

  app.get('/projects/:project', async (req: FastifyRequest<ProjectParams>) => {
    const project = await projectOr404(store, req.params.project);
    return { ...presentProject(project, config.publicUrl), ...(project.deletingAt !== null ? { deletion: await deletionState(deps, project) } : {}) };
  });

  app.patch('/projects/:project', ADMIN, async (req: FastifyRequest<ProjectParams>) => {
    const project = await liveProject(req.params.project);
    const patch = parseInput(projectPatch, req.body);
    const { alertChatId, alertThreadId, ...fields } = patch;
    let updated = Object.keys(fields).length ? await store.updateProject(project.id, fields) : project;
    if (alertChatId !== undefined) await store.setProjectSetting(project.id, 'alert_chat_id', alertChatId || null);
    if (alertThreadId !== undefined) await setThreadId(store, project.id, alertThreadId);
    updated = (await store.getProject(project.id)) ?? updated;
    return { ...presentProject(updated, config.publicUrl), settings: await store.getProjectSettings(project.id) };
  });

  app.post('/projects/:project/rotate-key', ADMIN, async (req: FastifyRequest<ProjectParams>) => {
    const project = await liveProject(req.params.project);
    const rotated = await store.rotateProjectKey(project.id, config.dsnKeyGraceMs, Date.now());
    deps.onProjectsChanged();
    return presentProject(rotated, config.publicUrl);
  });

  app.delete('/projects/:project', ADMIN, async (req: FastifyRequest<ProjectParams & { Querystring: { confirm?: string } }>, reply) => {
    const project = await projectOr404(store, req.params.project);
    if (req.query.confirm !== project.slug) throw new ClientError(400, `confirm: add ?confirm=${project.slug} (the project's slug) to delete it and all its data`);
    const marked = await deps.deleter.delete(project);
    return reply.code(202).send({ ...presentProject(marked ?? project, config.publicUrl), deletion: await deletionState(deps, marked ?? project) });
  });

  app.get('/users', async (req) => {
    adminReads(req);
    return { users: (await store.listUsers()).map((u) => ({ ...u, createdAt: new Date(u.createdAt).toISOString() })) };
  });

  app.post('/users', ADMIN, async (req, reply) => {
    const input = parseInput(newUser, req.body);
    if (await store.getUser(input.login)) throw new ClientError(409, `login: "${input.login}" already exists; PATCH /users/${input.login} changes its password or role`);
    await store.addUser(input.login, await hashPassword(input.password), input.role);
    return reply.code(201).send({ login: input.login, role: input.role });
  });

  app.patch('/users/:login', ADMIN, async (req: FastifyRequest<{ Params: { login: string } }>) => {
    const patch = parseInput(userPatch, req.body);
    const user = await store.getUser(req.params.login);
    if (!user) throw new ClientError(404, `no user "${req.params.login}"`);
    if (patch.role && patch.role !== 'admin' && user.role === 'admin') await keepAnAdmin(store, user.login);
    if (patch.role) await store.setUserRole(user.login, patch.role);
    if (patch.password) await store.setUserPassword(user.login, await hashPassword(patch.password));
    return { login: user.login, role: patch.role ?? user.role };
  });

  app.delete('/users/:login', ADMIN, async (req: FastifyRequest<{ Params: { login: string } }>, reply) => {
    const user = await store.getUser(req.params.login);
    if (!user) throw new ClientError(404, `no user "${req.params.login}"`);
    if (user.role === 'admin') await keepAnAdmin(store, user.login);
    await store.removeUser(user.login);
    return reply.code(204).send();
  });

  app.get('/tokens', async (req) => {
    adminReads(req);
    return { tokens: (await store.listApiTokens()).map(presentToken) };
  });

  app.post('/tokens', ADMIN, async (req, reply) => {
    const input = parseInput(newToken, req.body);
    const { token, id } = await store.createApiToken(input.label, input.role);
    // The only time the token is shown: the store keeps its hash.
    return reply.code(201).send({ id, label: input.label, role: input.role, token });
  });

  app.delete('/tokens/:id', ADMIN, async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const id = /^\d+$/.test(req.params.id) ? Number(req.params.id) : NaN;
    if (!(await store.revokeApiToken(id))) throw new ClientError(404, `no API token ${req.params.id}`);
    return reply.code(204).send();
  });
}

export function presentToken(t: { id: number; label: string; role: string; createdAt: number; lastUsedAt: number | null }) {
  return { id: t.id, label: t.label, role: t.role, createdAt: new Date(t.createdAt).toISOString(), lastUsedAt: t.lastUsedAt === null ? null : new Date(t.lastUsedAt).toISOString() };
}

/** Removing or demoting the last admin would leave nobody able to manage Botpulse. */
export async function keepAnAdmin(store: Store, login: string): Promise<void> {
  const admins = (await store.listUsers()).filter((u) => u.role === 'admin' && u.login !== login);
  if (admins.length === 0) throw new ClientError(409, `"${login}" is the last admin; make another user admin first`);
}

/** What is left of a project being deleted, and whether this process is removing it now. */
export async function deletionState(deps: Pick<ManagementDeps, 'store' | 'deleter'>, project: Project) {
  const left = await deps.store.projectDataLeft(project.id);
  return { startedAt: new Date(project.deletingAt ?? Date.now()).toISOString(), eventsLeft: left.events, issuesLeft: left.issues, running: deps.deleter.isRunning(project.id) };
}

/**
 * The alert thread (Telegram forum topic) lives in the project's alert-rules override (`threadId`),
 * beside the rules edited on the alert-rules page; an unreadable stored override is replaced.
 */
export async function setThreadId(store: Store, projectId: number, threadId: number | null): Promise<void> {
  const text = (await store.getProjectSettings(projectId)).alert_rules;
  let override: Record<string, unknown> = {};
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) override = parsed as Record<string, unknown>;
  } catch {
    override = {};
  }
  if (threadId === null) delete override.threadId;
  else override.threadId = threadId;
  await store.setProjectSetting(projectId, 'alert_rules', Object.keys(override).length ? JSON.stringify(override) : null);
}

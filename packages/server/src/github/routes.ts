import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { projectOr404 as findProjectOr404, requireApiToken } from '../http/api-access.js';
import { presentIssue } from '../http/present.js';
import { ClientError } from '../lib/errors.js';
import type { GithubJob, GithubLink } from '../store/github.js';
import type { Store } from '../store/store.js';
import { autoCreateSpec, labelsSpec, repoSpec, tokenSpec, webhookSecretSpec } from './config.js';
import type { GithubService } from './service.js';

export interface GithubRouteDeps {
  store: Store;
  github: GithubService;
}

const settingsPatch = z
  .object({
    repo: repoSpec.nullable().optional(),
    token: tokenSpec.nullable().optional(),
    labels: labelsSpec.nullable().optional(),
    autoCreateAt: autoCreateSpec.nullable().optional(),
    closeOnResolve: z.boolean().nullable().optional(),
    webhookSecret: webhookSecretSpec.nullable().optional(),
  })
  .strict();

const untrackedQuery = z.object({
  minEvents: z.coerce.number().int().min(1).max(1_000_000).default(5),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const jobsQuery = z.object({ status: z.enum(['pending', 'failed']).optional(), project: z.string().optional() });

/** The GitHub link as the API answers it (docs/api.md). */
export function presentLink(link: GithubLink | null) {
  if (!link) return null;
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    state: link.state,
    repo: link.repo,
    number: link.number,
    url: link.url,
    githubState: link.githubState,
    requestedBy: link.requestedBy,
    createdAt: iso(link.createdAt),
    linkedAt: iso(link.linkedAt),
    lastAction: link.lastAction === null ? null : { action: link.lastAction, actor: link.lastActor, at: iso(link.lastActionAt) },
  };
}

function presentJob(job: GithubJob) {
  return { ...job, nextAttemptAt: new Date(job.nextAttemptAt).toISOString(), createdAt: new Date(job.createdAt).toISOString(), claimedUntil: job.claimedUntil === null ? null : new Date(job.claimedUntil).toISOString() };
}

/** GitHub routes under /api/v1 (same Bearer tokens as the rest of the API). */
export async function githubRoutes(app: FastifyInstance, { store, github }: GithubRouteDeps): Promise<void> {
  app.addHook('onRequest', requireApiToken(store));
  const projectOr404 = (idOrSlug: string) => findProjectOr404(store, idOrSlug);
  const issueOr404 = async (id: string) => {
    const issue = /^\d+$/.test(id) ? await store.getIssue(Number(id)) : null;
    if (!issue) throw new ClientError(404, `no issue ${id}`);
    return issue;
  };

  app.get('/projects/:project/github', async (req: FastifyRequest<{ Params: { project: string } }>) => {
    const project = await projectOr404(req.params.project);
    return github.present(await github.settings(project));
  });

  app.put('/projects/:project/github', async (req: FastifyRequest<{ Params: { project: string } }>) => {
    const project = await projectOr404(req.params.project);
    const patch = parse(settingsPatch, req.body);
    return github.present(await github.updateSettings(project, patch));
  });

  app.get('/issues/:id/github', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const issue = await issueOr404(req.params.id);
    const jobs = (await github.links.listJobs({ projectId: issue.projectId })).filter((j) => j.issueId === issue.id);
    return { link: presentLink(await github.links.getLink(issue.id)), jobs: jobs.map(presentJob) };
  });

  /** 202 while the GitHub issue is being created, 200 once it exists; never a second one. */
  app.post('/issues/:id/github', async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const issue = await issueOr404(req.params.id);
    const { link, claimed } = await github.requestCreate(issue, 'api');
    return reply.code(link.state === 'linked' ? 200 : 202).send({ claimed, link: presentLink(link) });
  });

  /** Seed 004's "untracked" view: unresolved issues with no GitHub issue, most events first. */
  app.get('/projects/:project/issues/untracked', async (req: FastifyRequest<{ Params: { project: string } }>) => {
    const project = await projectOr404(req.params.project);
    const q = parse(untrackedQuery, req.query);
    const { issues, total } = await store.searchIssues({ projectId: project.id, untracked: true, minEvents: q.minEvents, status: ['new', 'in_progress'], sort: 'count', limit: q.limit, offset: q.offset });
    return { total, issues: issues.map(presentIssue) };
  });

  app.get('/github/jobs', async (req) => {
    const q = parse(jobsQuery, req.query);
    const projectId = q.project ? (await projectOr404(q.project)).id : undefined;
    const jobs = await github.links.listJobs({ ...(projectId === undefined ? {} : { projectId }), ...(q.status ? { status: q.status } : {}) });
    return { jobs: jobs.map(presentJob) };
  });
}

/**
 * `POST /api/github/webhook[/:project]`: GitHub's deliveries, authenticated by their signature
 * (no API token) with the project's webhook secret. The body is kept raw: the signature is over
 * the bytes GitHub sent.
 */
export async function githubWebhookRoute(app: FastifyInstance, { github }: Pick<GithubRouteDeps, 'github'>): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 5 * 1024 * 1024 }, (_req, body, done) => done(null, body));
  app.post('/api/github/webhook', async (req, reply) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await github.handleWebhook(req.headers, body);
    return reply.code(answer.status).send(answer.body);
  });
  app.post('/api/github/webhook/:project', async (req: FastifyRequest<{ Params: { project: string } }>, reply) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await github.handleWebhook(req.headers, body, req.params.project);
    return reply.code(answer.status).send(answer.body);
  });
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new ClientError(400, result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return result.data;
}

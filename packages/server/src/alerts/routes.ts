import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireApiToken, projectOr404 as findProjectOr404 } from '../http/api-access.js';
import { z } from 'zod';
import { ClientError } from '../lib/errors.js';
import { parseDuration, parseTime } from '../lib/time.js';
import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import type { Alerting } from './alerting.js';
import { rulesOverrideSchema } from './config.js';
import { parseStoredRules, resolveRules } from './rules.js';

export interface AlertRouteDeps {
  store: Store;
  alerting: Alerting;
}

const newSilence = z.object({
  project: z.string().min(1).optional(),
  issueId: z.number().int().positive().optional(),
  duration: z.string().optional(),
  until: z.string().optional(),
  reason: z.string().max(500).optional(),
});

type ProjectParams = { Params: { project: string } };

/**
 * Alert settings and state under /api/v1 (docs/api.md conventions, same Bearer tokens):
 * per-project rules, silences, and what the alert engine did (log, targets, outbox).
 */
export async function alertRoutes(app: FastifyInstance, { store, alerting }: AlertRouteDeps): Promise<void> {
  app.addHook('onRequest', requireApiToken(store));

  const projectOr404 = (idOrSlug: string): Promise<Project> => findProjectOr404(store, idOrSlug);

  app.get('/projects/:project/alert-rules', async (req: FastifyRequest<ProjectParams>) => {
    const project = await projectOr404(req.params.project);
    const settings = await store.getProjectSettings(project.id);
    // A stored override edited by hand may not parse: say so instead of answering 500.
    const stored = parseStoredRules(settings.alert_rules);
    const override = stored.problem ? {} : settings.alert_rules ? JSON.parse(settings.alert_rules) : {};
    return { override, ...(stored.problem ? { overrideProblem: `the stored alert_rules are ignored: ${stored.problem}` } : {}), effective: await alerting.rules.forProject(project) };
  });

  app.put('/projects/:project/alert-rules', { config: { role: 'admin' } }, async (req: FastifyRequest<ProjectParams>) => {
    const project = await projectOr404(req.params.project);
    const parsed = rulesOverrideSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw new ClientError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    // The input as sent is stored (it re-parses to the same rules); an empty object clears it.
    const body = req.body as Record<string, unknown>;
    await store.setProjectSetting(project.id, 'alert_rules', Object.keys(body).length ? JSON.stringify(body) : null);
    alerting.rules.forget(project.id);
    return { override: body, effective: resolveRules(alerting.rules.config, project.slug, await store.getProjectSettings(project.id)) };
  });

  app.get('/alerts', async (req: FastifyRequest<{ Querystring: { project?: string; limit?: string } }>) => {
    const project = req.query.project ? await projectOr404(req.query.project) : null;
    const limit = Math.min(500, Number(req.query.limit ?? 50) || 50);
    return {
      log: await alerting.alerts.recentLog({ ...(project ? { projectId: project.id } : {}), limit }),
      targets: await alerting.alerts.listTargets(),
      pending: await alerting.alerts.countOutbox('pending'),
      // Rows set aside after failing in Botpulse itself: never retried, shown with their reason.
      parked: await alerting.alerts.countOutbox('parked'),
      parkedRows: (await alerting.alerts.outbox({ status: 'parked', limit: 50 })).map((r) => ({
        id: r.id,
        projectId: r.projectId,
        issueId: r.issueId,
        channel: r.channel,
        target: r.target,
        createdAt: r.createdAt,
        attempts: r.attempts,
        reason: r.lastError,
      })),
      changesWaiting: await alerting.alerts.changeBacklog(),
    };
  });

  app.get('/silences', async () => alerting.alerts.activeSilences(Date.now()));

  app.post('/silences', { config: { role: 'admin' } }, async (req, reply) => {
    const input = newSilence.safeParse(req.body ?? {});
    if (!input.success) throw new ClientError(400, input.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const { project: slug, issueId, duration, until, reason } = input.data;
    const now = Date.now();
    const endsAt = until ? parseTime(until) : duration ? now + parseDuration(duration) : null;
    if (endsAt === null || endsAt <= now) throw new ClientError(400, 'give "duration" (e.g. "2h") or a future "until"');
    const project = slug ? await projectOr404(slug) : null;
    const silence = await alerting.alerts.addSilence({ projectId: project?.id ?? null, issueId: issueId ?? null, endsAt, createdBy: 'api', reason: reason ?? null, createdAt: now });
    return reply.code(201).send(silence);
  });

  app.delete('/silences/:id', { config: { role: 'admin' } }, async (req: FastifyRequest<{ Params: { id: string } }>, reply) => {
    await alerting.alerts.removeSilence(Number(req.params.id));
    return reply.code(204).send();
  });
}

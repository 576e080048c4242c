import type { FastifyInstance, FastifyRequest } from 'fastify';
import { projectOr404, requireApiToken } from '../http/api-access.js';
import { ClientError } from '../lib/errors.js';
import type { Store } from '../store/store.js';
import type { UpstreamStore } from '../store/upstream.js';
import { projectSettingsInput } from './config.js';
import type { UpstreamHandle } from './worker.js';

export interface UpstreamRouteDeps {
  store: Store;
  upstream: UpstreamStore;
  forwarder: UpstreamHandle;
}

type ProjectParams = { Params: { project: string } };

/**
 * Forwarding state and per-project settings under /api/v1 (docs/upstream.md, same Bearer tokens).
 * A project named in BOTPULSE_UPSTREAM_PROJECTS is decided by the file: its PUT/DELETE answer 409.
 */
export async function upstreamRoutes(app: FastifyInstance, { store, upstream, forwarder }: UpstreamRouteDeps): Promise<void> {
  app.addHook('onRequest', requireApiToken(store));
  const { settings } = forwarder;

  app.get('/upstream', async () => forwarder.snapshot());

  app.get('/projects/:project/upstream', async (req: FastifyRequest<ProjectParams>) => {
    const project = await projectOr404(store, req.params.project);
    return { project: project.slug, ...(await settings.effective(project)) };
  });

  app.put('/projects/:project/upstream', async (req: FastifyRequest<ProjectParams>) => {
    const project = await projectOr404(store, req.params.project);
    if (settings.decidedByConfig(project)) throw new ClientError(409, `project ${project.slug} is set in BOTPULSE_UPSTREAM_PROJECTS; change it there`);
    const parsed = projectSettingsInput.safeParse(req.body ?? {});
    if (!parsed.success) throw new ClientError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const { source: _source, ...current } = await settings.effective(project);
    const next = { ...current, ...Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) };
    await upstream.putProjectSettings(project.id, next, Date.now());
    forwarder.settingsChanged();
    return { project: project.slug, ...(await settings.effective(project)) };
  });

  app.delete('/projects/:project/upstream', async (req: FastifyRequest<ProjectParams>) => {
    const project = await projectOr404(store, req.params.project);
    if (settings.decidedByConfig(project)) throw new ClientError(409, `project ${project.slug} is set in BOTPULSE_UPSTREAM_PROJECTS; change it there`);
    await upstream.deleteProjectSettings(project.id);
    forwarder.settingsChanged();
    return { project: project.slug, ...(await settings.effective(project)) };
  });
}

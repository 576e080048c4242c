import type { FastifyRequest } from 'fastify';
import { ClientError } from '../lib/errors.js';
import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';

/**
 * An `onRequest` hook for every /api/v1 route group: `Authorization: Bearer <token>` with a token
 * from `botpulse token create`; 401 without one, 403 for one we don't know.
 */
export function requireApiToken(store: Store) {
  return async (req: FastifyRequest): Promise<void> => {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new ClientError(401, 'missing API token: send "Authorization: Bearer <token>" (create one with `botpulse token create`)');
    if (!(await store.verifyApiToken(token))) throw new ClientError(403, 'API token not recognised');
  };
}

/** The project named in a route by id or slug, or a 404 that says which. */
export async function projectOr404(store: Store, idOrSlug: string): Promise<Project> {
  const project = await store.getProject(idOrSlug);
  if (!project) throw new ClientError(404, `no project "${idOrSlug}"`);
  return project;
}

import type { FastifyRequest } from 'fastify';
import { ClientError } from '../lib/errors.js';
import { roleAtLeast, type ApiTokenSummary, type Project, type Role } from '../store/model.js';
import type { Store } from '../store/store.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The least role a state-changing request needs (dashboard user or API token). Unset: a
     * `member`; reads need none. Checked centrally (`requireApiToken`, the dashboard's session
     * hook), so no mutating route can forget it.
     */
    role?: Role;
  }
}

/** Requests that change something: every one of them needs at least a member. */
export function isMutating(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

/** The role a request needs: none for reads, the route's `config.role` (default member) for changes. */
export function roleNeeded(req: FastifyRequest): Role | null {
  if (!isMutating(req.method)) return null;
  return req.routeOptions.config?.role ?? 'member';
}

const tokensByRequest = new WeakMap<FastifyRequest, ApiTokenSummary>();

/** The API token of a request that passed `requireApiToken`. */
export function apiTokenOf(req: FastifyRequest): ApiTokenSummary | undefined {
  return tokensByRequest.get(req);
}

/**
 * An `onRequest` hook for every /api/v1 route group: `Authorization: Bearer <token>` with a token
 * from `botpulse token create` or the dashboard; 401 without one, 403 for one we don't know, and
 * 403 for a token whose role may not make this change (a viewer token reads only).
 */
export function requireApiToken(store: Store) {
  return async (req: FastifyRequest): Promise<void> => {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new ClientError(401, 'missing API token: send "Authorization: Bearer <token>" (create one with `botpulse token create`)');
    const found = await store.findApiToken(token, Date.now());
    if (!found) throw new ClientError(403, 'API token not recognised');
    tokensByRequest.set(req, found);
    const needed = roleNeeded(req);
    if (needed && !roleAtLeast(found.role, needed)) {
      throw new ClientError(403, `this API token's role (${found.role}) may not make this change; it needs ${needed === 'admin' ? 'an admin' : 'a member or admin'} token`);
    }
  };
}

/** The project named in a route by id or slug, or a 404 that says which. */
export async function projectOr404(store: Store, idOrSlug: string): Promise<Project> {
  const project = await store.getProject(idOrSlug);
  if (!project) throw new ClientError(404, `no project "${idOrSlug}"`);
  return project;
}

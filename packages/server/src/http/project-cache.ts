import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';

/** How long a project read for ingestion is reused: another process's key rotation or deletion is seen within this. */
const PROJECT_TTL_MS = 5_000;

/**
 * The projects ingestion authenticates against, read once per few seconds instead of per request.
 * `forget` drops them all: this process's own edits (a rotated key, a deletion) apply at once.
 */
export class ProjectCache {
  private readonly entries = new Map<string, { project: Project; at: number }>();

  constructor(
    private readonly store: Pick<Store, 'getProject'>,
    private readonly now: () => number = Date.now,
  ) {}

  readonly find = async (id: string): Promise<Project | null> => {
    const hit = this.entries.get(id);
    if (hit && this.now() - hit.at < PROJECT_TTL_MS) return hit.project;
    if (!/^\d+$/.test(id) && !/^[a-z0-9-]+$/.test(id)) return null;
    const project = await this.store.getProject(id);
    if (project) this.entries.set(id, { project, at: this.now() });
    else this.entries.delete(id);
    return project;
  };

  forget(): void {
    this.entries.clear();
  }
}

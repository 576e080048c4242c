import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import type { UpstreamKind, UpstreamProjectSettings, UpstreamStore } from '../store/upstream.js';
import { DEFAULT_PROJECT_SETTINGS, type UpstreamConfig } from './config.js';

/** Where a project's settings come from, in the order they win. */
export type SettingsSource = 'config' | 'api' | 'default';

export interface EffectiveSettings extends UpstreamProjectSettings {
  source: SettingsSource;
}

export interface ResolvedSettings {
  of(projectId: number): UpstreamProjectSettings;
  /** Some project forwards this kind (a kind nobody forwards is not read at all). */
  anyForwards(kind: UpstreamKind): boolean;
}

/** How long the forwarder reuses the projects and API settings it read. */
const CACHE_MS = 2000;

/**
 * Per-project settings: BOTPULSE_UPSTREAM_PROJECTS names a project by slug or id and wins over
 * the API for it (as BOTPULSE_MONITORS does for its monitors); the API's rows come next; then the
 * config's `*` entry; then events only, every one, on.
 */
export class ProjectSettings {
  private cached: { at: number; value: ResolvedSettings } | null = null;

  constructor(
    private readonly config: UpstreamConfig,
    private readonly upstream: UpstreamStore,
    private readonly store: Pick<Store, 'listProjects'>,
  ) {}

  /** The settings of one project, and where they come from. */
  async effective(project: Project): Promise<EffectiveSettings> {
    const fromFile = this.fromConfig(project);
    if (fromFile) return { ...fromFile, source: 'config' };
    const fromApi = (await this.upstream.projectSettings()).get(project.id);
    if (fromApi) return { ...fromApi, source: 'api' };
    return { ...(this.config.projects['*'] ?? DEFAULT_PROJECT_SETTINGS), source: 'default' };
  }

  /** True if the config file decides this project's settings (the API then refuses to change them). */
  decidedByConfig(project: Project): boolean {
    return this.fromConfig(project) !== null;
  }

  /** Forget what was read: the API changed a project. */
  invalidate(): void {
    this.cached = null;
  }

  async resolve(now = Date.now()): Promise<ResolvedSettings> {
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached.value;
    const [projects, api] = await Promise.all([this.store.listProjects(), this.upstream.projectSettings()]);
    const fallback = this.config.projects['*'] ?? DEFAULT_PROJECT_SETTINGS;
    const byId = new Map<number, UpstreamProjectSettings>();
    for (const project of projects) byId.set(project.id, this.fromConfig(project) ?? api.get(project.id) ?? fallback);
    const value: ResolvedSettings = {
      // A project created after this read gets the default until the next one.
      of: (projectId) => byId.get(projectId) ?? fallback,
      anyForwards: (kind) => [...byId.values(), fallback].some((s) => s.enabled && s.kinds.includes(kind)),
    };
    this.cached = { at: now, value };
    return value;
  }

  private fromConfig(project: Project): UpstreamProjectSettings | null {
    return this.config.projects[project.slug] ?? this.config.projects[String(project.id)] ?? null;
  }
}

import { createHash } from 'node:crypto';
import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import type { GithubConfig } from './config.js';

/**
 * One project's GitHub settings as they apply now: the config (BOTPULSE_GITHUB for its slug,
 * BOTPULSE_GITHUB_TOKEN, BOTPULSE_GITHUB_LABELS) under the API's settings, field by field, kept
 * in the project's settings (`github.*` keys).
 */
export interface ProjectGithub {
  projectId: number;
  slug: string;
  repo: string | null;
  token: string | null;
  labels: string[];
  /** Automatic creation at this many events; 0: off. */
  autoCreateAt: number;
  closeOnResolve: boolean;
  /** The project's own webhook secret (API, then config); null: BOTPULSE_GITHUB_WEBHOOK_SECRET applies. */
  webhookSecret: string | null;
  /** Set after a permanent error (bad token, repository gone) with these settings; cleared when they change. */
  disabled: { reason: string; at: number } | null;
}

export const KEYS = {
  repo: 'github.repo',
  token: 'github.token',
  labels: 'github.labels',
  autoCreateAt: 'github.auto_create_at',
  closeOnResolve: 'github.close_on_resolve',
  webhookSecret: 'github.webhook_secret',
  disabled: 'github.disabled',
} as const;

export function isConfigured(s: ProjectGithub): s is ProjectGithub & { repo: string; token: string } {
  return s.repo !== null && s.token !== null;
}

/** Which repository and token a disabled mark was set for (the token hashed, never stored). */
export function settingsKey(s: Pick<ProjectGithub, 'repo' | 'token'>): string {
  return createHash('sha256').update(`${s.repo ?? ''}\u0000${s.token ?? ''}`).digest('hex').slice(0, 16);
}

/** The secret a delivery for this project is signed with: its own, else the global one, else none. */
export function webhookSecretOf(s: Pick<ProjectGithub, 'webhookSecret'>, config: Pick<GithubConfig, 'webhookSecret'>): string | null {
  return s.webhookSecret ?? config.webhookSecret;
}

/** `…a1b2`: the last four characters, enough to tell two tokens apart. */
export function maskToken(token: string | null): string | null {
  return token === null ? null : `…${token.slice(-4)}`;
}

export async function projectGithub(store: Store, config: GithubConfig, project: Pick<Project, 'id' | 'slug'>): Promise<ProjectGithub> {
  const stored = await store.getProjectSettings(project.id);
  const file = config.projects[project.slug];
  const repo = stored[KEYS.repo] ?? file?.repo ?? null;
  const token = stored[KEYS.token] ?? file?.token ?? config.defaultToken;
  const settings: ProjectGithub = {
    projectId: project.id,
    slug: project.slug,
    repo,
    token,
    labels: parseLabels(stored[KEYS.labels]) ?? file?.labels ?? config.defaultLabels,
    autoCreateAt: numberOr(stored[KEYS.autoCreateAt], file?.autoCreateAt ?? 0),
    closeOnResolve: stored[KEYS.closeOnResolve] !== undefined ? stored[KEYS.closeOnResolve] === 'true' : (file?.closeOnResolve ?? false),
    webhookSecret: stored[KEYS.webhookSecret] ?? file?.webhookSecret ?? null,
    disabled: null,
  };
  settings.disabled = disabledMark(stored[KEYS.disabled], settingsKey(settings));
  return settings;
}

export async function markDisabled(store: Store, settings: ProjectGithub, reason: string, at: number): Promise<void> {
  await store.setProjectSetting(settings.projectId, KEYS.disabled, JSON.stringify({ reason, at, key: settingsKey(settings) }));
}

export async function clearDisabled(store: Store, projectId: number): Promise<void> {
  await store.setProjectSetting(projectId, KEYS.disabled, null);
}

function disabledMark(text: string | undefined, key: string): ProjectGithub['disabled'] {
  if (!text) return null;
  try {
    const mark = JSON.parse(text) as { reason?: unknown; at?: unknown; key?: unknown };
    if (mark.key !== key) return null; // set for other settings: the new ones get their chance
    return { reason: String(mark.reason), at: Number(mark.at) };
  } catch {
    return null;
  }
}

function parseLabels(text: string | undefined): string[] | null {
  if (text === undefined) return null;
  try {
    const labels = JSON.parse(text) as unknown;
    return Array.isArray(labels) ? labels.filter((l): l is string => typeof l === 'string') : null;
  } catch {
    return null;
  }
}

function numberOr(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return text !== undefined && Number.isInteger(n) && n >= 0 ? n : fallback;
}

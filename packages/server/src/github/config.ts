import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { jsonKey } from '../lib/json-key.js';

/**
 * GitHub settings (docs/github.md): the zod pieces `config/schema.ts` uses for the GitHub keys and
 * the typed `GithubConfig` `config/load.ts` builds from them. Per project, the API's settings
 * (stored in the project's settings) win over these, field by field.
 */

/** `owner/name`, as GitHub allows them (letters, digits, `-`, `_`, `.`). */
export const repoSpec = z.string().regex(/^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/, 'expected a repository as owner/name');
/** Fine-grained tokens (`github_pat_…`), classic ones (`ghp_…`) and App installation tokens (`ghs_…`). */
export const tokenSpec = z.string().regex(/^\S{20,255}$/, 'expected a GitHub token (github_pat_…, ghp_… or an App installation token ghs_…)');
export const labelsSpec = z.array(z.string().trim().min(1).max(50)).max(20);
/** A GitHub webhook's secret, as GitHub's form takes it; long enough not to be guessed. */
export const webhookSecretSpec = z.string().min(16, 'at least 16 characters').max(255);
/** Automatic creation at this many events; 0 is off. */
export const autoCreateSpec = z.number().int().min(0).max(1_000_000);

const projectSchema = z
  .object({
    repo: repoSpec,
    token: tokenSpec.optional(),
    /** A file holding the token (the `*_FILE` convention, per project). */
    tokenFile: z.string().min(1).optional(),
    labels: labelsSpec.optional(),
    autoCreateAt: autoCreateSpec.optional(),
    closeOnResolve: z.boolean().optional(),
    /** This project's webhook secret (BOTPULSE_GITHUB_WEBHOOK_SECRET is the fallback). */
    webhookSecret: webhookSecretSpec.optional(),
    webhookSecretFile: z.string().min(1).optional(),
  })
  .strict()
  .transform((p, ctx) => {
    const token = p.tokenFile ? readSecretFile('tokenFile', p.tokenFile, ctx) : (p.token ?? null);
    const webhookSecret = p.webhookSecretFile ? readSecretFile('webhookSecretFile', p.webhookSecretFile, ctx) : (p.webhookSecret ?? null);
    if (token === undefined || webhookSecret === undefined) return z.NEVER;
    if (webhookSecret !== null && webhookSecret.length < 16) {
      ctx.addIssue({ code: 'custom', message: 'webhookSecretFile: the secret needs at least 16 characters' });
      return z.NEVER;
    }
    return { repo: p.repo, token, labels: p.labels, autoCreateAt: p.autoCreateAt, closeOnResolve: p.closeOnResolve, webhookSecret };
  });

/** A `*File` value's content, trimmed; undefined (and an issue naming the key, never the content) when unreadable. */
function readSecretFile(key: string, path: string, ctx: z.RefinementCtx): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `${key} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}` });
    return undefined;
  }
}

export type GithubProjectFile = z.output<typeof projectSchema>;

export const githubConfigKeys = {
  BOTPULSE_GITHUB_API_URL: z.url().default('https://api.github.com'),
  /** The token of every project that names none (one token often covers an organisation's repositories). */
  BOTPULSE_GITHUB_TOKEN: tokenSpec.optional(),
  /** Per project slug: `{"pay-bot": {"repo": "acme/pay-bot", "labels": ["bug"], "autoCreateAt": 3}}`. */
  BOTPULSE_GITHUB: jsonKey(z.record(z.string(), projectSchema)).prefault(''),
  BOTPULSE_GITHUB_LABELS: z.string().default('botpulse'),
  /** The webhook secret of every project that has none of its own. */
  BOTPULSE_GITHUB_WEBHOOK_SECRET: webhookSecretSpec.optional(),
  BOTPULSE_GITHUB_TIMEOUT_SECONDS: z.coerce.number().min(1).max(120).default(15),
};

type GithubKeysOutput = z.output<z.ZodObject<typeof githubConfigKeys>>;

export interface GithubConfig {
  apiUrl: string;
  defaultToken: string | null;
  projects: Record<string, GithubProjectFile>;
  defaultLabels: string[];
  webhookSecret: string | null;
  timeoutMs: number;
}

export function toGithubConfig(raw: GithubKeysOutput): GithubConfig {
  return {
    apiUrl: raw.BOTPULSE_GITHUB_API_URL.replace(/\/+$/, ''),
    defaultToken: raw.BOTPULSE_GITHUB_TOKEN ?? null,
    projects: raw.BOTPULSE_GITHUB,
    defaultLabels: raw.BOTPULSE_GITHUB_LABELS.split(',').map((s) => s.trim()).filter(Boolean),
    webhookSecret: raw.BOTPULSE_GITHUB_WEBHOOK_SECRET ?? null,
    timeoutMs: raw.BOTPULSE_GITHUB_TIMEOUT_SECONDS * 1000,
  };
}

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { escapeHtml } from '../alerts/channels/telegram/format.js';
import { ClientError } from '../lib/errors.js';
import type { GithubLink, GithubStore } from '../store/github.js';
import type { Issue, Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import type { GithubConfig } from './config.js';
import { clearDisabled, isConfigured, KEYS, maskToken, projectGithub, webhookSecretOf, type ProjectGithub } from './settings.js';
import type { GithubStats } from './stats.js';
import type { GithubWorker } from './worker.js';

export interface GithubServiceDeps {
  store: Store;
  github: GithubStore;
  config: GithubConfig;
  stats: GithubStats;
  logger: Logger;
  worker: GithubWorker;
  now?: () => number;
}

/** A settings change from the API; `null` removes the API's value (the config's applies again). */
export interface SettingsPatch {
  repo?: string | null;
  token?: string | null;
  labels?: string[] | null;
  autoCreateAt?: number | null;
  closeOnResolve?: boolean | null;
  webhookSecret?: string | null;
}

/** Who may have signed a webhook delivery: each candidate project with the secret it uses. */
interface WebhookTarget {
  candidates: { projectId: number; secret: string }[];
  /** Named in the URL (`/api/github/webhook/:project`). */
  named: Project | null;
}

export interface WebhookAnswer {
  status: number;
  body: { ok: boolean; result: string; message?: string };
}

/**
 * The GitHub integration's entry points for the API, the dashboard, the CLI and the alert bot:
 * ask for an issue's GitHub issue, read and change a project's settings, apply GitHub's webhooks.
 */
export class GithubService {
  private readonly now: () => number;

  constructor(private readonly deps: GithubServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  get worker(): GithubWorker {
    return this.deps.worker;
  }

  get stats(): GithubStats {
    return this.deps.stats;
  }

  get links(): GithubStore {
    return this.deps.github;
  }

  async settings(project: Pick<Project, 'id' | 'slug'>): Promise<ProjectGithub> {
    return projectGithub(this.deps.store, this.deps.config, project);
  }

  /** Whether the project can have GitHub issues now (configured, not disabled): the alert bot's button. */
  async offers(projectId: number): Promise<boolean> {
    const project = await this.deps.store.getProject(projectId);
    if (!project) return false;
    const s = await this.settings(project);
    return isConfigured(s) && !s.disabled;
  }

  /**
   * Queues the creation of the issue's GitHub issue, or answers the link it has. Two callers at
   * once (two presses, two processes) get the one link: the first claim wins (GithubStore).
   */
  async requestCreate(issue: Issue, requestedBy: string): Promise<{ link: GithubLink; claimed: boolean }> {
    const project = await this.deps.store.getProject(issue.projectId);
    if (!project) throw new ClientError(404, `no project ${issue.projectId}`);
    const s = await this.settings(project);
    if (!isConfigured(s)) throw new ClientError(409, `GitHub is not configured for project "${project.slug}": set a repository and a token (docs/github.md)`);
    if (s.disabled) throw new ClientError(409, `the GitHub link of project "${project.slug}" is disabled: ${s.disabled.reason}. Change its token or repository (PUT /api/v1/projects/${project.slug}/github) to enable it again`);
    const result = await this.deps.github.requestCreate({ issueId: issue.id, projectId: project.id, repo: s.repo, requestedBy, now: this.now() });
    // Asked again after the creation was given up (GitHub refused it): try again.
    if (!result.claimed && result.link.state === 'pending') await this.deps.github.requeueFailed(project.id, this.now());
    this.deps.worker.kick();
    return result;
  }

  async updateSettings(project: Project, patch: SettingsPatch): Promise<ProjectGithub> {
    const { store } = this.deps;
    const set = (key: string, value: string | null | undefined) => (value === undefined ? undefined : store.setProjectSetting(project.id, key, value));
    await set(KEYS.repo, patch.repo);
    await set(KEYS.token, patch.token);
    await set(KEYS.labels, patch.labels === undefined ? undefined : patch.labels === null ? null : JSON.stringify(patch.labels));
    await set(KEYS.autoCreateAt, patch.autoCreateAt === undefined ? undefined : patch.autoCreateAt === null ? null : String(patch.autoCreateAt));
    await set(KEYS.closeOnResolve, patch.closeOnResolve === undefined ? undefined : patch.closeOnResolve === null ? null : String(patch.closeOnResolve));
    await set(KEYS.webhookSecret, patch.webhookSecret);
    if (patch.repo !== undefined || patch.token !== undefined) {
      await clearDisabled(store, project.id);
      await this.deps.github.requeueFailed(project.id, this.now());
      await this.deps.github.dueNow(project.id, this.now());
      this.deps.worker.kick();
    }
    this.deps.logger.info({ project: project.slug, fields: Object.keys(patch) }, 'github: project settings changed');
    return this.settings(project);
  }

  /** The settings as the API and the dashboard show them: the token and the webhook secret as their last four characters. */
  present(s: ProjectGithub) {
    const globalSecret = this.deps.config.webhookSecret;
    return {
      repo: s.repo,
      token: maskToken(s.token),
      webhookSecret: maskToken(webhookSecretOf(s, this.deps.config)),
      // project: its own secret; global: BOTPULSE_GITHUB_WEBHOOK_SECRET; null: deliveries are refused.
      webhookSecretFrom: s.webhookSecret !== null ? 'project' : globalSecret !== null ? 'global' : null,
      webhookUrl: `/api/github/webhook/${s.slug}`,
      labels: s.labels,
      autoCreateAt: s.autoCreateAt,
      closeOnResolve: s.closeOnResolve,
      configured: isConfigured(s),
      disabled: s.disabled ? { reason: s.disabled.reason, at: new Date(s.disabled.at).toISOString() } : null,
    };
  }

  /** `/status` lines (Telegram HTML): projects whose link is disabled, and given-up jobs. */
  async statusLines(): Promise<string[]> {
    const lines: string[] = [];
    for (const project of await this.deps.store.listProjects()) {
      const s = await this.settings(project);
      if (s.disabled) lines.push(`⚠️ GitHub link of ${escapeHtml(project.name)} disabled: ${escapeHtml(s.disabled.reason)}`);
    }
    const failed = (await this.deps.github.listJobs({ status: 'failed' })).length;
    if (failed) lines.push(`⚠️ ${failed} GitHub call${failed === 1 ? '' : 's'} given up (GET /api/v1/github/jobs?status=failed)`);
    return lines;
  }

  /**
   * A GitHub webhook delivery (`POST /api/github/webhook[/:project]`): the signature checked over
   * the raw body with the secret of the project the delivery is for (its own, else the global
   * one), then an `issues` event applied to the linked Botpulse issue of that project only.
   */
  async handleWebhook(headers: Record<string, string | string[] | undefined>, body: Buffer, projectRef?: string): Promise<WebhookAnswer> {
    const { stats } = this.deps;
    const payload = parsePayload(body);
    const target = await this.webhookTarget(projectRef, payload);
    if (projectRef !== undefined && !target.named) return { status: 404, body: { ok: false, result: 'invalid', message: `no project "${projectRef}"` } };
    if (!target.candidates.length) {
      stats.count(stats.webhooks, 'no_secret');
      return { status: 503, body: { ok: false, result: 'no_secret', message: 'no webhook secret is set for this project (PUT /api/v1/projects/<project>/github {"webhookSecret"}, or BOTPULSE_GITHUB_WEBHOOK_SECRET): webhooks cannot be verified, so none is accepted' } };
    }
    const signature = header(headers, 'x-hub-signature-256');
    const verified = target.candidates.filter((c) => signatureMatches(c.secret, body, signature)).map((c) => c.projectId);
    if (!verified.length) {
      stats.count(stats.webhooks, 'bad_signature');
      this.deps.logger.warn({ delivery: header(headers, 'x-github-delivery'), project: target.named?.slug }, 'github: webhook with a missing or wrong X-Hub-Signature-256 refused');
      return { status: 401, body: { ok: false, result: 'bad_signature', message: 'X-Hub-Signature-256 missing or wrong (check the webhook secret of the project this repository belongs to)' } };
    }
    const event = header(headers, 'x-github-event');
    if (!payload) {
      stats.count(stats.webhooks, 'invalid');
      return { status: 400, body: { ok: false, result: 'invalid', message: 'the body is not JSON (set the webhook\'s content type to application/json)' } };
    }
    if (event === 'ping') return this.webhookResult('ignored', 'pong');
    if (event !== 'issues') return this.webhookResult('ignored', `event ${event ?? '(none)'} is not used`);
    return this.applyIssueEvent(payload, verified);
  }

  /**
   * The projects a delivery may be for, each with its secret. Named in the URL: that one. Else the
   * project of the linked issue it names; else every project set to its repository; else (no
   * project knows it) the global secret alone, which then verifies a delivery that changes nothing.
   */
  private async webhookTarget(projectRef: string | undefined, payload: WebhookPayload | null): Promise<WebhookTarget> {
    const { store, config } = this.deps;
    const withSecret = async (project: Project) => {
      const secret = webhookSecretOf(await this.settings(project), config);
      return secret === null ? [] : [{ projectId: project.id, secret }];
    };
    if (projectRef !== undefined) {
      const named = await store.getProject(projectRef);
      return { named, candidates: named ? await withSecret(named) : [] };
    }
    const repo = typeof payload?.repository?.full_name === 'string' ? payload.repository.full_name : null;
    const number = typeof payload?.issue?.number === 'number' ? payload.issue.number : null;
    const link = repo !== null && number !== null ? await this.deps.github.findLink(repo, number) : null;
    const linkedProject = link ? await store.getProject(link.projectId) : null;
    if (linkedProject) return { named: null, candidates: await withSecret(linkedProject) };
    const candidates: WebhookTarget['candidates'] = [];
    if (repo !== null) {
      for (const project of await store.listProjects()) {
        const s = await this.settings(project);
        if (s.repo?.toLowerCase() === repo.toLowerCase()) candidates.push(...(await withSecret(project)));
      }
    }
    if (!candidates.length && config.webhookSecret !== null) candidates.push({ projectId: -1, secret: config.webhookSecret });
    return { named: null, candidates };
  }

  /** `projectIds`: the projects whose secret signed the delivery; another project's issue is left alone. */
  private async applyIssueEvent(payload: WebhookPayload, projectIds: number[]): Promise<WebhookAnswer> {
    const repo = payload.repository?.full_name;
    const number = payload.issue?.number;
    const actor = typeof payload.sender?.login === 'string' ? payload.sender.login : 'unknown';
    if (typeof repo !== 'string' || typeof number !== 'number') {
      this.deps.stats.count(this.deps.stats.webhooks, 'invalid');
      return { status: 400, body: { ok: false, result: 'invalid', message: 'an issues event needs repository.full_name and issue.number' } };
    }
    const link = await this.deps.github.findLink(repo, number);
    const issue = link ? await this.deps.store.getIssue(link.issueId) : null;
    if (!link || !issue || !projectIds.includes(link.projectId)) return this.webhookResult('ignored', `${repo}#${number} is not linked to a Botpulse issue of this project`);
    const at = this.now();
    if (payload.action === 'closed') {
      const reason = payload.issue?.state_reason ?? 'completed';
      if (reason !== 'completed') {
        await this.deps.github.recordAction(issue.id, { action: `closed_${reason}`, actor, at, githubState: 'closed' });
        return this.webhookResult('applied', `closed as ${reason}: ${issue.shortId} left as it is`);
      }
      if (issue.status === 'resolved' && link.githubState === 'closed') return this.webhookResult('ignored', `${issue.shortId} is resolved already`);
      if (issue.status !== 'resolved') await this.deps.store.setIssueStatus(issue.id, { status: 'resolved', actor: { kind: 'github', name: actor } });
      await this.deps.github.recordAction(issue.id, { action: 'closed', actor, at, githubState: 'closed' });
      this.deps.logger.info({ issue: issue.shortId, repo, number, by: actor }, 'github: issue closed on GitHub; resolved in Botpulse');
      return this.webhookResult('applied', `${issue.shortId} resolved`);
    }
    if (payload.action === 'reopened') {
      if (issue.status === 'resolved') await this.deps.store.setIssueStatus(issue.id, { status: 'new', actor: { kind: 'github', name: actor } });
      await this.deps.github.recordAction(issue.id, { action: 'reopened', actor, at, githubState: 'open' });
      this.deps.logger.info({ issue: issue.shortId, repo, number, by: actor }, 'github: issue reopened on GitHub; reopened in Botpulse');
      return this.webhookResult('applied', `${issue.shortId} reopened`);
    }
    return this.webhookResult('ignored', `action ${String(payload.action)} is not used`);
  }

  private webhookResult(result: 'applied' | 'ignored', message: string): WebhookAnswer {
    this.deps.stats.count(this.deps.stats.webhooks, result);
    return { status: 200, body: { ok: true, result, message } };
  }
}

interface WebhookPayload {
  action?: string;
  issue?: { number?: number; state_reason?: string | null };
  repository?: { full_name?: string };
  sender?: { login?: string };
}

function parsePayload(body: Buffer): WebhookPayload | null {
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as WebhookPayload) : null;
  } catch {
    return null;
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, compared in constant time. */
export function signatureMatches(secret: string, body: Buffer, signature: string | undefined): boolean {
  if (!signature?.startsWith('sha256=')) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

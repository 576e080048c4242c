import type { Logger } from 'pino';
import { reportFailure } from '../lib/failures.js';
import { TurnLoop } from '../lib/turn-loop.js';
import type { GithubJob, GithubStore } from '../store/github.js';
import { SYSTEM_ACTOR, type Project } from '../store/model.js';
import type { Store } from '../store/store.js';
import { GithubCallError, GithubClient, classify } from './client.js';
import type { GithubConfig } from './config.js';
import { issueBody, issueMarker, issueTitle } from './issue-body.js';
import { isConfigured, markDisabled, projectGithub, type ProjectGithub } from './settings.js';
import type { GithubStats } from './stats.js';

export interface GithubWorkerDeps {
  store: Store;
  github: GithubStore;
  config: GithubConfig;
  publicUrl: string;
  logger: Logger;
  stats: GithubStats;
  workerId: string;
  now?: () => number;
  /** Between turns when there is nothing due (tests shorten it). */
  idleMs?: number;
}

/**
 * A claim outlives the job it covers: at most 4 calls (3 pages of the marker search and the
 * create), each ended by BOTPULSE_GITHUB_TIMEOUT_SECONDS, plus a margin for the database. No
 * longer than that: a process killed mid-call (kill -9, a crash) holds its jobs until then.
 */
export function leaseMs(timeoutMs: number): number {
  return 4 * timeoutMs + 20_000;
}
const MAX_BACKOFF_MS = 5 * 60_000;
/**
 * A job still failing transiently this long after it was queued is given up (as alert rows are).
 * Counted in time, not tries: waits for a rate limit or a disabled link count tries too.
 */
const GIVE_UP_AFTER_MS = 24 * 3_600_000;
/** A disabled project's jobs look again this often (its settings may have changed). */
const DISABLED_RECHECK_MS = 30_000;
/** Automatic creation looks at issues seen within this window only: turning it on does not file every old issue. */
export const AUTO_CREATE_WINDOW_MS = 24 * 3_600_000;

/**
 * Drains the durable GitHub queue (github_jobs): creates issues, closes them when resolved in
 * Botpulse, and each turn adds the jobs automatic creation and close-on-resolve call for. Every
 * call's outcome decides the job's fate: done, retried with backoff, retried at GitHub's rate-limit
 * reset, or (a bad token, a repository gone) the project's link disabled until its settings change.
 */
export class GithubWorker {
  private readonly loop: TurnLoop;
  /** Projects GitHub rate-limited, until when (ms): their jobs wait without a call. */
  private readonly pausedUntil = new Map<number, number>();
  private readonly now: () => number;

  constructor(private readonly deps: GithubWorkerDeps) {
    this.now = deps.now ?? Date.now;
    this.loop = new TurnLoop({
      turn: async () => void (await this.runOnce()),
      failed: (err) => reportFailure(deps.logger, 'github_turn', err, 'github: a queue turn failed; trying again at the next', {}, 'warn'),
      waitMs: () => deps.idleMs ?? 1_000,
    });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Something was queued: look now rather than at the next turn. */
  kick(): void {
    this.loop.kick();
  }

  /** One turn: queue what the projects' rules call for, then work the due jobs. Returns the jobs worked. */
  async runOnce(): Promise<number> {
    const projects = await this.deps.store.listProjects();
    const settings = new Map<number, { project: Project; settings: ProjectGithub }>();
    for (const project of projects) settings.set(project.id, { project, settings: await projectGithub(this.deps.store, this.deps.config, project) });
    for (const { settings: s } of settings.values()) await this.queueByRules(s);
    const jobs = await this.deps.github.claimJobs(this.deps.workerId, this.now(), leaseMs(this.deps.config.timeoutMs), 20);
    for (const job of jobs) {
      const entry = settings.get(job.projectId);
      if (!entry) await this.deps.github.failJob(job.id, this.deps.workerId, 'the project no longer exists');
      else await this.work(job, entry.project, entry.settings);
    }
    return jobs.length;
  }

  private async queueByRules(s: ProjectGithub): Promise<void> {
    if (!isConfigured(s) || s.disabled) return;
    const now = this.now();
    if (s.autoCreateAt > 0) {
      for (const issueId of await this.deps.github.autoCreateCandidates(s.projectId, s.autoCreateAt, now - AUTO_CREATE_WINDOW_MS, 20)) {
        const { claimed } = await this.deps.github.requestCreate({ issueId, projectId: s.projectId, repo: s.repo, requestedBy: 'auto', now });
        if (claimed) this.deps.logger.info({ issueId, project: s.slug, at: s.autoCreateAt }, 'github: issue reached the automatic creation count; queued');
      }
    }
    if (s.closeOnResolve) {
      for (const link of await this.deps.github.resolvedButOpen(s.projectId, 20)) await this.deps.github.enqueueClose(link.issueId, s.projectId, now);
    }
  }

  private async work(job: GithubJob, project: Project, s: ProjectGithub): Promise<void> {
    const { github, workerId } = this.deps;
    const now = this.now();
    if (!isConfigured(s)) return github.failJob(job.id, workerId, `GitHub is not configured for project ${s.slug} (repository and token)`);
    if (s.disabled) return github.retryJob(job.id, workerId, now + DISABLED_RECHECK_MS, `GitHub link disabled: ${s.disabled.reason}`);
    const paused = this.pausedUntil.get(s.projectId) ?? 0;
    if (paused > now) return github.retryJob(job.id, workerId, paused, 'waiting for GitHub\'s rate limit to reset');
    const client = new GithubClient(this.deps.config.apiUrl, s.token, this.deps.config.timeoutMs, this.now);
    try {
      if (job.kind === 'create') await this.create(job, project, s, client);
      else await this.close(job, s, client);
      this.deps.stats.count(this.deps.stats.calls, 'ok');
    } catch (err) {
      await this.failed(job, s, classify(err, this.now()));
    }
  }

  private async create(job: GithubJob, project: Project, s: ProjectGithub, client: GithubClient): Promise<void> {
    const { github, store, workerId } = this.deps;
    const link = await github.getLink(job.issueId);
    const issue = await store.getIssue(job.issueId);
    if (!link || link.state === 'linked' || !issue) return github.finishJob(job.id, workerId);
    const marker = issueMarker(issue, project);
    // A try before this one may have created the issue and lost the answer (a timeout, a kill -9):
    // look for it before creating another.
    if (job.attempts > 1) {
      const found = await client.findByMarker(link.repo, marker);
      if (found) {
        await github.completeCreate(job.id, issue.id, found.number, found.url, this.now());
        await this.recordLinked(issue.id, link.repo, found, link.requestedBy);
        this.deps.stats.found++;
        this.deps.logger.info({ issue: issue.shortId, number: found.number, repo: link.repo }, 'github: found the issue an earlier try created; linked');
        return;
      }
    }
    const event = await store.latestEvent(issue.id).catch(() => null);
    const body = issueBody(issue, project, event, this.deps.publicUrl);
    const created = await client.createIssue(link.repo, { title: issueTitle(issue), body, labels: s.labels });
    await github.completeCreate(job.id, issue.id, created.number, created.url, this.now());
    await this.recordLinked(issue.id, link.repo, created, link.requestedBy);
    this.deps.stats.created++;
    this.deps.logger.info({ issue: issue.shortId, number: created.number, repo: link.repo, by: link.requestedBy }, 'github: issue created');
  }

  /** The link in the issue's history (docs/dashboard.md), by the system on behalf of who asked. */
  private async recordLinked(issueId: number, repo: string, ref: { number: number; url: string }, requestedBy: string): Promise<void> {
    await this.deps.store.addIssueHistory(issueId, SYSTEM_ACTOR, 'linked', { kind: 'github', repo, number: ref.number, url: ref.url, requestedBy });
  }

  private async close(job: GithubJob, s: ProjectGithub, client: GithubClient): Promise<void> {
    const { github, store, workerId } = this.deps;
    const link = await github.getLink(job.issueId);
    const issue = await store.getIssue(job.issueId);
    if (!link || link.number === null || link.githubState === 'closed' || issue?.status !== 'resolved') return github.finishJob(job.id, workerId);
    const release = issue.resolvedInRelease ? ` in release \`${issue.resolvedInRelease}\`` : '';
    await client.closeIssue(link.repo, link.number, `Resolved in Botpulse${release} (${issue.shortId}). Closed by Botpulse; it reopens this issue's Botpulse twin only if you reopen it here.`);
    await github.recordAction(issue.id, { action: 'closed_from_botpulse', actor: 'botpulse', at: this.now(), githubState: 'closed' });
    await github.finishJob(job.id, workerId);
    this.deps.logger.info({ issue: issue.shortId, number: link.number, repo: link.repo, project: s.slug }, 'github: issue closed (resolved in Botpulse)');
  }

  private async failed(job: GithubJob, s: ProjectGithub, err: GithubCallError): Promise<void> {
    const { github, workerId, logger, stats } = this.deps;
    const now = this.now();
    stats.count(stats.calls, err.kind);
    const context = { project: s.slug, issueId: job.issueId, job: job.kind, attempts: job.attempts, status: err.status };
    switch (err.kind) {
      case 'rate_limited': {
        const at = err.retryAt ?? now + 60_000;
        this.pausedUntil.set(s.projectId, at);
        logger.warn({ ...context, retryAt: new Date(at).toISOString() }, 'github: rate limited; waiting for the reset');
        return github.retryJob(job.id, workerId, at, err.message);
      }
      case 'permanent':
        await markDisabled(this.deps.store, s, err.message, now);
        stats.disabled++;
        logger.error({ ...context, reason: err.message }, 'github: permanent error; the project\'s GitHub link is disabled until its repository or token changes');
        return github.retryJob(job.id, workerId, now + DISABLED_RECHECK_MS, err.message);
      case 'invalid':
        logger.error({ ...context, reason: err.message }, 'github: GitHub refused the request; job failed');
        return github.failJob(job.id, workerId, err.message);
      case 'transient': {
        if (now - job.createdAt >= GIVE_UP_AFTER_MS) {
          logger.error({ ...context, reason: err.message }, 'github: giving up after repeated failures; job failed');
          return github.failJob(job.id, workerId, err.message);
        }
        const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, job.attempts - 1));
        logger.warn({ ...context, reason: err.message, retryInMs: delay }, 'github: call failed; retrying');
        return github.retryJob(job.id, workerId, now + delay, err.message);
      }
    }
  }
}

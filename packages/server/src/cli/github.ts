import { pino } from 'pino';
import { createGithub } from '../github/index.js';
import { presentLink } from '../github/routes.js';
import type { Issue } from '../store/model.js';
import type { Store } from '../store/store.js';
import { githubStoreFor } from '../stores.js';
import { printJson, withStore } from './context.js';

export interface GithubCreateOptions {
  project?: string;
  json?: boolean;
  /** Seconds to wait for GitHub's answer before leaving the job to the server. */
  wait?: string;
}

/**
 * `botpulse github create B-012`: queues the GitHub issue (one per Botpulse issue, whoever asks)
 * and works the queue here until it is linked, so it also works with no server running.
 */
export async function githubCreate(shortId: string, opts: GithubCreateOptions): Promise<void> {
  await withStore(async (store, config) => {
    const issue = await findIssue(store, shortId.toUpperCase(), opts.project);
    const github = createGithub(config, store, githubStoreFor(store), pino({ level: 'silent' }));
    const { link, claimed } = await github.requestCreate(issue, 'cli');
    const deadline = Date.now() + Number(opts.wait ?? 60) * 1000;
    let now = link;
    while (now.state !== 'linked' && Date.now() < deadline) {
      if ((await github.worker.runOnce()) === 0) await new Promise((r) => setTimeout(r, 250));
      now = (await github.links.getLink(issue.id)) ?? now;
      const s = await github.settings({ id: issue.projectId, slug: (await store.getProject(issue.projectId))!.slug });
      if (s.disabled) throw new Error(`the GitHub link of this project is disabled: ${s.disabled.reason}`);
      const failed = (await github.links.listJobs({ projectId: issue.projectId, status: 'failed' })).find((j) => j.issueId === issue.id);
      if (failed) throw new Error(`GitHub refused the issue: ${failed.lastError ?? 'unknown error'}`);
    }
    if (opts.json) return printJson({ claimed, link: presentLink(now) });
    if (now.state === 'linked') process.stdout.write(`${issue.shortId}\t#${now.number}\t${now.url}\n`);
    else process.stdout.write(`${issue.shortId}\tqueued: a running server creates it (its retries continue); see \`botpulse github create ${issue.shortId}\` again or GET /api/v1/issues/${issue.id}/github\n`);
  });
}

async function findIssue(store: Store, shortId: string, projectSlug: string | undefined): Promise<Issue> {
  const projects = projectSlug ? [await store.getProject(projectSlug)] : await store.listProjects();
  if (projectSlug && !projects[0]) throw new Error(`no project "${projectSlug}"; see \`botpulse project list\``);
  const found = (await Promise.all(projects.map((p) => (p ? store.getIssueByShortId(p.id, shortId) : null)))).filter((i): i is Issue => i !== null);
  if (found.length === 0) throw new Error(`no issue ${shortId}${projectSlug ? ` in project "${projectSlug}"` : ''}`);
  if (found.length > 1) throw new Error(`${shortId} names an issue in several projects; add --project <slug>`);
  return found[0]!;
}

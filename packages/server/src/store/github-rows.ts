import type { GithubJob, GithubLink } from './github.js';

/** Rows of github_links and github_jobs as either database returns them (bigints as numbers or text). */
export interface LinkRow {
  issue_id: number | string;
  project_id: number | string;
  state: string;
  repo: string;
  number: number | string | null;
  url: string | null;
  github_state: string;
  requested_by: string;
  created_at: number | string;
  linked_at: number | string | null;
  last_action: string | null;
  last_actor: string | null;
  last_action_at: number | string | null;
}

export interface JobRow {
  id: number | string;
  project_id: number | string;
  issue_id: number | string;
  kind: string;
  status: string;
  attempts: number | string;
  next_attempt_at: number | string;
  claimed_by: string | null;
  claimed_until: number | string | null;
  last_error: string | null;
  created_at: number | string;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

export function toLink(r: LinkRow): GithubLink {
  return {
    issueId: Number(r.issue_id),
    projectId: Number(r.project_id),
    state: r.state as GithubLink['state'],
    repo: r.repo,
    number: num(r.number),
    url: r.url,
    githubState: r.github_state === 'closed' ? 'closed' : 'open',
    requestedBy: r.requested_by,
    createdAt: Number(r.created_at),
    linkedAt: num(r.linked_at),
    lastAction: r.last_action,
    lastActor: r.last_actor,
    lastActionAt: num(r.last_action_at),
  };
}

export function toJob(r: JobRow): GithubJob {
  return {
    id: Number(r.id),
    projectId: Number(r.project_id),
    issueId: Number(r.issue_id),
    kind: r.kind as GithubJob['kind'],
    status: r.status === 'failed' ? 'failed' : 'pending',
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    claimedBy: r.claimed_by,
    claimedUntil: num(r.claimed_until),
    lastError: r.last_error,
    createdAt: Number(r.created_at),
  };
}

/** Errors are kept short in the table: they are shown, not archived. */
export function shortError(error: string): string {
  return error.length > 500 ? `${error.slice(0, 499)}…` : error;
}

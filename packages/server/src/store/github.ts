/**
 * What the GitHub integration keeps (docs/github.md): the link between a Botpulse issue and its
 * GitHub issue, and the durable queue of calls to GitHub. SQLite (`sqlite/github.ts`) and
 * PostgreSQL (`postgres/github.ts`) implement it; `github.contract.ts` is what both must do.
 */

/** `pending`: the creation is claimed, the GitHub issue not known yet; `linked`: number and URL stored. */
export type GithubLinkState = 'pending' | 'linked';

export interface GithubLink {
  issueId: number;
  projectId: number;
  state: GithubLinkState;
  /** `owner/name` the issue is (to be) created in. */
  repo: string;
  number: number | null;
  url: string | null;
  /** `open` or `closed`, as far as Botpulse heard (webhooks, its own calls). */
  githubState: 'open' | 'closed';
  /** Who asked: `api`, `cli`, `dashboard:<login>`, `telegram:@alice`, `auto`. */
  requestedBy: string;
  createdAt: number;
  linkedAt: number | null;
  /** The last thing done to the pair from either side: `closed`, `reopened`, `closed_from_botpulse`. */
  lastAction: string | null;
  /** A GitHub login (webhooks) or `botpulse`. */
  lastActor: string | null;
  lastActionAt: number | null;
}

export type GithubJobKind = 'create' | 'close';

export interface GithubJob {
  id: number;
  projectId: number;
  issueId: number;
  kind: GithubJobKind;
  /** `pending` (due, waiting, or claimed) or `failed` (given up; shown in the API and dashboard). */
  status: 'pending' | 'failed';
  /** Tries so far, counted when claimed: a process killed mid-call still counts its try. */
  attempts: number;
  nextAttemptAt: number;
  claimedBy: string | null;
  claimedUntil: number | null;
  lastError: string | null;
  createdAt: number;
}

export interface CreateRequest {
  issueId: number;
  projectId: number;
  repo: string;
  requestedBy: string;
  now: number;
}

export interface LinkAction {
  action: string;
  actor: string;
  at: number;
  githubState: 'open' | 'closed';
}

export interface GithubStore {
  /**
   * Claims the creation of the issue's GitHub issue: in one transaction, the link row (pending)
   * and a `create` job, unless the issue has a link already. `claimed` is true for the one
   * caller, across processes, that inserted the link; every other caller gets the existing link.
   */
  requestCreate(req: CreateRequest): Promise<{ link: GithubLink; claimed: boolean }>;
  getLink(issueId: number): Promise<GithubLink | null>;
  findLink(repo: string, number: number): Promise<GithubLink | null>;
  /**
   * Stores the GitHub issue's number and URL on the link and on the issue row (so lists show it),
   * and deletes the create job. A link already linked keeps its number: the first answer wins.
   */
  completeCreate(jobId: number, issueId: number, number: number, url: string, now: number): Promise<GithubLink>;
  /** Adds a `close` job for a linked issue, unless one is waiting. True if added. */
  enqueueClose(issueId: number, projectId: number, now: number): Promise<boolean>;
  /**
   * Claims up to `limit` due pending jobs not claimed by a live lease, counting a try on each;
   * two workers never hold the same job at once.
   */
  claimJobs(workerId: string, now: number, leaseMs: number, limit: number): Promise<GithubJob[]>;
  /** The claim holder hands the job back for a try at `nextAttemptAt`, with the reason. */
  retryJob(jobId: number, workerId: string, nextAttemptAt: number, error: string): Promise<void>;
  /** The claim holder gives the job up (`failed`, kept with the reason). */
  failJob(jobId: number, workerId: string, error: string): Promise<void>;
  /** The claim holder is done: the job is deleted. */
  finishJob(jobId: number, workerId: string): Promise<void>;
  /** Puts failed jobs of a project back in the queue (after its token or repository changed). */
  requeueFailed(projectId: number, now: number): Promise<number>;
  /** Makes a project's waiting (unclaimed) pending jobs due at `now`: its settings changed, the wait may be over. */
  dueNow(projectId: number, now: number): Promise<number>;
  /** Records the last action on the pair and GitHub's state as it now is. */
  recordAction(issueId: number, action: LinkAction): Promise<void>;
  listJobs(filter?: { projectId?: number; status?: GithubJob['status'] }): Promise<GithubJob[]>;
  /**
   * Unresolved, unignored issues of a project with at least `minEvents` events, seen at or after
   * `seenSince`, and no link: what automatic creation takes (oldest first).
   */
  autoCreateCandidates(projectId: number, minEvents: number, seenSince: number, limit: number): Promise<number[]>;
  /** Linked issues of a project resolved in Botpulse whose GitHub issue is open and no close job waits. */
  resolvedButOpen(projectId: number, limit: number): Promise<GithubLink[]>;
}

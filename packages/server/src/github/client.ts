import { Octokit } from '@octokit/core';

/**
 * The calls Botpulse makes to GitHub's REST API, through Octokit (`@octokit/core`: no retry or
 * throttling plugin, because the durable queue in worker.ts owns retries and rate limits: two
 * layers retrying would double the calls and hide waits from the queue).
 */

/**
 * `permanent`: the token or the repository is wrong (401, 403 without a rate limit, 404, 410);
 * retrying cannot help, the project's link is disabled until its settings change.
 * `invalid`: GitHub refused this one request (422); the job fails, the project stays enabled.
 * `rate_limited`: wait until `retryAt`. `transient`: 5xx, network, timeout; retried with backoff.
 */
export type GithubErrorKind = 'permanent' | 'invalid' | 'rate_limited' | 'transient';

export class GithubCallError extends Error {
  constructor(
    message: string,
    readonly kind: GithubErrorKind,
    readonly status: number | null,
    /** rate_limited: when GitHub allows calls again (ms). */
    readonly retryAt: number | null = null,
  ) {
    super(message);
    this.name = 'GithubCallError';
  }
}

export interface GithubIssueRef {
  number: number;
  url: string;
}

export interface NewGithubIssue {
  title: string;
  body: string;
  labels: string[];
}

/** How many pages of recent issues are read to find one whose creation's answer was lost. */
const MARKER_SEARCH_PAGES = 3;

export class GithubClient {
  private readonly octokit: Octokit;

  constructor(
    apiUrl: string,
    token: string,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    const quiet = () => undefined;
    this.octokit = new Octokit({ auth: token, baseUrl: apiUrl, userAgent: 'botpulse', log: { debug: quiet, info: quiet, warn: quiet, error: quiet } });
  }

  async createIssue(repo: string, issue: NewGithubIssue): Promise<GithubIssueRef> {
    const { owner, name } = splitRepo(repo);
    const res = await this.call(() =>
      this.octokit.request('POST /repos/{owner}/{repo}/issues', { owner, repo: name, title: issue.title, body: issue.body, labels: issue.labels, request: { signal: this.signal() } }),
    );
    return { number: res.data.number, url: res.data.html_url };
  }

  /**
   * The issue whose body carries `marker`, among the repository's most recently created issues
   * (open or closed). The list API, not the search API: GitHub's search index lags behind, so an
   * issue created a moment ago, whose answer was lost to a timeout, may not be found by a search.
   */
  async findByMarker(repo: string, marker: string): Promise<GithubIssueRef | null> {
    const { owner, name } = splitRepo(repo);
    for (let page = 1; page <= MARKER_SEARCH_PAGES; page++) {
      const res = await this.call(() =>
        this.octokit.request('GET /repos/{owner}/{repo}/issues', { owner, repo: name, state: 'all', sort: 'created', direction: 'desc', per_page: 100, page, request: { signal: this.signal() } }),
      );
      const hit = res.data.find((i) => !i.pull_request && typeof i.body === 'string' && i.body.includes(marker));
      if (hit) return { number: hit.number, url: hit.html_url };
      if (res.data.length < 100) return null;
    }
    return null;
  }

  async closeIssue(repo: string, number: number, comment: string): Promise<void> {
    const { owner, name } = splitRepo(repo);
    await this.call(() => this.octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner, repo: name, issue_number: number, body: comment, request: { signal: this.signal() } }));
    await this.call(() =>
      this.octokit.request('PATCH /repos/{owner}/{repo}/issues/{issue_number}', { owner, repo: name, issue_number: number, state: 'closed', state_reason: 'completed', request: { signal: this.signal() } }),
    );
  }

  private signal(): AbortSignal {
    return AbortSignal.timeout(this.timeoutMs);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classify(err, this.now());
    }
  }
}

function splitRepo(repo: string): { owner: string; name: string } {
  const [owner = '', name = ''] = repo.split('/');
  return { owner, name };
}

interface HttpErrorLike {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

function isHttpError(err: unknown): err is HttpErrorLike {
  return typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number' && (err as { status: number }).status >= 400;
}

/** GitHub's answer (or its absence) as one of the kinds above. The message never holds the token. */
export function classify(err: unknown, now: number): GithubCallError {
  if (err instanceof GithubCallError) return err;
  if (!isHttpError(err)) {
    const name = (err as Error)?.name;
    const what = name === 'TimeoutError' || name === 'AbortError' ? 'timed out' : `unreachable (${(err as Error)?.message ?? String(err)})`;
    return new GithubCallError(`GitHub ${what}`, 'transient', null);
  }
  const status = err.status;
  const headers = err.response?.headers ?? {};
  const detail = githubMessage(err);
  const retryAt = rateLimitedUntil(status, headers, now);
  if (retryAt !== null) return new GithubCallError(`HTTP ${status}: rate limited (${detail})`, 'rate_limited', status, retryAt);
  if (status === 401 || status === 403 || status === 404 || status === 410) return new GithubCallError(`HTTP ${status}: ${detail}`, 'permanent', status);
  if (status === 422 || status === 400) return new GithubCallError(`HTTP ${status}: ${detail}`, 'invalid', status);
  return new GithubCallError(`HTTP ${status}: ${detail}`, 'transient', status);
}

/**
 * GitHub's primary rate limit: 403 or 429 with `x-ratelimit-remaining: 0`, until
 * `x-ratelimit-reset` (epoch seconds); its secondary limits: 403 or 429 with `retry-after`
 * (seconds). A 429 with neither waits a minute, as GitHub's documentation advises.
 */
function rateLimitedUntil(status: number, headers: Record<string, string | number | undefined>, now: number): number | null {
  if (status !== 403 && status !== 429) return null;
  const retryAfter = Number(headers['retry-after']);
  if (headers['retry-after'] !== undefined && Number.isFinite(retryAfter)) return now + Math.max(0, retryAfter) * 1000;
  if (String(headers['x-ratelimit-remaining']) === '0') {
    const reset = Number(headers['x-ratelimit-reset']);
    return Number.isFinite(reset) ? Math.max(now, reset * 1000) : now + 60_000;
  }
  return status === 429 ? now + 60_000 : null;
}

function githubMessage(err: HttpErrorLike): string {
  const data = err.response?.data;
  const message = typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string' ? (data as { message: string }).message : err.message;
  return message.length > 200 ? `${message.slice(0, 199)}…` : message;
}

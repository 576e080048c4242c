import { sql } from 'kysely';
import type { CreateRequest, GithubJob, GithubLink, GithubStore, LinkAction } from '../github.js';
import { shortError, toJob, toLink, type JobRow, type LinkRow } from '../github-rows.js';
import { all, changes, one, type Db } from './query.js';

/**
 * GithubStore on PostgreSQL, shared by several processes. The creation claim is the link's
 * primary key (`INSERT … ON CONFLICT DO NOTHING`: one inserter wins, whatever the timing); jobs
 * are claimed with `FOR UPDATE SKIP LOCKED` and a lease, as the alert outbox's rows are.
 */
export class PostgresGithubStore implements GithubStore {
  constructor(private readonly db: Db) {}

  async requestCreate(req: CreateRequest): Promise<{ link: GithubLink; claimed: boolean }> {
    return this.db.transaction().execute(async (trx) => {
      const inserted = await changes(
        trx,
        sql`INSERT INTO github_links (issue_id, project_id, state, repo, requested_by, created_at)
            VALUES (${req.issueId}, ${req.projectId}, 'pending', ${req.repo}, ${req.requestedBy}, ${req.now}) ON CONFLICT (issue_id) DO NOTHING`,
      );
      if (inserted === 1) {
        await sql`INSERT INTO github_jobs (project_id, issue_id, kind, next_attempt_at, created_at)
                  VALUES (${req.projectId}, ${req.issueId}, 'create', ${req.now}, ${req.now}) ON CONFLICT (kind, issue_id) DO NOTHING`.execute(trx);
      }
      const row = await one<LinkRow>(trx, sql`SELECT * FROM github_links WHERE issue_id = ${req.issueId}`);
      return { link: toLink(row!), claimed: inserted === 1 };
    });
  }

  async getLink(issueId: number): Promise<GithubLink | null> {
    const row = await one<LinkRow>(this.db, sql`SELECT * FROM github_links WHERE issue_id = ${issueId}`);
    return row ? toLink(row) : null;
  }

  async findLink(repo: string, number: number): Promise<GithubLink | null> {
    const row = await one<LinkRow>(this.db, sql`SELECT * FROM github_links WHERE lower(repo) = lower(${repo}) AND number = ${number}`);
    return row ? toLink(row) : null;
  }

  async completeCreate(jobId: number, issueId: number, number: number, url: string, now: number): Promise<GithubLink> {
    return this.db.transaction().execute(async (trx) => {
      const linked = await changes(trx, sql`UPDATE github_links SET state = 'linked', number = ${number}, url = ${url}, linked_at = ${now} WHERE issue_id = ${issueId} AND state = 'pending'`);
      if (linked === 1) await sql`UPDATE issues SET github_number = ${number}, github_url = ${url} WHERE id = ${issueId}`.execute(trx);
      await sql`DELETE FROM github_jobs WHERE id = ${jobId}`.execute(trx);
      return toLink((await one<LinkRow>(trx, sql`SELECT * FROM github_links WHERE issue_id = ${issueId}`))!);
    });
  }

  async enqueueClose(issueId: number, projectId: number, now: number): Promise<boolean> {
    const added = await changes(
      this.db,
      sql`INSERT INTO github_jobs (project_id, issue_id, kind, next_attempt_at, created_at) VALUES (${projectId}, ${issueId}, 'close', ${now}, ${now}) ON CONFLICT (kind, issue_id) DO NOTHING`,
    );
    return added === 1;
  }

  async claimJobs(workerId: string, now: number, leaseMs: number, limit: number): Promise<GithubJob[]> {
    // Pick, then update, in one transaction: the picked rows stay locked until the claim commits,
    // and a second claimant skips them (rather than waiting, or re-running a subquery).
    return this.db.transaction().execute(async (trx) => {
      const picked = await all<{ id: number | string }>(
        trx,
        sql`SELECT id FROM github_jobs WHERE status = 'pending' AND next_attempt_at <= ${now} AND (claimed_until IS NULL OR claimed_until < ${now})
            ORDER BY next_attempt_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
      );
      if (!picked.length) return [];
      const ids = picked.map((r) => Number(r.id));
      const rows = await all<JobRow>(
        trx,
        sql`UPDATE github_jobs SET claimed_by = ${workerId}, claimed_until = ${now + leaseMs}, attempts = attempts + 1 WHERE id = ANY(${ids}::bigint[]) RETURNING *`,
      );
      return rows.map(toJob).sort((x, y) => x.id - y.id);
    });
  }

  async retryJob(jobId: number, workerId: string, nextAttemptAt: number, error: string): Promise<void> {
    await sql`UPDATE github_jobs SET next_attempt_at = ${nextAttemptAt}, last_error = ${shortError(error)}, claimed_by = NULL, claimed_until = NULL
              WHERE id = ${jobId} AND claimed_by = ${workerId}`.execute(this.db);
  }

  async failJob(jobId: number, workerId: string, error: string): Promise<void> {
    await sql`UPDATE github_jobs SET status = 'failed', last_error = ${shortError(error)}, claimed_by = NULL, claimed_until = NULL
              WHERE id = ${jobId} AND claimed_by = ${workerId}`.execute(this.db);
  }

  async finishJob(jobId: number, workerId: string): Promise<void> {
    await sql`DELETE FROM github_jobs WHERE id = ${jobId} AND claimed_by = ${workerId}`.execute(this.db);
  }

  async requeueFailed(projectId: number, now: number): Promise<number> {
    return changes(this.db, sql`UPDATE github_jobs SET status = 'pending', next_attempt_at = ${now} WHERE project_id = ${projectId} AND status = 'failed'`);
  }

  async dueNow(projectId: number, now: number): Promise<number> {
    return changes(this.db, sql`UPDATE github_jobs SET next_attempt_at = ${now} WHERE project_id = ${projectId} AND status = 'pending' AND claimed_by IS NULL AND next_attempt_at > ${now}`);
  }

  async recordAction(issueId: number, a: LinkAction): Promise<void> {
    await sql`UPDATE github_links SET last_action = ${a.action}, last_actor = ${a.actor}, last_action_at = ${a.at}, github_state = ${a.githubState}
              WHERE issue_id = ${issueId}`.execute(this.db);
  }

  async listJobs(filter: { projectId?: number; status?: GithubJob['status'] } = {}): Promise<GithubJob[]> {
    const project = filter.projectId ?? null;
    const status = filter.status ?? null;
    const rows = await all<JobRow>(
      this.db,
      sql`SELECT * FROM github_jobs WHERE (${project}::int IS NULL OR project_id = ${project}::int) AND (${status}::text IS NULL OR status = ${status}::text) ORDER BY id`,
    );
    return rows.map(toJob);
  }

  async autoCreateCandidates(projectId: number, minEvents: number, seenSince: number, limit: number): Promise<number[]> {
    const rows = await all<{ id: number | string }>(
      this.db,
      sql`SELECT i.id FROM issues i WHERE i.project_id = ${projectId} AND i.event_count >= ${minEvents} AND i.status IN ('new', 'in_progress') AND i.last_seen >= ${seenSince}
            AND NOT EXISTS (SELECT 1 FROM github_links l WHERE l.issue_id = i.id) ORDER BY i.id LIMIT ${limit}`,
    );
    return rows.map((r) => Number(r.id));
  }

  async resolvedButOpen(projectId: number, limit: number): Promise<GithubLink[]> {
    const rows = await all<LinkRow>(
      this.db,
      sql`SELECT l.* FROM github_links l JOIN issues i ON i.id = l.issue_id
          WHERE l.project_id = ${projectId} AND l.state = 'linked' AND l.github_state = 'open' AND i.status = 'resolved'
            AND NOT EXISTS (SELECT 1 FROM github_jobs j WHERE j.kind = 'close' AND j.issue_id = l.issue_id) ORDER BY l.issue_id LIMIT ${limit}`,
    );
    return rows.map(toLink);
  }
}

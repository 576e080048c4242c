import type Sqlite from 'better-sqlite3';
import type { CreateRequest, GithubJob, GithubLink, GithubStore, LinkAction } from '../github.js';
import { shortError, toJob, toLink, type JobRow, type LinkRow } from '../github-rows.js';
import { withStatementCache } from './statement-cache.js';

/**
 * GithubStore on SqliteStore's connection. Every read-modify-write is one `BEGIN IMMEDIATE`
 * transaction (two processes on one file serialise on the write lock), and the claims are
 * conditional updates, as on PostgreSQL.
 */
export class SqliteGithubStore implements GithubStore {
  private readonly db: Sqlite.Database;

  constructor(db: Sqlite.Database) {
    this.db = withStatementCache(db);
  }

  async requestCreate(req: CreateRequest): Promise<{ link: GithubLink; claimed: boolean }> {
    return this.db
      .transaction(() => {
        const inserted = this.db
          .prepare(
            `INSERT INTO github_links (issue_id, project_id, state, repo, requested_by, created_at)
             VALUES (?, ?, 'pending', ?, ?, ?) ON CONFLICT (issue_id) DO NOTHING`,
          )
          .run(req.issueId, req.projectId, req.repo, req.requestedBy, req.now).changes;
        if (inserted === 1) {
          this.db
            .prepare(`INSERT INTO github_jobs (project_id, issue_id, kind, next_attempt_at, created_at) VALUES (?, ?, 'create', ?, ?) ON CONFLICT (kind, issue_id) DO NOTHING`)
            .run(req.projectId, req.issueId, req.now, req.now);
        }
        return { link: this.readLink(req.issueId)!, claimed: inserted === 1 };
      })
      .immediate();
  }

  async getLink(issueId: number): Promise<GithubLink | null> {
    return this.readLink(issueId);
  }

  private readLink(issueId: number): GithubLink | null {
    const row = this.db.prepare('SELECT * FROM github_links WHERE issue_id = ?').get(issueId) as LinkRow | undefined;
    return row ? toLink(row) : null;
  }

  async findLink(repo: string, number: number): Promise<GithubLink | null> {
    const row = this.db.prepare('SELECT * FROM github_links WHERE repo = ? COLLATE NOCASE AND number = ?').get(repo, number) as LinkRow | undefined;
    return row ? toLink(row) : null;
  }

  async completeCreate(jobId: number, issueId: number, number: number, url: string, now: number): Promise<GithubLink> {
    return this.db
      .transaction(() => {
        const linked = this.db
          .prepare(`UPDATE github_links SET state = 'linked', number = ?, url = ?, linked_at = ? WHERE issue_id = ? AND state = 'pending'`)
          .run(number, url, now, issueId).changes;
        if (linked === 1) this.db.prepare('UPDATE issues SET github_number = ?, github_url = ? WHERE id = ?').run(number, url, issueId);
        this.db.prepare('DELETE FROM github_jobs WHERE id = ?').run(jobId);
        return this.readLink(issueId)!;
      })
      .immediate();
  }

  async enqueueClose(issueId: number, projectId: number, now: number): Promise<boolean> {
    const added = this.db
      .prepare(`INSERT INTO github_jobs (project_id, issue_id, kind, next_attempt_at, created_at) VALUES (?, ?, 'close', ?, ?) ON CONFLICT (kind, issue_id) DO NOTHING`)
      .run(projectId, issueId, now, now).changes;
    return added === 1;
  }

  async claimJobs(workerId: string, now: number, leaseMs: number, limit: number): Promise<GithubJob[]> {
    const rows = this.db
      .prepare(
        `UPDATE github_jobs SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1
         WHERE id IN (SELECT id FROM github_jobs WHERE status = 'pending' AND next_attempt_at <= ?
                        AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY next_attempt_at, id LIMIT ?)
         RETURNING *`,
      )
      .all(workerId, now + leaseMs, now, now, limit) as JobRow[];
    return rows.map(toJob).sort((a, b) => a.id - b.id);
  }

  async retryJob(jobId: number, workerId: string, nextAttemptAt: number, error: string): Promise<void> {
    this.db
      .prepare('UPDATE github_jobs SET next_attempt_at = ?, last_error = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?')
      .run(nextAttemptAt, shortError(error), jobId, workerId);
  }

  async failJob(jobId: number, workerId: string, error: string): Promise<void> {
    this.db
      .prepare(`UPDATE github_jobs SET status = 'failed', last_error = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?`)
      .run(shortError(error), jobId, workerId);
  }

  async finishJob(jobId: number, workerId: string): Promise<void> {
    this.db.prepare('DELETE FROM github_jobs WHERE id = ? AND claimed_by = ?').run(jobId, workerId);
  }

  async requeueFailed(projectId: number, now: number): Promise<number> {
    return this.db.prepare(`UPDATE github_jobs SET status = 'pending', next_attempt_at = ? WHERE project_id = ? AND status = 'failed'`).run(now, projectId).changes;
  }

  async dueNow(projectId: number, now: number): Promise<number> {
    return this.db
      .prepare(`UPDATE github_jobs SET next_attempt_at = ? WHERE project_id = ? AND status = 'pending' AND claimed_by IS NULL AND next_attempt_at > ?`)
      .run(now, projectId, now).changes;
  }

  async recordAction(issueId: number, a: LinkAction): Promise<void> {
    this.db
      .prepare('UPDATE github_links SET last_action = ?, last_actor = ?, last_action_at = ?, github_state = ? WHERE issue_id = ?')
      .run(a.action, a.actor, a.at, a.githubState, issueId);
  }

  async listJobs(filter: { projectId?: number; status?: GithubJob['status'] } = {}): Promise<GithubJob[]> {
    const rows = this.db
      .prepare('SELECT * FROM github_jobs WHERE (? IS NULL OR project_id = ?) AND (? IS NULL OR status = ?) ORDER BY id')
      .all(filter.projectId ?? null, filter.projectId ?? null, filter.status ?? null, filter.status ?? null) as JobRow[];
    return rows.map(toJob);
  }

  async autoCreateCandidates(projectId: number, minEvents: number, seenSince: number, limit: number): Promise<number[]> {
    const rows = this.db
      .prepare(
        `SELECT i.id FROM issues i WHERE i.project_id = ? AND i.event_count >= ? AND i.status IN ('new', 'in_progress') AND i.last_seen >= ?
           AND NOT EXISTS (SELECT 1 FROM github_links l WHERE l.issue_id = i.id) ORDER BY i.id LIMIT ?`,
      )
      .all(projectId, minEvents, seenSince, limit) as { id: number }[];
    return rows.map((r) => Number(r.id));
  }

  async resolvedButOpen(projectId: number, limit: number): Promise<GithubLink[]> {
    const rows = this.db
      .prepare(
        `SELECT l.* FROM github_links l JOIN issues i ON i.id = l.issue_id
         WHERE l.project_id = ? AND l.state = 'linked' AND l.github_state = 'open' AND i.status = 'resolved'
           AND NOT EXISTS (SELECT 1 FROM github_jobs j WHERE j.kind = 'close' AND j.issue_id = l.issue_id) ORDER BY l.issue_id LIMIT ?`,
      )
      .all(projectId, limit) as LinkRow[];
    return rows.map(toLink);
  }
}

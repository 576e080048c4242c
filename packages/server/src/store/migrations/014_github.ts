import type { Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * GitHub issues in step with Botpulse issues (issue 14, docs/github.md).
 *
 * - `issues.github_number` beside the existing `issues.github_url`: the list, the page, the API
 *   and the "untracked" view read the issue row, so the link is shown wherever the issue is.
 * - `github_links`: one row per Botpulse issue that has (or is getting) a GitHub issue. The row is
 *   the claim: inserting it is what lets one process, once, create the GitHub issue (primary key
 *   on `issue_id`), so two processes or two presses never make two. It also keeps the last action
 *   GitHub or Botpulse took on the pair (closed, reopened...), who, and when.
 * - `github_jobs`: the durable queue of calls to GitHub (create, close), claimed with a lease as
 *   the alert outbox is, so a process killed mid-call leaves the job to the next taker. One job of
 *   a kind per issue (`kind`, `issue_id` unique); done jobs are deleted.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const t = dialectTypes(db);
  await db.schema.alterTable('issues').addColumn('github_number', 'integer').execute();

  await db.schema
    .createTable('github_links')
    .addColumn('issue_id', 'bigint', (c) => c.primaryKey())
    .addColumn('project_id', 'integer', (c) => c.notNull())
    // pending: claimed, the GitHub issue not made yet; linked: number and url known.
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('repo', 'text', (c) => c.notNull())
    .addColumn('number', 'integer')
    .addColumn('url', 'text')
    // open / closed, as far as Botpulse knows (webhooks and its own calls).
    .addColumn('github_state', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('linked_at', 'bigint')
    .addColumn('last_action', 'text')
    .addColumn('last_actor', 'text')
    .addColumn('last_action_at', 'bigint')
    .execute();
  await db.schema.createIndex('github_links_repo_number').on('github_links').columns(['repo', 'number']).execute();

  await db.schema
    .createTable('github_jobs')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('issue_id', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    // pending, or failed (given up: shown, never retried by itself)
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    // Counted when claimed, not when failed: a process killed after sending still counts its try.
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_until', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('github_jobs_kind_issue', ['kind', 'issue_id'])
    .execute();
  await db.schema.createIndex('github_jobs_due').on('github_jobs').columns(['status', 'next_attempt_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('github_jobs').execute();
  await db.schema.dropTable('github_links').execute();
  await db.schema.alterTable('issues').dropColumn('github_number').execute();
}

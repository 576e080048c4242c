import { sql, type Kysely } from 'kysely';
import { getProject } from './project-queries.js';
import type { Project } from './model.js';
import type { Database } from './schema.js';

/**
 * Deleting a project (issue 16): `startProjectDeletion` marks it, so ingestion refuses it at once;
 * `deleteProjectChunk` then removes its rows a bounded chunk at a time (a project with millions of
 * events never holds one long transaction), the project row last. Written once for both dialects.
 */

/**
 * Every table with a `project_id` column is in one of these lists or in DELETED_OTHERWISE (a test
 * compares them with the migrated schema, so a new table cannot be forgotten).
 */
/** Rows with an `id`, deleted `limit` at a time by project. */
export const CHUNKED_BY_PROJECT = ['events', 'issue_history', 'attachments', 'raw_items', 'spool', 'digest_quarantine', 'alert_log', 'alert_outbox', 'alert_changes', 'alert_messages', 'monitor_flips', 'monitor_notifications', 'log_lines', 'github_jobs'];
/** Per-issue rows, deleted with their issues. */
const BY_ISSUE = ['issue_users', 'issue_tags', 'issue_hourly', 'issue_daily'];
/** Small per-project tables, deleted whole once the big ones are empty. */
export const WHOLE_BY_PROJECT = ['releases', 'item_counts', 'project_settings', 'client_discards', 'alert_state', 'alert_silences', 'monitor_latency', 'monitor_rule_state', 'monitor_refusals', 'log_templates', 'log_template_hours', 'log_operation_latency', 'log_rule_state', 'github_links', 'upstream_projects'];
/**
 * Deleted by their own step below: issues (with BY_ISSUE), monitors (with their states), the
 * project row. The status counters follow the issues (triggers) down to zero, and the fold
 * (compactIssueStatusCounts) drops totals of zero: deleting them here would race a fold on
 * PostgreSQL (a delta folded after the totals were deleted would count below zero forever).
 */
export const DELETED_OTHERWISE = ['issues', 'monitors', 'issue_status_counts', 'issue_status_deltas'];

export async function startProjectDeletion(db: Kysely<Database>, id: number, now: number): Promise<Project | null> {
  await db.updateTable('projects').set({ deleting_at: now }).where('id', '=', id).where('deleting_at', 'is', null).execute();
  return getProject(db, id);
}

/** How much of a project is left to delete (the dashboard's progress). */
export async function projectDataLeft(db: Kysely<Database>, id: number): Promise<{ events: number; issues: number }> {
  const count = async (table: string) => Number((await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${sql.table(table)} WHERE project_id = ${id}`.execute(db)).rows[0]?.n ?? 0);
  return { events: await count('events'), issues: await count('issues') };
}

/**
 * Deletes up to about `limit` rows of a project being deleted; `done` once the project row itself
 * is gone. Refuses a project whose deletion was not started (so a stray call cannot wipe one).
 */
export async function deleteProjectChunk(db: Kysely<Database>, id: number, limit: number): Promise<{ done: boolean; deleted: number }> {
  const project = await getProject(db, id);
  if (!project) return { done: true, deleted: 0 };
  if (project.deletingAt === null) throw new Error(`project ${id} is not being deleted; call startProjectDeletion first`);
  for (const table of CHUNKED_BY_PROJECT) {
    const deleted = await deleteSome(db, table, sql`project_id = ${id}`, limit);
    if (deleted > 0) return { done: false, deleted };
  }
  const issueIds = (await db.selectFrom('issues').select('id').where('project_id', '=', id).limit(limit).execute()).map((r) => Number(r.id));
  if (issueIds.length) {
    await db.transaction().execute(async (tx) => {
      for (const table of BY_ISSUE) await sql`DELETE FROM ${sql.table(table)} WHERE issue_id IN (${sql.join(issueIds)})`.execute(tx);
      await tx.deleteFrom('issues').where('id', 'in', issueIds).execute();
    });
    return { done: false, deleted: issueIds.length };
  }
  await db.transaction().execute(async (tx) => {
    for (const table of WHOLE_BY_PROJECT) await sql`DELETE FROM ${sql.table(table)} WHERE project_id = ${id}`.execute(tx);
    await sql`DELETE FROM monitor_states WHERE monitor_id IN (SELECT id FROM monitors WHERE project_id = ${id})`.execute(tx);
    await sql`DELETE FROM monitors WHERE project_id = ${id}`.execute(tx);
    await tx.deleteFrom('projects').where('id', '=', id).execute();
  });
  return { done: true, deleted: 1 };
}

async function deleteSome(db: Kysely<Database>, table: string, where: ReturnType<typeof sql>, limit: number): Promise<number> {
  const result = await sql`DELETE FROM ${sql.table(table)} WHERE id IN (SELECT id FROM ${sql.table(table)} WHERE ${where} LIMIT ${limit})`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

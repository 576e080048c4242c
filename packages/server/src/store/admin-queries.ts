import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema.js';

/**
 * Users, API tokens and project deletion, written once for every store (the dialects agree on
 * them). Only what a person may see: never a password hash or a token hash.
 */

export interface UserInfo {
  login: string;
  createdAt: number;
}

export interface ApiTokenInfo {
  id: number;
  label: string;
  createdAt: number;
}

export async function listUsers(db: Kysely<Database>): Promise<UserInfo[]> {
  const rows = await db.selectFrom('users').select(['login', 'created_at']).orderBy('login').execute();
  return rows.map((r) => ({ login: r.login, createdAt: Number(r.created_at) }));
}

/** Removes the user and ends their dashboard sessions; false when there was no such user. */
export async function removeUser(db: Kysely<Database>, login: string): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    await sql`DELETE FROM web_sessions WHERE login = ${login}`.execute(tx);
    const result = await tx.deleteFrom('users').where('login', '=', login).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  });
}

export async function listApiTokens(db: Kysely<Database>): Promise<ApiTokenInfo[]> {
  const rows = await db.selectFrom('api_tokens').select(['id', 'label', 'created_at']).orderBy('id').execute();
  return rows.map((r) => ({ id: Number(r.id), label: r.label, createdAt: Number(r.created_at) }));
}

/** The token stops working at once; false when there was no token with that id. */
export async function revokeApiToken(db: Kysely<Database>, id: number): Promise<boolean> {
  if (!Number.isSafeInteger(id)) return false;
  const result = await db.deleteFrom('api_tokens').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * Every table holding a project's data and how its rows name the project, in deletion order: rows
 * found through the project's issues and monitors before those, the project row last, so a
 * deletion cut short (a crash, Ctrl-C) can simply be run again. store.test.ts checks that every
 * table with a project_id, issue_id or monitor_id column is here.
 */
export const PROJECT_DATA: readonly { table: string; by: 'issue' | 'monitor' | 'project'; withoutRowId?: string }[] = [
  { table: 'issue_users', by: 'issue' },
  { table: 'issue_tags', by: 'issue' },
  { table: 'issue_hourly', by: 'issue', withoutRowId: 'issue_id, hour' },
  { table: 'issue_history', by: 'project' }, // a WITHOUT ROWID table in SQLite: its key
  { table: 'monitor_states', by: 'monitor' },
  ...[
    'events',
    'attachments',
    'releases',
    'spool', // SQLite keeps its spool in a file of its own too, which the SQLite store clears
    'raw_items',
    'item_counts',
    'digest_quarantine',
    'client_discards',
    'project_settings',
    'alert_state',
    'alert_outbox',
    'alert_messages',
    'alert_silences',
    'alert_log',
    'alert_changes',
    'monitor_flips',
    'monitor_notifications',
    'monitor_latency',
    'monitor_rule_state',
    'monitor_refusals',
    'monitors',
    'issues',
  ].map((table) => ({ table, by: 'project' as const })),
];

export interface DeletionProgress {
  table: string;
  /** Rows of `table` deleted so far. */
  deleted: number;
}

/** Rows per DELETE: a big project goes a chunk at a time, never in one statement holding the database. */
const CHUNK = 2000;

/**
 * Deletes a project and everything kept for it, a chunk at a time (yielding between chunks),
 * reporting progress per chunk. Returns the rows deleted per table (tables with none left out),
 * or null when there is no such project. `rowId` names a row in this dialect: `rowid` (SQLite)
 * or `ctid` (PostgreSQL).
 */
export async function deleteProject(
  db: Kysely<Database>,
  id: number,
  rowId: 'rowid' | 'ctid',
  opts: { onProgress?: (p: DeletionProgress) => void } = {},
): Promise<Record<string, number> | null> {
  if (!Number.isSafeInteger(id)) return null;
  const exists = await db.selectFrom('projects').select('id').where('id', '=', id).executeTakeFirst();
  if (!exists) return null;
  const deleted: Record<string, number> = {};
  for (const { table, by, withoutRowId } of PROJECT_DATA) {
    const columns = rowId === 'rowid' && withoutRowId ? withoutRowId : rowId;
    const key = sql.raw(columns.includes(',') ? `(${columns})` : columns);
    const where =
      by === 'issue'
        ? sql`issue_id IN (SELECT id FROM issues WHERE project_id = ${id})`
        : by === 'monitor'
          ? sql`monitor_id IN (SELECT id FROM monitors WHERE project_id = ${id})`
          : sql`project_id = ${id}`;
    const total = await deleteInChunks(db, sql`DELETE FROM ${sql.table(table)} WHERE ${key} IN (SELECT ${sql.raw(columns)} FROM ${sql.table(table)} WHERE ${where} LIMIT ${CHUNK})`, (n) =>
      opts.onProgress?.({ table, deleted: n }),
    );
    if (total > 0) deleted[table] = total;
  }
  await db.deleteFrom('projects').where('id', '=', id).execute();
  deleted['projects'] = 1;
  return deleted;
}

async function deleteInChunks(db: Kysely<Database>, statement: RawBuilder<unknown>, progress: (deletedSoFar: number) => void): Promise<number> {
  let total = 0;
  for (;;) {
    const n = Number((await statement.execute(db)).numAffectedRows ?? 0);
    total += n;
    if (n > 0) progress(total);
    await yieldToLoop();
    if (n < CHUNK) return total;
  }
}

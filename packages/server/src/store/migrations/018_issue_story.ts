import { sql, type Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * The story (docs/issues.md, "History, assignee and notes").
 *
 * - `issue_history`: every status change, assignment, acknowledgement and note, with who did it
 *   (`actor_kind`: user, telegram, token, cli, github, system) and when. Written in the same
 *   transaction as the change it records; regressions and mutes that end are written by the digest
 *   in its batch transaction. `detail` is JSON (the release, the mute's end, the note's text...).
 * - `issues.assignee`: a dashboard login, or NULL.
 * - `issues.resolved_next_release`: resolved "in the next release": events from releases first
 *   seen before the issue was resolved do not reopen it; a release first seen after does.
 * - `users.telegram`: the Telegram account (numeric id or lowercase username without @) of a
 *   dashboard user, so that pressing Acknowledge in a chat assigns the issue to that user.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const t = dialectTypes(db);
  await db.schema
    .createTable('issue_history')
    .addColumn('id', t.id, t.idModifier)
    .addColumn('issue_id', 'bigint', (c) => c.notNull())
    .addColumn('project_id', 'bigint', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('issue_history_issue').on('issue_history').columns(['issue_id', 'id']).execute();
  await db.schema.alterTable('issues').addColumn('assignee', 'text').execute();
  await db.schema.alterTable('issues').addColumn('resolved_next_release', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createIndex('issues_assignee').on('issues').columns(['assignee', 'last_seen']).where(sql.ref('assignee'), 'is not', null).execute();
  await db.schema.alterTable('users').addColumn('telegram', 'text').execute();
  await db.schema.createIndex('users_telegram').on('users').column('telegram').unique().where(sql.ref('telegram'), 'is not', null).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('users_telegram').execute();
  await db.schema.alterTable('users').dropColumn('telegram').execute();
  await db.schema.dropIndex('issues_assignee').execute();
  await db.schema.alterTable('issues').dropColumn('resolved_next_release').execute();
  await db.schema.alterTable('issues').dropColumn('assignee').execute();
  await db.schema.dropTable('issue_history').execute();
}

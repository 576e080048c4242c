import type { Kysely } from 'kysely';

/**
 * Running Botpulse from the dashboard (issue 16, "Management"):
 * - `users.role` and `api_tokens.role`: admin / member / viewer. Everyone who existed before was
 *   an administrator (there was no other kind), so the default keeps them so.
 * - `api_tokens.last_used_at`: shown on the tokens page, so an unused token can be revoked.
 * - `projects.previous_public_key` / `previous_key_expires_at`: after a DSN key rotation the old
 *   key keeps working until then, so bots can be redeployed without losing events.
 * - `projects.deleting_at`: a project being deleted: ingestion refuses it at once while its data
 *   is removed in the background (store/project-deletion.ts).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('role', 'text', (c) => c.notNull().defaultTo('admin')).execute();
  await db.schema.alterTable('api_tokens').addColumn('role', 'text', (c) => c.notNull().defaultTo('admin')).execute();
  await db.schema.alterTable('api_tokens').addColumn('last_used_at', 'bigint').execute();
  await db.schema.alterTable('projects').addColumn('previous_public_key', 'text').execute();
  await db.schema.alterTable('projects').addColumn('previous_key_expires_at', 'bigint').execute();
  await db.schema.alterTable('projects').addColumn('deleting_at', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const column of ['deleting_at', 'previous_key_expires_at', 'previous_public_key']) await db.schema.alterTable('projects').dropColumn(column).execute();
  for (const column of ['last_used_at', 'role']) await db.schema.alterTable('api_tokens').dropColumn(column).execute();
  await db.schema.alterTable('users').dropColumn('role').execute();
}

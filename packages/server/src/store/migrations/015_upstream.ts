import type { Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * Forwarding to an upstream Sentry (docs/upstream.md). The events table is the queue: a stored
 * event is already scrubbed, normalised and durable, so the forwarder keeps only its cursors
 * (`upstream_state`: one per kind of item, the last id handed to the upstream or given up) and
 * the per-project settings set through the API (`upstream_projects`; the config file's wins).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const t = dialectTypes(db);
  await db.schema
    .createTable('upstream_state')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('upstream_projects')
    .addColumn('project_id', 'integer', (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('sample_rate', t.float, (c) => c.notNull())
    .addColumn('kinds', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('upstream_projects').execute();
  await db.schema.dropTable('upstream_state').execute();
}

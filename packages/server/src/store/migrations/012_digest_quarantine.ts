import type { Kysely } from 'kysely';
import { dialectTypes } from './dialect.js';

/**
 * Spool rows the digest could not store (docs/architecture.md "Failure paths (audit)"): a row whose
 * own write transaction fails for a reason that is not the database's (a constraint, a value
 * SQLite cannot bind) is moved here, as spooled, with the error, so it neither blocks the rows
 * behind it nor is lost. No foreign key: the row may name a project that no longer exists.
 * `(spool_id, received_at)` is unique: a crash between this insert and the spool delete quarantines
 * the row once, not twice.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const t = dialectTypes(db);
  await db.schema
    .createTable('digest_quarantine')
    .addColumn('id', t.id, (c) => t.idModifier(c))
    .addColumn('spool_id', 'bigint', (c) => c.notNull())
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text')
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('payload', t.blob, (c) => c.notNull())
    .addColumn('meta', 'text')
    .addColumn('error', 'text', (c) => c.notNull())
    .addColumn('quarantined_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('digest_quarantine_spool_row', ['spool_id', 'received_at'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('digest_quarantine').execute();
}

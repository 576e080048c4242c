import { Migrator, type Kysely, type Migration } from 'kysely';
import { migrations } from './index.js';

/**
 * The migrator of Botpulse's schema. PostgreSQL: pass the schema the tables live in; without it
 * Kysely takes its bookkeeping tables in ANY schema of the database (another app's, another
 * Botpulse's) for its own, and then fails to find them.
 */
export function createMigrator(db: Kysely<any>, opts: { schema?: string } = {}): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async (): Promise<Record<string, Migration>> => migrations },
    migrationTableSchema: opts.schema,
    // Features are built in parallel branches, each with a number reserved up front, and merge in
    // any order: a database that has applied 018 must still apply 013 when it arrives. Every
    // migration adds its own tables and columns and none depends on a later number, so applying
    // the missing ones in name order is safe (docs/architecture.md, "Migrations").
    allowUnorderedMigrations: true,
  });
}

/**
 * Applies every pending migration; returns how many ran. On PostgreSQL, Kysely takes an advisory
 * lock and runs each migration in a transaction, so several processes starting at once apply
 * each migration once.
 */
export async function applyMigrations(db: Kysely<any>, opts: { schema?: string } = {}): Promise<number> {
  const { error, results } = await createMigrator(db, opts).migrateToLatest();
  if (error) throw error;
  return results?.filter((r) => r.status === 'Success').length ?? 0;
}

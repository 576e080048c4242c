import type { Config } from '../config/load.js';
import { postgresNotReadyMessage } from '../store/postgres/coverage.js';

/**
 * Commands that need the whole store (events, issues, projects, users...) run only on SQLite until
 * that store exists on PostgreSQL: with a postgres:// URL they stop here, before anything is
 * opened, instead of quietly writing to a SQLite file nobody reads.
 */
export function requireWholeStore(config: Readonly<Config>, command: string): void {
  if (config.database.kind === 'postgres') throw new Error(postgresNotReadyMessage(command, config.database.url.redacted, config.databaseFile));
}

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { DatabaseUrl, isPostgresUrl, redactUrl } from '../lib/database-url.js';
import { PostgresDatabase } from '../store/postgres/database.js';
import { copySqliteToPostgres, type TableProgress } from '../store/sqlite-to-postgres.js';

interface MigrateDataOptions {
  from: string;
  to?: string;
  force?: boolean;
}

/** A progress line between a table's first and last, for tables this large (events, raw items). */
const PROGRESS_EVERY_ROWS = 50_000;

/**
 * `botpulse migrate-data --from <data dir> --to <postgres url>`: copies a SQLite data directory
 * into PostgreSQL (store/sqlite-to-postgres.ts), printing a line per table and the verification.
 * The URL's password is never printed: only its redacted form is.
 */
export async function migrateData(opts: MigrateDataOptions): Promise<void> {
  const dataDir = resolve(opts.from);
  if (!existsSync(dataDir)) throw new Error(`--from ${dataDir}: no such directory`);
  const url = targetUrl(opts.to);
  const out = (line: string) => void process.stdout.write(line + '\n');
  out(`copying ${dataDir} (SQLite) to ${url.redacted}`);
  // No statement timeout: one INSERT of a batch of large events may take longer than a request should.
  const target = await PostgresDatabase.open({ url, poolMax: 2, statementTimeoutMs: 0, applicationName: 'botpulse-migrate-data' });
  try {
    let printedAt = 0;
    const report = await copySqliteToPostgres({
      dataDir,
      target,
      force: opts.force ?? false,
      onProgress: (p: TableProgress) => {
        if (p.done) {
          printedAt = 0;
          return out(`  ${p.table.padEnd(24)} ${p.copied} row(s)`);
        }
        if (p.copied - printedAt < PROGRESS_EVERY_ROWS || p.copied === p.total) return;
        printedAt = p.copied;
        out(`  ${p.table.padEnd(24)} ${p.copied} of ${p.total}…`);
      },
    });
    if (report.cleared.length) out(`--force: deleted the rows the target held in ${report.cleared.join(', ')}`);
    const rows = report.tables.reduce((n, t) => n + t.rows, 0);
    out(`verified: ${report.tables.length} tables, ${rows} row(s), the same count in each as in SQLite; committed`);
    out('next: start Botpulse with BOTPULSE_DATABASE_URL set to the target (DSNs, API tokens and logins stay valid)');
  } finally {
    await target.close();
  }
}

/** `--to`, else the configured BOTPULSE_DATABASE_URL (or _FILE), which keeps the password out of argv. */
function targetUrl(to: string | undefined): DatabaseUrl {
  if (to !== undefined) {
    if (!isPostgresUrl(to)) throw new Error(`--to must be a postgres:// or postgresql:// URL (got ${redactUrl(to)})`);
    return new DatabaseUrl(to);
  }
  const { database } = loadConfig();
  if (database.kind !== 'postgres') throw new Error('give --to <postgres url>, or set BOTPULSE_DATABASE_URL (or BOTPULSE_DATABASE_URL_FILE)');
  return database.url;
}

/**
 * How far the PostgreSQL store is (issue 12, in progress). The CLI's refusal and
 * docs/architecture.md ("PostgreSQL (in progress)") say exactly this; update all three together.
 */
export const READY_ON_POSTGRES: readonly string[] = [
  'the schema (`botpulse migrate` applies every migration to PostgreSQL)',
  'the alert store and the monitor store (not yet used by the server)',
];

export const NOT_YET_ON_POSTGRES = [
  'events and issues (the digest)',
  'the ingest spool',
  'projects and their DSN keys',
  'dashboard users, sessions and the login lockout',
  'API tokens',
] as const;

/** Why a command that needs the whole store refuses a postgres:// BOTPULSE_DATABASE_URL (no silent fallback to SQLite). */
export function postgresNotReadyMessage(command: string, redactedUrl: string, sqliteFile: string): string {
  return [
    `\`botpulse ${command}\` cannot run on PostgreSQL yet (BOTPULSE_DATABASE_URL=${redactedUrl}).`,
    ...(READY_ON_POSTGRES.length ? [`On PostgreSQL today: ${READY_ON_POSTGRES.join('; ')}.`] : []),
    `Not yet on PostgreSQL: ${NOT_YET_ON_POSTGRES.join(', ')}.`,
    `Refusing to start rather than silently using the SQLite file ${sqliteFile}: unset BOTPULSE_DATABASE_URL to run on SQLite.`,
    'See docs/architecture.md, "PostgreSQL (in progress)".',
  ].join('\n');
}

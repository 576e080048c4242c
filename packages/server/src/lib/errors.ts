/**
 * A request the client got wrong: it carries the HTTP status and a message that says what to fix.
 * Anything that is not a ClientError and reaches the HTTP layer is our bug (500).
 */
export class ClientError extends Error {
  override name = 'ClientError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new ClientError(400, message);
export const tooLarge = (message: string) => new ClientError(413, message);

/** The configuration is wrong: the message names each bad key and what to fix (the CLI prints it alone). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Network failures of a database connection (Node's socket errors). */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
/**
 * PostgreSQL SQLSTATEs that mean "not now" rather than "wrong": connection exceptions (class 08),
 * the server shutting down or starting up (57P01..57P03), too many connections (53300).
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * The database is away (restarting, unreachable, full), as opposed to a query that is wrong: the
 * request may be retried later. Read from the error's `code` and the messages node-postgres gives
 * a dropped connection or a pool that could not connect in time, so the HTTP layer need not know
 * the driver.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_ERRNOS.has(code) || code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code))) return true;
  if (/^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/i.test(err.message)) return true;
  return err.cause !== undefined && err.cause !== err && isDatabaseUnavailable(err.cause);
}

/** Seconds a client is asked to wait before retrying while the database is away. */
export const DATABASE_RETRY_AFTER_S = 5;

/** The answer while the database is away: 503 with Retry-After, never a 500 (the SDKs retry later). */
export function databaseUnavailable(): ClientError {
  return new ClientError(503, `Botpulse cannot reach its database right now; retry in ${DATABASE_RETRY_AFTER_S} s`, {
    'Retry-After': String(DATABASE_RETRY_AFTER_S),
  });
}

import { inspect } from 'node:util';

/** `postgres://` or `postgresql://` (what libpq and node-postgres accept). */
export function isPostgresUrl(value: string): boolean {
  if (!/^postgres(ql)?:\/\//i.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false; // never rethrown: Node's URL error carries the whole input, password included
  }
}

/** The URL with its password replaced by `***` (for logs, errors, pages and CLI output). */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    // `?password=` works in libpq-style URLs too.
    if (url.searchParams.has('password')) url.searchParams.set('password', '***');
    return url.toString();
  } catch {
    return '<unparseable URL>';
  }
}

/**
 * A database URL that holds a password. It shows itself redacted everywhere (string, JSON, pino,
 * console.log, util.inspect), so a config object can be logged whole; only `reveal()` gives the
 * real URL, for the driver.
 */
export class DatabaseUrl {
  readonly #url: string;
  readonly redacted: string;

  constructor(url: string) {
    this.#url = url;
    this.redacted = redactUrl(url);
  }

  reveal(): string {
    return this.#url;
  }

  /** Replaces the URL and its password wherever they appear in a message (a driver may quote them). */
  scrub(message: string): string {
    let out = message.replaceAll(this.#url, this.redacted);
    const password = passwordOf(this.#url);
    if (password) out = out.replaceAll(password, '***');
    return out;
  }

  toString(): string {
    return this.redacted;
  }

  toJSON(): string {
    return this.redacted;
  }

  [inspect.custom](): string {
    return `DatabaseUrl(${this.redacted})`;
  }
}

function passwordOf(value: string): string | null {
  try {
    const url = new URL(value);
    const password = url.password || url.searchParams.get('password') || '';
    // Too short to replace safely inside other words; such a password is not a secret worth the name anyway.
    return password.length >= 4 ? decodeURIComponent(password) : null;
  } catch {
    return null;
  }
}

/** Where the data lives: the embedded SQLite file (default) or a PostgreSQL server (BOTPULSE_DATABASE_URL). */
export type DatabaseConfig =
  | { kind: 'sqlite'; file: string }
  | {
      kind: 'postgres';
      url: DatabaseUrl;
      /** Connections this process may hold at once (BOTPULSE_DATABASE_POOL_MAX). */
      poolMax: number;
      /** Longest a statement may run before PostgreSQL cancels it; 0: no limit. */
      statementTimeoutMs: number;
    };

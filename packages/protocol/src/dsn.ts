import { DsnParseError } from './errors.js';

/** A parsed Sentry DSN: `{protocol}://{publicKey}[:{secret}]@{host}[:{port}]{path}/{projectId}`. */
export interface Dsn {
  protocol: 'http' | 'https';
  publicKey: string;
  host: string;
  port: string;
  /** Path prefix before the project id, without a trailing slash ('' when none). */
  path: string;
  projectId: string;
}

/**
 * Parses a DSN. The secret part is accepted and discarded: it is deprecated and never required.
 * @example parseDsn('http://abc@localhost:8000/1').projectId === '1'
 */
export function parseDsn(dsn: string): Dsn {
  let url: URL;
  try {
    url = new URL(dsn.trim());
  } catch {
    throw new DsnParseError('DSN is not a URL; expected http(s)://<key>@<host>/<project>');
  }
  const protocol = url.protocol.replace(':', '');
  if (protocol !== 'http' && protocol !== 'https') {
    throw new DsnParseError(`DSN protocol must be http or https, got "${protocol}"`);
  }
  if (!url.username) throw new DsnParseError('DSN has no public key (the part before "@")');
  const segments = url.pathname.split('/').filter(Boolean);
  const projectId = segments.pop();
  if (!projectId) throw new DsnParseError('DSN has no project id (the last path segment)');
  return {
    protocol,
    publicKey: decodeURIComponent(url.username),
    host: url.hostname,
    port: url.port,
    path: segments.length ? `/${segments.join('/')}` : '',
    projectId: decodeURIComponent(projectId),
  };
}

/** Formats a DSN (without secret) from its parts. */
export function formatDsn(dsn: Dsn): string {
  const port = dsn.port ? `:${dsn.port}` : '';
  return `${dsn.protocol}://${dsn.publicKey}@${dsn.host}${port}${dsn.path}/${dsn.projectId}`;
}

/** The envelope endpoint an SDK posts to for this DSN. */
export function envelopeUrl(dsn: Dsn): string {
  const port = dsn.port ? `:${dsn.port}` : '';
  return `${dsn.protocol}://${dsn.host}${port}${dsn.path}/api/${dsn.projectId}/envelope/`;
}

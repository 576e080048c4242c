/**
 * What a failed `fetch` or socket means, in words a person can act on: the causes Node reports
 * (`fetch failed` hides them in `err.cause`) mapped to what to check.
 */
export function unreachable(what: string, err: unknown, check: string): Error {
  return new Error(`cannot reach ${what} (${why(err)}); ${check}`);
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens there',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  ECONNRESET: 'the connection was closed',
  UND_ERR_SOCKET: 'the connection was closed',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
};

/** The first known error code along the `cause` chain, else the innermost message. */
function why(err: unknown): string {
  let innermost = err instanceof Error ? err.message : String(err);
  let e = err as { code?: unknown; cause?: unknown; errors?: unknown[]; message?: string; name?: string } | undefined;
  for (let depth = 0; e && depth < 6; depth++) {
    if (typeof e.code === 'string' && REASONS[e.code]) return REASONS[e.code]!;
    if (e.name === 'TimeoutError') return 'no answer in time';
    if (typeof e.message === 'string' && e.message) innermost = e.message;
    // An AggregateError (a host with IPv4 and IPv6 addresses) carries one error per address.
    e = (e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined)) as typeof e;
  }
  return innermost;
}

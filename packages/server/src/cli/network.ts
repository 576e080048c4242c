/**
 * What a failed `fetch` or socket means, in words a person can act on: the causes Node reports
 * (`fetch failed` hides them in `err.cause`) mapped to what to check.
 */
export function unreachable(what: string, err: unknown, check: string): Error {
  const code = causeCode(err);
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'the host name does not resolve'
        : code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT'
          ? 'the connection timed out'
          : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
            ? 'the connection was closed'
            : (code ?? (err instanceof Error ? err.message : String(err)));
  return new Error(`cannot reach ${what} (${why}); ${check}`);
}

/** The first error code along the `cause` chain (undici wraps the socket's error). */
function causeCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && e.code !== 'ERR_INVALID_ARG_TYPE') return e.code;
    // An AggregateError (a host with IPv4 and IPv6 addresses) carries one error per address.
    const inner = Array.isArray(e.errors) ? (e.errors[0] as typeof e) : undefined;
    e = (e.cause as typeof e) ?? inner;
  }
  return undefined;
}

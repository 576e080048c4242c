/** Fields of an `X-Sentry-Auth` header (`Sentry sentry_key=..., sentry_version=7, ...`). */
export interface SentryAuth {
  sentryKey?: string;
  sentryVersion?: string;
  sentryClient?: string;
}

/**
 * Parses an `X-Sentry-Auth` (or `Authorization: Sentry ...`) header value.
 * Unknown fields are ignored; `sentry_secret` is deliberately not returned so it can't leak.
 */
export function parseSentryAuthHeader(value: string): SentryAuth {
  const body = value.trim().replace(/^sentry\s+/i, '');
  const auth: SentryAuth = {};
  for (const part of body.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const val = part.slice(eq + 1).trim();
    if (key === 'sentry_key') auth.sentryKey = val;
    else if (key === 'sentry_version') auth.sentryVersion = val;
    else if (key === 'sentry_client') auth.sentryClient = val;
  }
  return auth;
}

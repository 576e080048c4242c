/** Raised when bytes on the wire are not a valid Sentry envelope; the message says what is wrong. */
export class EnvelopeParseError extends Error {
  override name = 'EnvelopeParseError';
}

/** Raised when a DSN string cannot be understood. */
export class DsnParseError extends Error {
  override name = 'DsnParseError';
}

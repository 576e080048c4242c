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

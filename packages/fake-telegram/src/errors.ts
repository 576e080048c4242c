import type { ResponseParameters } from './types.js';

/**
 * An error answer of the Bot API. Handlers throw it; the dispatcher turns it into
 * `{"ok":false,"error_code":code,"description":...,"parameters":...}` with HTTP status = code,
 * which is what api.telegram.org does.
 */
export class ApiError extends Error {
  override name = 'ApiError';

  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: ResponseParameters,
  ) {
    super(description);
  }
}

export function badRequest(what: string, parameters?: ResponseParameters): ApiError {
  return new ApiError(400, `Bad Request: ${what}`, parameters);
}

export const unauthorized = (): ApiError => new ApiError(401, 'Unauthorized');
export const notFound = (): ApiError => new ApiError(404, 'Not Found');

// Exact wordings of the two getUpdates conflicts (Bot API, see docs/research/telegram-ecosystem.md §3).
export const CONFLICT_OTHER_POLLER =
  'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running';
export const CONFLICT_WEBHOOK_ACTIVE =
  "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";

export const MESSAGE_NOT_MODIFIED =
  'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';
export const QUERY_TOO_OLD = 'query is too old and response timeout expired or query ID is invalid';

/** Raised by the parse_mode parsers; the message becomes "Bad Request: can't parse entities: <message>". */
export class EntityParseError extends Error {
  override name = 'EntityParseError';
}

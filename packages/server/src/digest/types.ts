import type { SentryEventPayload, TelegramContext } from '@botpulse/protocol';

/** Levels Botpulse stores. Sentry's `fatal` is shown as "critical" in the product (seed 000). */
export type Level = 'fatal' | 'error' | 'warning' | 'info' | 'debug';

/** Request facts kept per event (seed 004's ErrorLog fields). */
export interface RequestInfo {
  method: string | null;
  url: string | null;
  /** The route pattern: numbers/ids in the path replaced, so `/users/42` → `/users/<int>`. */
  urlPattern: string | null;
  statusCode: number | null;
  ip: string | null;
  userAgent: string | null;
}

/**
 * One event after scrubbing and normalisation: what the store writes and what grouping and the
 * rules read. `payload` is the scrubbed Sentry event, kept whole (compressed) for the dashboard.
 */
export interface NormalizedEvent {
  /** 32 lowercase hex characters. */
  eventId: string;
  /** When the SDK says the event happened (ms since epoch), clamped to a sane window. */
  timestamp: number;
  level: Level;
  platform: string | null;
  environment: string | null;
  release: string | null;
  serverName: string | null;
  transaction: string | null;
  /** Where it came from: webhook, handler, worker, miniapp, http, scheduler... (tag `origin`). */
  origin: string | null;
  /** One line: `Type: value` or the message's first line; at most 200 characters. */
  title: string;
  /** Where: the crashing in-app frame (`module in function`) or the transaction. */
  culprit: string | null;
  message: string | null;
  exceptionType: string | null;
  exceptionValue: string | null;
  /** Identifies the affected user for the "users affected" count (Telegram user id first). */
  userKey: string | null;
  telegram: TelegramContext | null;
  request: RequestInfo | null;
  /** Flattened string tags, keys and values capped at 200 characters. */
  tags: Record<string, string>;
  payload: SentryEventPayload;
}

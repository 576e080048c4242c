/**
 * The parts of a Sentry event payload that Botpulse reads. Real SDKs send more; everything is
 * optional because old and third-party clients omit fields or send other shapes (a bare list for
 * `exception`, `[key, value]` pairs for `tags`, an epoch number for `timestamp`).
 */
export type SentryLevel = 'fatal' | 'error' | 'warning' | 'info' | 'debug';

export interface SentryStackFrame {
  filename?: string;
  abs_path?: string;
  function?: string;
  module?: string;
  lineno?: number;
  colno?: number;
  context_line?: string;
  pre_context?: string[];
  post_context?: string[];
  in_app?: boolean;
  vars?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface SentryException {
  type?: string;
  value?: string;
  module?: string;
  mechanism?: { type?: string; handled?: boolean; synthetic?: boolean; [key: string]: unknown };
  stacktrace?: { frames?: SentryStackFrame[] };
  [key: string]: unknown;
}

export interface SentryBreadcrumb {
  timestamp?: string | number;
  type?: string;
  category?: string;
  level?: string;
  message?: string;
  data?: Record<string, unknown>;
}

export interface SentryUser {
  id?: string | number;
  username?: string;
  email?: string;
  ip_address?: string;
  [key: string]: unknown;
}

export interface SentryRequest {
  method?: string;
  url?: string;
  query_string?: unknown;
  headers?: Record<string, string> | [string, string][];
  data?: unknown;
  env?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The fields every event has, whichever shape its `exception` and `breadcrumbs` take. */
interface SentryEventFields {
  event_id?: string;
  timestamp?: string | number;
  platform?: string;
  level?: SentryLevel | string;
  logger?: string;
  transaction?: string;
  server_name?: string;
  release?: string;
  dist?: string;
  environment?: string;
  message?: string | { message?: string; formatted?: string; params?: unknown[] };
  logentry?: { message?: string; formatted?: string; params?: unknown[] };
  tags?: Record<string, unknown> | [string, unknown][];
  extra?: Record<string, unknown>;
  contexts?: Record<string, Record<string, unknown> | undefined>;
  user?: SentryUser;
  request?: SentryRequest;
  fingerprint?: string[];
  culprit?: string;
  sdk?: { name?: string; version?: string };
  [key: string]: unknown;
}

/**
 * An event as a current SDK builds it: what `@botpulse/sdk` hands to `beforeSend` and
 * `captureEvent` takes. `exception` and `breadcrumbs` are `{ values }` objects only, so
 * `event.exception?.values?.[0]?.type` type-checks without a cast (a union with a bare list made
 * it TS7053: an array's `values` is its iterator method).
 */
export interface SentryEvent extends SentryEventFields {
  exception?: { values?: SentryException[] };
  breadcrumbs?: { values?: SentryBreadcrumb[] };
}

/**
 * An event as it arrives at a server: old and third-party clients also send `exception` and
 * `breadcrumbs` as bare lists. Botpulse reads this and normalises it (server digest/shape.ts).
 */
export interface SentryEventPayload extends SentryEventFields {
  exception?: { values?: SentryException[] } | SentryException[];
  breadcrumbs?: { values?: SentryBreadcrumb[] } | SentryBreadcrumb[];
}

/**
 * Telegram context that the Botpulse SDK puts in `contexts.telegram`; also what the server
 * extracts from events of other SDKs where it can.
 */
export interface TelegramContext {
  update_id?: number;
  update_type?: string;
  chat_id?: number | string;
  chat_type?: string;
  user_id?: number | string;
  username?: string;
  first_name?: string;
  last_name?: string;
  language_code?: string;
  role?: string;
  group_id?: number | string;
  duplicate?: boolean;
}

// Expected Telegram errors: a user blocking the bot or a 429 is the weather, not a bug. They
// become breadcrumbs and counters instead of issues.
//
// Noise is recognised by where an error comes from, never by words in its message: only a Bot
// API answer (grammY `GrammyError`, Telegraf `TelegramError`, any error carrying Telegram's
// `error_code` + `description`) or a Bot API call that got no answer (grammY `HttpError`, or
// whatever a call threw while the SDK's API hook watched it) can be noise. An application's own
// `new Error('Payment provider timeout')` is always an issue, whatever it says. Within Bot API
// answers, descriptions are matched lowercased and loosely (Telegram rewords them now and then).

/** Kinds of expected Telegram errors. */
export type NoiseKind =
  | 'rate_limited'
  | 'network'
  | 'bot_blocked'
  | 'user_deactivated'
  | 'chat_not_found'
  | 'message_not_modified'
  | 'query_too_old'
  | 'polling_conflict'
  | 'message_gone'
  | 'not_enough_rights';

/**
 * The kinds treated as noise unless configured otherwise.
 * @example init({ noise: { kinds: [...DEFAULT_NOISE_KINDS, 'message_gone'] } })
 */
export const DEFAULT_NOISE_KINDS: readonly NoiseKind[] = [
  'rate_limited',
  'network',
  'bot_blocked',
  'user_deactivated',
  'chat_not_found',
  'message_not_modified',
  'query_too_old',
  'polling_conflict',
];

/** What the SDK could learn about a failed Bot API call from an error of any library. */
export interface TelegramErrorInfo {
  method?: string;
  errorCode?: number;
  description: string;
  retryAfter?: number;
  migrateToChatId?: number;
  /** True for transport failures (no Bot API answer at all). */
  network: boolean;
}

/** Noise configuration (`init({ noise })`). */
export interface NoiseOptions {
  /** Kinds treated as noise; default `DEFAULT_NOISE_KINDS`; `[]` reports everything. */
  kinds?: readonly NoiseKind[];
  /**
   * Extra substrings (case-insensitive) or regexes matched against the message of ANY error
   * (kind `custom`): your own expected errors, by your own words.
   */
  patterns?: readonly (string | RegExp)[];
  /**
   * Final say: return true (noise), false (report) or undefined (keep the built-in decision).
   * `kind` is the built-in classification, if any.
   */
  isNoise?: (error: unknown, kind: NoiseKind | 'custom' | undefined) => boolean | undefined;
}

const DESCRIPTION_RULES: readonly [NoiseKind, RegExp][] = [
  ['bot_blocked', /bot was blocked by the user|bot was kicked from|bot is not a member|can't initiate conversation|bots can't send messages to bots|bot can't send messages to bots|group chat was deleted|chat was deleted/],
  ['user_deactivated', /user is deactivated/],
  ['chat_not_found', /chat not found|peer_id_invalid|user not found|group is deactivated/],
  ['message_not_modified', /message is not modified/],
  ['query_too_old', /query is too old|query id is invalid/],
  ['message_gone', /message to edit not found|message to delete not found|message can't be deleted|message to reply not found/],
  ['not_enough_rights', /not enough rights/],
];

/** Errors thrown by a Bot API call while an API hook (grammY transformer, Telegraf wrapper) watched it. */
const failedCalls = new WeakMap<object, string>();

/**
 * Remembers that `error` was thrown by a Bot API call to `method` that got no answer (network
 * failure, timeout, abort). The SDK's API hooks call it, so such an error is recognised as a
 * Bot API failure wherever it surfaces later.
 * @example markBotApiFailure(error, 'sendMessage')
 */
export function markBotApiFailure(error: unknown, method: string): void {
  if (typeof error === 'object' && error !== null) failedCalls.set(error, method);
}

/**
 * Reads a Bot API failure from a grammY `GrammyError`/`HttpError`, a Telegraf `TelegramError`,
 * grammY's `BotError` wrapper, any error with Telegram's `error_code`/`description`, or an
 * error a Bot API call threw under the SDK's API hook. Undefined for every other error.
 * @example telegramErrorInfo(err)?.errorCode === 403
 */
export function telegramErrorInfo(error: unknown): TelegramErrorInfo | undefined {
  const inner = unwrapBotError(error);
  if (typeof inner !== 'object' || inner === null) return undefined;
  const e = inner as Record<string, any>;
  const answer = botApiAnswer(e);
  if (answer) return answer;
  const hookedMethod = failedCalls.get(inner);
  if (hookedMethod !== undefined) return { method: hookedMethod, description: messageOf(inner), network: true };
  const httpMethod = grammyHttpErrorMethod(e);
  if (httpMethod !== undefined) return { method: httpMethod, description: messageOf(inner), network: true };
  return undefined;
}

/** Telegram's `{error_code, description, parameters}` on the error (grammY) or its `response` (Telegraf). */
function botApiAnswer(e: Record<string, any>): TelegramErrorInfo | undefined {
  const response = typeof e['response'] === 'object' && e['response'] !== null ? e['response'] : undefined;
  const code = numberOr(e['error_code'], response?.error_code);
  const description = stringOr(e['description'], response?.description);
  if (code === undefined || description === undefined) return undefined;
  const parameters = e['parameters'] ?? response?.parameters ?? {};
  const info: TelegramErrorInfo = { errorCode: code, description, network: false, ...methodOf(e) };
  if (typeof parameters?.retry_after === 'number') info.retryAfter = parameters.retry_after;
  if (typeof parameters?.migrate_to_chat_id === 'number') info.migrateToChatId = parameters.migrate_to_chat_id;
  return info;
}

/**
 * grammY's `HttpError` (a Bot API call without an answer), told apart from an application's own
 * class of the same name by grammY's message and its wrapped `error`.
 */
function grammyHttpErrorMethod(e: Record<string, any>): string | undefined {
  if (e['name'] !== 'HttpError' || !('error' in e)) return undefined;
  return /^Network request for '([^']+)' failed/.exec(String(e['message']))?.[1];
}

function methodOf(e: Record<string, any>): { method?: string } {
  const method = typeof e['method'] === 'string' ? e['method'] : typeof e['on']?.method === 'string' ? e['on'].method : undefined;
  return method ? { method } : {};
}

function messageOf(error: object): string {
  return error instanceof Error ? error.message : String(error);
}

const numberOr = (...values: unknown[]): number | undefined => values.find((v): v is number => typeof v === 'number');
const stringOr = (...values: unknown[]): string | undefined => values.find((v): v is string => typeof v === 'string');

/** grammY wraps middleware errors in `BotError { error, ctx }`; the interesting one is inside. */
export function unwrapBotError(error: unknown): unknown {
  if (error instanceof Error && error.name === 'BotError' && 'error' in error && 'ctx' in error) return (error as { error: unknown }).error;
  return error;
}

/**
 * Classifies a Bot API answer (code + description) as a noise kind, or undefined when it must be
 * reported. Answers that mean the bot itself is broken are never noise: 401 (a bad or revoked
 * token), 404 (a bad token or an unknown method, e.g. getMe at start-up), and any 409 other than
 * another poller taking getUpdates over (a webhook still set, for one).
 * @example classifyApiFailure(403, 'Forbidden: bot was blocked by the user') // 'bot_blocked'
 */
export function classifyApiFailure(code: number | undefined, description: string, parameters?: { retry_after?: number }): NoiseKind | undefined {
  if (code === 401 || code === 404) return undefined;
  if (code === 429 || parameters?.retry_after !== undefined) return 'rate_limited';
  const text = description.toLowerCase();
  // "Conflict: terminated by other getUpdates request": two pollers, as in every deploy overlap.
  // The polling monitor turns one lasting longer than that into an issue (conflictEventAfterMs).
  if (code === 409) return /terminated by other getupdates request/.test(text) ? 'polling_conflict' : undefined;
  for (const [kind, pattern] of DESCRIPTION_RULES) if (pattern.test(text)) return kind;
  if (code !== undefined && code >= 500) return 'network';
  return undefined;
}

/**
 * Built-in classification of any thrown value: a noise kind for Bot API failures that are
 * Telegram's weather, undefined for everything else (application errors above all).
 * @example classifyError(new GrammyError(...403 bot was blocked...)) // 'bot_blocked'
 * @example classifyError(new Error('Payment provider timeout')) // undefined: an issue
 */
export function classifyError(error: unknown): NoiseKind | undefined {
  const info = telegramErrorInfo(error);
  if (!info) return undefined;
  if (info.network) return 'network';
  return classifyApiFailure(info.errorCode, info.description, info.retryAfter !== undefined ? { retry_after: info.retryAfter } : undefined);
}

/**
 * Decides noise per the options; returns the kind when the error is noise.
 * @example new NoiseFilter({ patterns: ['Insufficient balance'] }).classify(err)
 */
export class NoiseFilter {
  private readonly kinds: ReadonlySet<NoiseKind>;

  constructor(private readonly options: NoiseOptions = {}) {
    this.kinds = new Set(options.kinds ?? DEFAULT_NOISE_KINDS);
  }

  /** The noise kind of `error` (`'custom'` for a user pattern), or undefined when it must be reported. */
  classify(error: unknown): NoiseKind | 'custom' | undefined {
    const builtIn = classifyError(error);
    let kind: NoiseKind | 'custom' | undefined = builtIn && this.kinds.has(builtIn) ? builtIn : undefined;
    if (kind === undefined && this.matchesPattern(error)) kind = 'custom';
    const verdict = this.options.isNoise?.(error, builtIn ?? kind);
    if (verdict === true) return kind ?? builtIn ?? 'custom';
    if (verdict === false) return undefined;
    return kind;
  }

  private matchesPattern(error: unknown): boolean {
    const patterns = this.options.patterns;
    if (!patterns?.length) return false;
    const inner = unwrapBotError(error);
    const message = inner instanceof Error ? inner.message : String(inner);
    const lower = message.toLowerCase();
    return patterns.some((p) => (typeof p === 'string' ? lower.includes(p.toLowerCase()) : p.test(message)));
  }
}

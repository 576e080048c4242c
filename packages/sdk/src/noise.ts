// Expected Telegram errors: a user blocking the bot or a 429 is the weather, not a bug. They
// become breadcrumbs and counters instead of issues. Matching is on lowercased descriptions and
// on `parameters`, never on exact strings (Telegram rewords messages now and then).

/** Kinds of expected Telegram errors. */
export type NoiseKind =
  | 'rate_limited'
  | 'network'
  | 'bot_blocked'
  | 'user_deactivated'
  | 'chat_not_found'
  | 'message_not_modified'
  | 'query_too_old'
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
  /** Extra substrings (case-insensitive) or regexes matched against the error message. */
  patterns?: readonly (string | RegExp)[];
  /**
   * Final say: return true (noise), false (report) or undefined (keep the built-in decision).
   * `kind` is the built-in classification, if any.
   */
  isNoise?: (error: unknown, kind: NoiseKind | 'custom' | undefined) => boolean | undefined;
}

const DESCRIPTION_RULES: readonly [NoiseKind, RegExp][] = [
  ['rate_limited', /too many requests|retry after/],
  ['bot_blocked', /bot was blocked by the user|bot was kicked from|bot is not a member|can't initiate conversation|bots can't send messages to bots|bot can't send messages to bots|group chat was deleted|chat was deleted/],
  ['user_deactivated', /user is deactivated/],
  ['chat_not_found', /chat not found|peer_id_invalid|user not found|group is deactivated/],
  ['message_not_modified', /message is not modified/],
  ['query_too_old', /query is too old|query id is invalid/],
  ['message_gone', /message to edit not found|message to delete not found|message can't be deleted|message to reply not found/],
  ['not_enough_rights', /not enough rights/],
];

const NETWORK_CODES = new Set(['ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT']);
const NETWORK_MESSAGE = /network request for '[^']*' failed|socket hang up|fetch failed|request timed out|timed out|timeout|econnreset|etimedout|network error/;

/**
 * Reads a Bot API failure from a grammY `GrammyError`/`HttpError`, a Telegraf `TelegramError`,
 * grammY's `BotError` wrapper, or any error with `error_code`/`description`.
 * @example telegramErrorInfo(err)?.errorCode === 403
 */
export function telegramErrorInfo(error: unknown): TelegramErrorInfo | undefined {
  const inner = unwrapBotError(error);
  if (!(inner instanceof Error)) return undefined;
  const e = inner as Error & Record<string, any>;
  if (e.name === 'HttpError') return { description: e.message, network: true, ...methodOf(e) };
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

function methodOf(e: Record<string, any>): { method?: string } {
  const method = typeof e['method'] === 'string' ? e['method'] : typeof e['on']?.method === 'string' ? e['on'].method : undefined;
  return method ? { method } : {};
}

const numberOr = (...values: unknown[]): number | undefined => values.find((v): v is number => typeof v === 'number');
const stringOr = (...values: unknown[]): string | undefined => values.find((v): v is string => typeof v === 'string');

/** grammY wraps middleware errors in `BotError { error, ctx }`; the interesting one is inside. */
export function unwrapBotError(error: unknown): unknown {
  if (error instanceof Error && error.name === 'BotError' && 'error' in error && 'ctx' in error) return (error as { error: unknown }).error;
  return error;
}

/**
 * Classifies a Bot API answer (code + description) as a noise kind, or undefined.
 * @example classifyApiFailure(403, 'Forbidden: bot was blocked by the user') // 'bot_blocked'
 */
export function classifyApiFailure(code: number | undefined, description: string, parameters?: { retry_after?: number }): NoiseKind | undefined {
  if (code === 429 || parameters?.retry_after !== undefined) return 'rate_limited';
  const text = description.toLowerCase();
  for (const [kind, pattern] of DESCRIPTION_RULES) if (pattern.test(text)) return kind;
  if (code !== undefined && code >= 500) return 'network';
  return undefined;
}

/**
 * Built-in classification of any thrown value (Telegram errors and network failures).
 * @example classifyError(new Error('socket hang up')) // 'network'
 */
export function classifyError(error: unknown): NoiseKind | undefined {
  const info = telegramErrorInfo(error);
  if (info?.network) return 'network';
  if (info) return classifyApiFailure(info.errorCode, info.description, info.retryAfter !== undefined ? { retry_after: info.retryAfter } : undefined);
  const inner = unwrapBotError(error);
  if (!(inner instanceof Error)) return undefined;
  const code = (inner as Error & { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'network';
  if (inner.name === 'AbortError' || inner.name === 'TimeoutError' || inner.name === 'FetchError') return 'network';
  return NETWORK_MESSAGE.test(inner.message.toLowerCase()) ? 'network' : undefined;
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

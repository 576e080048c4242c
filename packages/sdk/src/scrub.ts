// Bot tokens and other secrets never leave the process: every event, breadcrumb, span and log
// record goes through here before it is queued. The server scrubs again (defense in depth).

/**
 * A Telegram bot token anywhere in a string: `<bot id>:<secret>`, also with the colon
 * percent-encoded once (`%3A`) or twice (`%253A`, a URL encoded into another URL).
 * @example text.replace(BOT_TOKEN_PATTERN, '[bot-token]')
 */
export const BOT_TOKEN_PATTERN = /\d{3,20}(?::|%(?:25)*3[Aa])[A-Za-z0-9_-]{30,}/g;
/** `/bot<id>:<anything>` in a Bot API URL, even when the secret part is short or unusual. */
// Backslash excluded too, so that applied to JSON text it never eats half of an escape like \".
const BOT_URL_PATTERN = /\/bot\d+:[^/?#\s"'\\]*/g;
/** The same with an encoded colon: the secret ends where its alphabet does (`%2F` is the next slash). */
const ENCODED_BOT_URL_PATTERN = /\/bot\d+%(?:25)*3[Aa][A-Za-z0-9_-]*/g;
/**
 * Key and signature query parameters (`?key=`, `&sig=`, `&signature=`, `&pwd=`, `&pass=`), which
 * a key-name rule cannot take (`key` would hide `monkey`). Also at the start of a string or of a
 * JSON string (`"key=…&q=1"`, a query string on its own). Mirrors the server's scrubber.
 */
const SECRET_QUERY_PARAMETER_PATTERN = /(^|[?&;"])(key|pwd|pass|sig|signature)=(?!\[)[^&#\s"'<>\\]+/gi;
/** OpenAI (`sk-…`, `sk-proj-…`), Anthropic (`sk-ant-…`) and Stripe (`sk_live_…`) keys in free text. */
const PREFIXED_API_KEY_PATTERN = /\bsk-(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]{20,}|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}/g;
/** Keys whose values are secrets whatever they look like. */
const SECRET_KEY_PATTERN = /(token|password|passwd|secret|authorization|cookie|api[-_]?key|private[-_]?key|credential|session[-_]?id|dsn)/i;
/** Keys that look secret but are harmless ids/counters we want to keep. */
const SAFE_KEYS = new Set(['update_id', 'duplicate_update', 'token_source', 'check_in_id', 'secret_token_set']);

export const FILTERED = '[Filtered]';
const REDACTED_TOKEN = '[bot-token]';

/** Extra secrets to remove verbatim (the bot's own token once a plugin knows it). */
const knownSecrets = new Set<string>();

/**
 * Registers a secret (e.g. the bot token) to be removed verbatim from everything the SDK sends,
 * even when it does not look like a token.
 * @example registerSecret(process.env.TELEGRAM_BOT_TOKEN!)
 */
export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 8) knownSecrets.add(secret);
}

/**
 * Replaces bot tokens (and registered secrets) in a string.
 * @example scrubString('GET /bot123456:AAH.../getMe') // 'GET /bot[bot-token]/getMe'
 */
export function scrubString(text: string): string {
  let out = text;
  for (const secret of knownSecrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED_TOKEN);
  // Cheap pre-checks: a token holds ':' or an encoded one; the other patterns '=' or 'k-'/'k_'.
  if (out.includes(':') || out.includes('%')) {
    out = out.replace(BOT_URL_PATTERN, `/bot${REDACTED_TOKEN}`).replace(ENCODED_BOT_URL_PATTERN, `/bot${REDACTED_TOKEN}`).replace(BOT_TOKEN_PATTERN, REDACTED_TOKEN);
  }
  if (out.includes('=')) out = out.replace(SECRET_QUERY_PARAMETER_PATTERN, `$1$2=${FILTERED}`);
  if (out.includes('k-') || out.includes('k_')) out = out.replace(PREFIXED_API_KEY_PATTERN, FILTERED);
  return out;
}

/**
 * True when a key names a secret (`token`, `password`, `authorization`, ...).
 * @example isSecretKey('api_key') // true
 */
export function isSecretKey(key: string): boolean {
  return !SAFE_KEYS.has(key) && SECRET_KEY_PATTERN.test(key);
}

/**
 * Deep copy of `value` with tokens removed from every string and secret-named keys filtered.
 * Cycles become "[Circular]"; depth is capped so a huge object cannot stall the caller.
 * @example scrubValue({ url: 'https://api.telegram.org/bot1:xyz/getMe', password: 'p' })
 */
export function scrubValue<T>(value: T, options: { maxDepth?: number; maxStringLength?: number } = {}): T {
  return walk(value, options.maxDepth ?? 12, new WeakSet(), options.maxStringLength ?? Infinity) as T;
}

function walk(value: unknown, depth: number, seen: WeakSet<object>, maxString: number): unknown {
  if (typeof value === 'string') {
    const clean = scrubString(value);
    return clean.length > maxString ? `${clean.slice(0, maxString)}…` : clean;
  }
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth <= 0) return '[MaxDepth]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => walk(item, depth - 1, seen, maxString));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = isSecretKey(key) && item !== null && typeof item !== 'object' && typeof item !== 'boolean' ? FILTERED : walk(item, depth - 1, seen, maxString);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * Scrubs text that is already serialised JSON: tokens only (keys were handled before
 * serialising). One regex pass over the string instead of a walk over every value: this is
 * what keeps events with long stack traces cheap. Tokens contain no character JSON escapes,
 * so they look the same inside JSON strings.
 * @example scrubJson(JSON.stringify(transaction))
 */
export function scrubJson(json: string): string {
  return scrubString(json);
}

/**
 * Server-side secret scrubbing: defense in depth behind the SDK's own scrubbing. Runs on every
 * event before anything is written to disk, so nothing secret may survive it: Telegram bot tokens
 * anywhere in any string (also percent-encoded once or twice), values under secret-looking keys,
 * URL passwords, `Bearer`/`Basic` credentials, `name=value` pairs whose name says secret, signing
 * and key query parameters (`?key=`, `&sig=`...), and `sk-…` API keys (OpenAI, Anthropic).
 */
import type { SentryEventPayload } from '@botpulse/protocol';
import type { UserRegex } from '../lib/user-regex.js';

export const FILTERED = '[Filtered]';
/** What replaces data nested deeper than we walk: unscanned data must not be stored. */
export const TOO_DEEP = '[Filtered: nested too deep]';
export const CIRCULAR = '[Circular]';
/** Sentry SDKs cut variables at depth 10 already; real events stay far below this. */
export const MAX_SCRUB_DEPTH = 32;

export interface ScrubberOptions {
  /** More key names to filter, matched case-insensitively as substrings (like the built-in ones). */
  extraKeys?: string[];
  /** More patterns (operator-written, so linear-time: lib/user-regex.ts) to replace with `[Filtered]` in every string. */
  extraPatterns?: UserRegex[];
}

export interface Scrubber {
  /** Scrubs the event IN PLACE and returns the same object (the digest owns the parsed JSON). */
  scrubEvent(event: SentryEventPayload): SentryEventPayload;
  scrubString(s: string): string;
}

/**
 * Key names (lower-cased, `-` and spaces as `_`) whose values are secret. Substring match, so
 * `x_api_key`, `set_cookie`, `sessionid` and `proxy_authorization` are caught; `author` is not.
 */
const SENSITIVE_KEY_WORDS = [
  'password', 'passwd', 'mysql_pwd', 'secret', 'token', 'api_?key', 'access_?key', 'authoriz', 'auth(?!or)',
  'cookie', 'session', 'csrf', 'xsrf', 'private_?key', 'credential', 'sentry_key',
];

/** LLM bots report `prompt_tokens: 812`; a count is not a secret, and hiding it would hurt. */
const TOKEN_COUNT_KEY = /(?:^|_)tokens(?:$|_)|token_?(?:count|usage|used|limit)/;

/**
 * Telegram bot tokens: `<bot id>:<35 chars of [A-Za-z0-9_-]>` (also `%3A`-encoded, or `%253A` when a
 * URL was encoded twice), and in Bot API URLs `/bot<id>:<anything>` (test tokens are shorter). The
 * bot id goes too: id + secret is the token.
 */
const TELEGRAM_TOKEN = /\/bot\d+(?::|%(?:25)*3[Aa])[A-Za-z0-9_-]+|(?<!\d)\d{3,20}(?::|%(?:25)*3[Aa])[A-Za-z0-9_-]{30,}/;
const hideTelegramToken = (token: string): string => (token.startsWith('/bot') ? `/bot${FILTERED}` : FILTERED);

/** `scheme://user:password@host`; a lone long user part is a token too (`https://ghp_x…@github.com`). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*)(?::([^\s/@]*))?@/i;
const TOKEN_LIKE_USER = /^[\w.~-]{20,}$/;

const BEARER_CREDENTIAL = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/i;
/**
 * `Basic` is also an English word: only a value that looks like base64 (a digit, `+`, `/`, `=`,
 * or an upper-case letter after the first), so `Basic authentication` stays.
 */
const BASIC_CREDENTIAL = /\b(Basic)\s+(?=[A-Za-z0-9+/]*(?:[0-9+/=]|[A-Za-z0-9+/][A-Z]))[A-Za-z0-9+/]{8,}={0,2}/;

/**
 * Query parameters that carry keys and signatures under short names a key-name rule cannot take
 * (`key` would hide `monkey`): only as a parameter, at the start of a query string or after `?`,
 * `&` or `;` (`&amp;`). `?key=AIza…`, `&sig=…` (signed URLs), `&pwd=…`, `&pass=…`, `&signature=…`.
 */
const SECRET_QUERY_PARAMETER = /(^|[?&;])(key|pwd|pass|sig|signature)=(?!\[Filtered)[^&#\s"'<>]+/i;
const QUERY_PARAMETER_NAMES = new Set(['key', 'pwd', 'pass', 'sig', 'signature']);

/**
 * API keys with a recognisable prefix, in free text: OpenAI (`sk-…`, `sk-proj-…`), Anthropic
 * (`sk-ant-api03-…`), and Stripe secret/restricted keys (`sk_live_…`, `rk_test_…`). A digit is
 * required so that a long hyphenated word starting with `sk-` stays.
 */
const PREFIXED_API_KEY = /\bsk-(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]{20,}|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}/;

/** Every built-in rule needs one of these characters, and at least 6 characters (`pass=x`). */
const MAY_HOLD_SECRET = /[:=@%\s]/;
const MIN_SECRET_LENGTH = 6;
/** `sk-` and 20 characters. */
const MIN_API_KEY_LENGTH = 23;

type Replacement = string | ((match: string, ...groups: any[]) => string);

/**
 * A replacement rule behind a non-global probe: on the usual no-match, `probe.test` costs about a
 * tenth of a global `replace`, and this runs on every string of every event.
 */
interface StringRule {
  probe: { test(text: string): boolean };
  apply: (text: string) => string;
}

function stringRule(pattern: RegExp, replacement: Replacement): StringRule {
  const global = withFlags(pattern, 'g');
  return {
    probe: withFlags(pattern, ''),
    apply: (text) => (typeof replacement === 'string' ? text.replace(global, replacement) : text.replace(global, replacement)),
  };
}

function withFlags(pattern: RegExp, extra: string): RegExp {
  return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '') + extra);
}

function applyRule(text: string, rule: StringRule): string {
  return rule.probe.test(text) ? rule.apply(text) : text;
}

interface KeyVerdict {
  /** The value under this key is secret. */
  sensitive: boolean;
  /** The key itself, scrubbed: keys can hold tokens too (`{"https://…/bot1:AA…": 1}`). */
  clean: string;
}

/** Builds the scrubber once (at startup); `scrubEvent` then runs per event. */
export function createScrubber(options: ScrubberOptions = {}): Scrubber {
  const sensitiveKey = sensitiveKeyPattern(options.extraKeys ?? []);
  const telegramToken = stringRule(TELEGRAM_TOKEN, hideTelegramToken);
  const urlUserinfo = stringRule(URL_USERINFO, hideUserinfo);
  const assignment = assignmentRule(options.extraKeys ?? []);
  const bearer = stringRule(BEARER_CREDENTIAL, `$1 ${FILTERED}`);
  const basic = stringRule(BASIC_CREDENTIAL, `$1 ${FILTERED}`);
  const queryParameter = stringRule(SECRET_QUERY_PARAMETER, `$1$2=${FILTERED}`);
  const prefixedApiKey = stringRule(PREFIXED_API_KEY, FILTERED);
  const extraRules: StringRule[] = (options.extraPatterns ?? []).map((pattern) => ({
    probe: { test: (text: string) => pattern.test(text) },
    apply: (text) => pattern.replaceAll(text, FILTERED),
  }));

  const scrubString = (s: string): string => {
    let out = s;
    if (out.length >= MIN_SECRET_LENGTH && MAY_HOLD_SECRET.test(out)) {
      const hasColon = out.includes(':');
      const hasEquals = out.includes('=');
      if (hasColon || out.includes('%')) out = applyRule(out, telegramToken);
      if (out.includes('@')) out = applyRule(out, urlUserinfo);
      if (hasColon || hasEquals) out = applyRule(out, assignment);
      if (hasEquals) out = applyRule(out, queryParameter);
      if (out.includes(' ')) out = applyRule(applyRule(out, bearer), basic);
    }
    if (out.length >= MIN_API_KEY_LENGTH && (out.includes('k-') || out.includes('k_'))) out = applyRule(out, prefixedApiKey);
    for (const rule of extraRules) out = applyRule(out, rule);
    return out;
  };

  const judgeKey = (key: string): KeyVerdict => ({ sensitive: sensitiveKey.test(normalizeKey(key)), clean: scrubString(key) });
  const walker = new TreeWalker(cached(judgeKey), scrubString);
  return {
    scrubString,
    scrubEvent: (event) => {
      walker.scrubRoot(event);
      hideSecretQueryParameters(event);
      return event;
    },
  };
}

/**
 * `request.query_string` sent parsed, as `{key: …}` or `[["sig", …]]`: the names of
 * SECRET_QUERY_PARAMETER are secret there, though not as keys elsewhere (`{key: "user:42"}`).
 */
function hideSecretQueryParameters(event: SentryEventPayload): void {
  const query: unknown = (event as { request?: { query_string?: unknown } }).request?.query_string;
  if (Array.isArray(query)) {
    for (const pair of query) {
      if (Array.isArray(pair) && pair.length >= 2 && typeof pair[0] === 'string' && QUERY_PARAMETER_NAMES.has(pair[0].toLowerCase())) pair[1] = FILTERED;
    }
  } else if (query !== null && typeof query === 'object') {
    const record = query as Record<string, unknown>;
    for (const key of Object.keys(record)) if (QUERY_PARAMETER_NAMES.has(key.toLowerCase())) record[key] = FILTERED;
  }
}

/** Recursively scrubs JSON-like trees in place. */
class TreeWalker {
  constructor(
    private readonly judgeKey: (key: string) => KeyVerdict,
    private readonly scrubString: (s: string) => string,
  ) {}

  scrubRoot(root: unknown): unknown {
    return this.scrubValue(root, 0, new Set());
  }

  private scrubValue(value: unknown, depth: number, seen: Set<object>): unknown {
    if (typeof value === 'string') return this.scrubString(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth >= MAX_SCRUB_DEPTH) return TOO_DEEP;
    if (seen.has(value)) return CIRCULAR;
    seen.add(value);
    if (Array.isArray(value)) this.scrubArray(value, depth, seen);
    else this.scrubObject(value as Record<string, unknown>, depth, seen);
    return value;
  }

  private scrubArray(list: unknown[], depth: number, seen: Set<object>): void {
    // `[name, value]` pairs: header lists, tag lists, query_string lists.
    const pairKey = list.length === 2 && typeof list[0] === 'string' ? list[0] : null;
    for (let i = 0; i < list.length; i++) {
      const item = list[i];
      const clean =
        i === 1 && pairKey !== null && this.judgeKey(pairKey).sensitive
          ? filteredValue(pairKey, item)
          : this.scrubValue(item, depth + 1, seen);
      if (clean !== item) list[i] = clean;
    }
  }

  private scrubObject(record: Record<string, unknown>, depth: number, seen: Set<object>): void {
    for (const key of Object.keys(record)) {
      const item = record[key];
      const verdict = this.judgeKey(key);
      const clean = verdict.sensitive ? filteredValue(key, item) : this.scrubValue(item, depth + 1, seen);
      if (verdict.clean !== key) {
        delete record[key];
        record[verdict.clean] = clean;
      } else if (clean !== item) {
        record[key] = clean;
      }
    }
  }
}

/** What a value under a secret-looking key becomes: booleans and nulls say nothing, so they stay. */
function filteredValue(key: string, value: unknown): unknown {
  if (value === null || value === undefined || typeof value === 'boolean') return value;
  if (typeof value === 'number' && TOKEN_COUNT_KEY.test(normalizeKey(key))) return value;
  return FILTERED;
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-\s]/g, '_');
}

const KEY_CACHE_LIMIT = 10_000;
const MAX_CACHED_KEY_LENGTH = 100;

/** Events repeat the same few hundred key names: remember the verdicts instead of re-testing. */
function cached(judge: (key: string) => KeyVerdict): (key: string) => KeyVerdict {
  const cache = new Map<string, KeyVerdict>();
  return (key) => {
    let verdict = cache.get(key);
    if (verdict === undefined) {
      verdict = judge(key);
      if (key.length > MAX_CACHED_KEY_LENGTH) return verdict;
      if (cache.size >= KEY_CACHE_LIMIT) cache.clear();
      cache.set(key, verdict);
    }
    return verdict;
  };
}

function sensitiveKeyPattern(extraKeys: string[]): RegExp {
  return new RegExp([...SENSITIVE_KEY_WORDS, ...extraKeys.map((k) => escapeRegExp(normalizeKey(k)))].join('|'));
}

/**
 * `password=hunter2`, `"api_key": "abc"`, `X-Auth-Token: abc`, `?token=abc&`: the value after a
 * secret-looking name that starts a word (`Unauthorized: token=abc` hides `abc`, not `token`).
 *
 * Two regexes instead of one with a lookbehind (7x slower to scan): `keyword` finds candidate
 * names, and `rest`, anchored right after one, reads the name's tail, the separator (group 1,
 * kept) and the value (group 2, hidden: a quoted string, a flat `{…}`/`[…]`, or a bare word).
 * Every scan moves forward, so a hostile string costs linear time.
 */
function assignmentRule(extraKeys: string[]): StringRule {
  const words = [...SENSITIVE_KEY_WORDS.map((w) => w.replace(/_\?/g, '[_-]?')), ...extraKeys.map(escapeRegExp)];
  const keyword = new RegExp(words.join('|'), 'gi');
  const rest = new RegExp(
    `([\\w-]{0,40}["']?\\s*[:=]\\s*(?:(?:Bearer|Basic|Token|Digest)\\s+)?)` +
      `("[^"]{0,4096}"|'[^']{0,4096}'|\\{[^{}]{0,4096}\\}|\\[[^[\\]]{0,4096}\\]|[^\\s&,;"'<>()[\\]{}]{1,4096})`,
    'iy',
  );
  const apply = (text: string): string => {
    let out = '';
    let copied = 0;
    keyword.lastIndex = 0;
    for (let name = keyword.exec(text); name !== null; name = keyword.exec(text)) {
      if (!startsAtWordStart(text, name.index)) continue;
      rest.lastIndex = keyword.lastIndex;
      const assigned = rest.exec(text);
      if (assigned === null) continue;
      out += text.slice(copied, keyword.lastIndex) + hiddenAssignment(assigned[1] ?? '', assigned[2] ?? '');
      copied = keyword.lastIndex = rest.lastIndex;
    }
    return copied === 0 ? text : out + text.slice(copied);
  };
  return { probe: withFlags(keyword, ''), apply };
}

function hiddenAssignment(kept: string, value: string): string {
  const first = value[0];
  // A quoted value keeps its quotes; a flat `{…}`/`[…]` (logged JSON: `"cookies": {…}`) becomes a string.
  const quote = first === '"' || first === "'" ? first : first === '{' || first === '[' ? '"' : '';
  return `${kept}${quote}${FILTERED}${quote}`;
}

/** True at a word start: after a non-letter, or at a camelCase hump (`userPassword`). */
function startsAtWordStart(text: string, offset: number): boolean {
  const before = text.charCodeAt(offset - 1);
  const first = text.charCodeAt(offset);
  const isLower = (c: number) => c >= 97 && c <= 122;
  const isUpper = (c: number) => c >= 65 && c <= 90;
  if (!isLower(before) && !isUpper(before)) return true;
  return isLower(before) && isUpper(first);
}

function hideUserinfo(match: string, scheme: string, user: string, password: string | undefined): string {
  if (password !== undefined) return `${scheme}${user}:${FILTERED}@`;
  return TOKEN_LIKE_USER.test(user) ? `${scheme}${FILTERED}@` : match;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

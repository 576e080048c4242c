/**
 * Replaces the variable parts of a message (ids, numbers, dates, addresses...) with `<name>`
 * placeholders, so `retry after 17` and `retry after 3` read the same. In the spirit of Sentry's
 * `grouping/parameterization.py`, with Telegram ids and durations in mind.
 *
 * Grouping hashes these strings: changing a rule here regroups events, so a released grouping
 * version must not see a changed rule (copy this file for a new grouping version instead).
 */

/** Longer input is cut first: grouping reads a line or two, and a hostile 1 MB line must stay cheap. */
export const MAX_PARAMETERIZE_LENGTH = 1024;

interface Rule {
  placeholder: string;
  pattern: RegExp;
  /** Cheap test that skips the regex on text it cannot match. */
  mayMatch: (text: string) => boolean;
}

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6}\\.?';
const WEEKDAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]{0,6}\\.?';
const TIME = '\\d{1,2}:\\d{2}(?::\\d{2}(?:[.,]\\d+)?)?(?:\\s?[AaPp][Mm])?';
const ZONE = '(?:\\s?(?:Z|UTC|GMT[+-]\\d{4}|GMT|[+-]\\d{2}:?\\d{2}))?(?:\\s\\([A-Za-z ]+\\))?';
const IPV4 = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}';
const H16 = '[0-9A-Fa-f]{1,4}';

const DATE_FORMATS = [
  // ISO 8601 / RFC 3339 and SQL datetimes: 2024-01-26T17:27:31.414Z, 2024-01-26 17:27:31
  `\\d{4}-\\d{2}-\\d{2}(?:[T ]${TIME})?${ZONE}`,
  // JS Date#toString and RFC 1123: Mon Jan 02 2006 15:04:05 GMT+0000, Mon, 02 Jan 2006 15:04:05 GMT
  `(?:${WEEKDAY},?\\s+)?${MONTH}\\s+\\d{1,2},?\\s+\\d{4}(?:\\s+${TIME})?${ZONE}`,
  `(?:${WEEKDAY},?\\s+)?\\d{1,2}[\\s-]${MONTH}[\\s-]\\d{2,4}(?:\\s+${TIME})?${ZONE}`,
  // 26/01/2024, 01/26/24, 2024/01/26, 26.01.2024
  '\\d{1,2}/\\d{1,2}/\\d{2,4}(?!/)',
  '\\d{4}/\\d{1,2}/\\d{1,2}(?!/)',
  '\\d{1,2}\\.\\d{1,2}\\.\\d{4}',
  // a bare time of day: 17:27, 17:27:31.414, 5:30 PM
  TIME,
];

const DURATION_UNITS =
  'ns|µs|us|ms|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|d|days?';

/** Hoisted: a regex literal in the arrow made a RegExp object per call (five calls a message). */
const DIGIT = /\d/;
const hasDigit = (text: string): boolean => DIGIT.test(text);
/** Necessary (not sufficient) for `<hex>` and `<date>`: cheap tests that skip their costly patterns. */
const MAY_BE_HEX = /[0-9A-Fa-f]{12}|0[xX]/;
const MAY_BE_DATE = /[-/.:]|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec/;

/** Applied in order; earlier kinds win because their placeholders hold no digits for later ones. */
const RULES: readonly Rule[] = [
  {
    placeholder: '<url>',
    pattern: /\b(?:wss?|https?|ftp|postgres(?:ql)?|mysql|redis|mongodb(?:\+srv)?|amqps?):\/\/[^\s'"<>]*[^\s'"<>.,;:!?)\]]/g,
    mayMatch: (t) => t.includes('://'),
  },
  {
    placeholder: '<email>',
    pattern: /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*/g,
    mayMatch: (t) => t.includes('@'),
  },
  {
    placeholder: '<ip>',
    pattern: new RegExp(
      `(?<![\\w:.])(?:(?:${H16}:){7}${H16}|(?=[0-9A-Fa-f:]*[0-9A-Fa-f])(?:${H16}(?::${H16}){0,6})?::(?:${H16}(?::${H16}){0,6})?)(?![\\w:])` +
        `|\\b${IPV4}(?::\\d{1,5})?\\b(?!\\.\\d)`,
      'g',
    ),
    mayMatch: (t) => t.includes(':') || t.includes('.'),
  },
  {
    placeholder: '<uuid>',
    pattern: /\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b/g,
    mayMatch: (t) => t.includes('-'),
  },
  {
    // md5, sha1, sha256, object ids: long hex with at least one digit and one letter
    // (all-digit runs are ints, all-letter runs are words)
    placeholder: '<hex>',
    pattern: /\b(?=[0-9A-Fa-f]*\d)(?=[0-9A-Fa-f]*[A-Fa-f])[0-9A-Fa-f]{12,}\b|\b0[xX][0-9A-Fa-f]+\b/g,
    // Either alternative needs 12 hex characters in a row or `0x`: a far cheaper scan than the pattern's look-aheads.
    mayMatch: (t) => MAY_BE_HEX.test(t),
  },
  {
    placeholder: '<date>',
    pattern: new RegExp(`\\b(?:${DATE_FORMATS.join('|')})(?![\\w:])`, 'g'),
    // Every format holds a digit and `-`, `/`, `.`, `:` or a month's name (case-sensitive, as in the
    // pattern): a message with none of them skips the pattern (a large alternation tried at every word).
    mayMatch: (t) => hasDigit(t) && MAY_BE_DATE.test(t),
  },
  {
    placeholder: '<duration>',
    pattern: new RegExp(`(?<![\\w.-])\\d+(?:\\.\\d+)?\\s?(?:${DURATION_UNITS})\\b`, 'g'),
    mayMatch: hasDigit,
  },
  {
    placeholder: '<float>',
    pattern: /(?:(?<![\w.-])-|\b)\d+\.\d+\b/g,
    mayMatch: hasDigit,
  },
  {
    // Telegram chat ids are negative (-1001234567890): keep the sign inside the placeholder,
    // but not the dash of `item-5`.
    placeholder: '<int>',
    pattern: /(?:(?<![\w.-])-|\b)\d+\b/g,
    mayMatch: hasDigit,
  },
  {
    placeholder: '<quoted_str>',
    pattern: /(?<==)(?:'[^']*'|"[^"]*")/g,
    mayMatch: (t) => t.includes('='),
  },
  {
    placeholder: '<bool>',
    pattern: /(?<==)(?:true|false|True|False)\b/g,
    mayMatch: (t) => t.includes('='),
  },
];

/**
 * `parameterize("Too Many Requests: retry after 17")` → `"Too Many Requests: retry after <int>"`.
 * Placeholders: `<url> <email> <ip> <uuid> <hex> <date> <duration> <float> <int> <quoted_str> <bool>`.
 */
export function parameterize(text: string): string {
  let out = text.length > MAX_PARAMETERIZE_LENGTH ? text.slice(0, MAX_PARAMETERIZE_LENGTH) : text;
  for (const rule of RULES) {
    if (rule.mayMatch(out)) out = out.replace(rule.pattern, rule.placeholder);
  }
  return out;
}

const UUID_SEGMENT = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const INT_SEGMENT = /^-?\d+$/;
const HEX_SEGMENT = /^(?=.*\d)[0-9A-Fa-f]{12,}$/;
/** Mixed letters and digits, long: base64/nanoid/slug ids (`a1B2c3D4e5`), not `v2` or `page10`. */
const ID_SEGMENT = /^(?=.*\d)(?=.*[A-Za-z])[\w-]{10,}$/;
const SCHEME_AND_HOST = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * The route of a URL: the path without scheme, host, query and fragment, with ids in path
 * segments replaced: `https://x.org/users/42/orders/9f1c...?a=1` → `/users/<int>/orders/<hex>`.
 */
export function routePattern(url: string): string {
  const path = url.slice(0, MAX_PARAMETERIZE_LENGTH).replace(SCHEME_AND_HOST, '').split(/[?#]/, 1)[0] ?? '';
  return (path.startsWith('/') ? path : `/${path}`)
    .split('/')
    .map(parameterizePathSegment)
    .join('/');
}

function parameterizePathSegment(segment: string): string {
  if (segment === '' || !hasDigit(segment)) return segment.includes('@') ? parameterize(segment) : segment;
  if (INT_SEGMENT.test(segment)) return '<int>';
  if (UUID_SEGMENT.test(segment)) return '<uuid>';
  if (HEX_SEGMENT.test(segment)) return '<hex>';
  if (ID_SEGMENT.test(segment)) return '<id>';
  return parameterize(segment);
}

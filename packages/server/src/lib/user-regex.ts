import { RE2JS } from 're2js';

/**
 * Regular expressions written by an operator (BOTPULSE_SCRUB_EXTRA_PATTERNS now, log rules next)
 * run on text sent by anyone who holds a DSN. V8's RegExp backtracks: `(a+)+$` on 35 characters
 * held the event loop for 20 s. Every user pattern therefore runs in RE2 semantics, whose
 * matching time is linear in the input by construction (no backreferences, no lookaround), and a
 * pattern RE2 cannot express is refused when the configuration is read, with the reason.
 *
 * The engine is re2js, a pure-JavaScript port of RE2: no native build, and on realistic scrub
 * input (many short strings) it matched faster than the native `re2` addon and than `re2-wasm`,
 * whose per-call string conversion dominates (docs/architecture.md has the figures).
 */
export const USER_REGEX_ENGINE = 're2js';

export class UserRegexError extends Error {
  override name = 'UserRegexError';
}

export interface UserRegex {
  /** The pattern as the operator wrote it. */
  readonly source: string;
  readonly engine: typeof USER_REGEX_ENGINE;
  /** True when the pattern matches anywhere in `text`. */
  test(text: string): boolean;
  /** `text` with every match replaced by `replacement`, taken literally (no `$1` expansion). */
  replaceAll(text: string, replacement: string): string;
}

/**
 * Compiles an operator's pattern in RE2 syntax (`(?i)` for case-insensitive). Throws
 * UserRegexError saying why when RE2 cannot express it.
 */
export function compileUserRegex(source: string): UserRegex {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source);
  } catch (err) {
    throw new UserRegexError(`"${source}" is not a valid RE2 pattern: ${(err as Error).message}. ${RE2_HINT}`);
  }
  return {
    source,
    engine: USER_REGEX_ENGINE,
    test: (text) => compiled.test(text),
    replaceAll: (text, replacement) => compiled.matcher(text).replaceAll(() => replacement),
  };
}

const RE2_HINT =
  'Patterns use RE2 syntax, which matches in linear time: no backreferences (\\1) and no lookahead or lookbehind ((?=…), (?<=…)); use (?i) for case-insensitive';

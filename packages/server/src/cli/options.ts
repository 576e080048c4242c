import { InvalidArgumentError, Option } from 'commander';

/** Option parsers that refuse bad values with the rule, before any command opens a database. */

/** `--limit abc` → "must be a whole number from 1 to 1000", not a database's "datatype mismatch". */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`Use a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** An option that takes one of `choices`; commander names them when another value is given. */
export function choiceOption(flags: string, description: string, choices: readonly string[], fallback?: string): Option {
  const option = new Option(flags, description).choices(choices);
  return fallback === undefined ? option : option.default(fallback);
}

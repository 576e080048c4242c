import { CONFIG_KEYS, OTHER_KNOWN_KEYS, OTHER_KNOWN_PREFIXES } from './schema.js';

/** A BOTPULSE_* variable nothing reads, and the known key it most likely meant. */
export interface UnknownKey {
  key: string;
  suggestion: string | null;
}

const KNOWN: readonly string[] = [...CONFIG_KEYS, ...OTHER_KNOWN_KEYS];

/**
 * BOTPULSE_* variables in `env` that Botpulse does not know: a typo (BOTPULSE_POTR) would
 * otherwise be silently ignored and the default used. `K_FILE` is known when K is.
 */
export function unknownBotpulseKeys(env: NodeJS.ProcessEnv): UnknownKey[] {
  return Object.keys(env)
    .filter((key) => key.startsWith('BOTPULSE_') && !isKnown(key))
    .sort()
    .map((key) => ({ key, suggestion: closestKey(key) }));
}

/** Warning lines for the CLI's standard error. */
export function unknownKeyWarnings(env: NodeJS.ProcessEnv): string[] {
  return unknownBotpulseKeys(env).map(({ key, suggestion }) =>
    suggestion
      ? `warning: ${key} is not a Botpulse setting and is ignored; did you mean ${suggestion}${key.endsWith('_FILE') && !suggestion.endsWith('_FILE') ? '_FILE' : ''}?`
      : `warning: ${key} is not a Botpulse setting and is ignored (the settings: docs/configuration.md)`,
  );
}

function isKnown(key: string): boolean {
  const base = key.endsWith('_FILE') ? key.slice(0, -'_FILE'.length) : key;
  return KNOWN.includes(key) || KNOWN.includes(base) || OTHER_KNOWN_PREFIXES.some((prefix) => key.startsWith(prefix));
}

/** The nearest known key, if near enough to be a typo (a couple of edits, more for long names). */
function closestKey(key: string): string | null {
  const base = key.endsWith('_FILE') ? key.slice(0, -'_FILE'.length) : key;
  let best: { key: string; distance: number } | null = null;
  for (const known of KNOWN) {
    const distance = editDistance(base, known);
    if (!best || distance < best.distance) best = { key: known, distance };
  }
  const allowed = Math.max(2, Math.floor((base.length - 'BOTPULSE_'.length) / 4));
  return best && best.distance <= allowed ? best.key : null;
}

/**
 * Damerau-Levenshtein distance (optimal string alignment): insertions, deletions, substitutions
 * and swaps of neighbours each count 1, so BOTPULSE_POTR is one edit from BOTPULSE_PORT.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

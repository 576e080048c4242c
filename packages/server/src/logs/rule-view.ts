import type { LogRuleState } from '../store/logs.js';
import type { LogRulesSpec } from './config.js';
import { parseState } from './evaluator.js';
import { windowText } from './format.js';
import { ERROR_RATE_KEY, forbiddenKey, rateKey, type RuleState } from './rules.js';

/**
 * A project's log rules with their states, for people (the Logs page, the rule editor): every
 * rule in force, then the states of rules no longer in force (a firing one recovers on the next
 * evaluation). Pure: the spec, the stored states and the clock in, rows out.
 */
export interface RuleRow {
  /** The rule key lines are marked with (`forbidden:…`, `rate:…`, `error_rate`). */
  key: string;
  kind: 'forbidden' | 'rate' | 'error_rate';
  /** null for the error rate. */
  pattern: string | null;
  /** "critical at the first line", "1 per 30 s", "10 per 10 min". */
  limit: string;
  /**
   * firing: a rate rule over its limit, or a forbidden pattern seen in the last 24 h (as /status
   * says); ok: judged and calm; never: no line has matched yet.
   */
  state: 'firing' | 'ok' | 'never';
  /** When it last fired: the last line over a rate limit, the last forbidden line. */
  lastFired: number | null;
  /** Lines matched since the state began. */
  matched: number;
  inForce: boolean;
}

const DAY_MS = 86_400_000;

export function ruleRows(spec: LogRulesSpec | null, states: LogRuleState[], now: number): RuleRow[] {
  const byKey = new Map<string, RuleState>();
  for (const s of states) {
    const parsed = parseState(s);
    if (parsed) byKey.set(s.ruleKey, parsed);
  }
  const rows: RuleRow[] = [];
  if (spec?.enabled) {
    for (const pattern of spec.forbidden) rows.push(row(forbiddenKey(pattern), 'forbidden', pattern, 'critical at the first line', byKey, now, true));
    for (const r of spec.rateLimited) rows.push(row(rateKey(r.pattern), 'rate', r.pattern, `${r.count} per ${windowText(r.windowSeconds * 1000)}`, byKey, now, true));
    if (spec.errorRate) rows.push(row(ERROR_RATE_KEY, 'error_rate', null, `${spec.errorRate.count} per ${windowText(spec.errorRate.windowMinutes * 60_000)}`, byKey, now, true));
  }
  const shown = new Set(rows.map((r) => r.key));
  for (const [key] of byKey) {
    if (shown.has(key)) continue;
    const kind = key === ERROR_RATE_KEY ? 'error_rate' : key.startsWith('forbidden:') ? 'forbidden' : 'rate';
    const pattern = kind === 'error_rate' ? null : key.slice(key.indexOf(':') + 1);
    rows.push(row(key, kind, pattern, 'no longer in force', byKey, now, false));
  }
  return rows;
}

function row(key: string, kind: RuleRow['kind'], pattern: string | null, limit: string, states: Map<string, RuleState>, now: number, inForce: boolean): RuleRow {
  const s = states.get(key);
  if (!s) return { key, kind, pattern, limit, state: 'never', lastFired: null, matched: 0, inForce };
  if (s.kind === 'forbidden') {
    return { key, kind, pattern, limit, state: now - s.lastAt < DAY_MS ? 'firing' : 'ok', lastFired: s.lastAt, matched: s.matched, inForce };
  }
  return { key, kind, pattern, limit, state: s.firing ? 'firing' : 'ok', lastFired: s.lastExceededAt, matched: s.matched, inForce };
}

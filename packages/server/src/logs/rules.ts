import { LOG_SEVERITY, type LogLine, type RuleLine } from '../store/logs.js';
import type { LogRuleSet } from './config.js';

/**
 * The log rules' decisions, pure: lines and states in, new states and what to say out. The
 * evaluator (evaluator.ts) reads lines after its cursor, runs them through here and writes the
 * result in one transaction (LogStore.commitRuleBatch), so a decision is taken once whatever
 * crashes, and the same lines always decide the same way.
 *
 * Windows run on the lines' own times (when they were logged), so a burst is judged as it
 * happened even when its lines arrive late; a time more than a day away from the receive time is
 * not believed (a sender's broken clock) and the receive time is used.
 */

export const FORBIDDEN_PREFIX = 'forbidden:';
export const RATE_PREFIX = 'rate:';
export const ERROR_RATE_KEY = 'error_rate';
/** The first part of a forbidden-pattern event's fingerprint (the pattern is the second): its issue is log-born. */
export const FORBIDDEN_FINGERPRINT = 'botpulse.log.forbidden';

/** Per minute, per pattern, at most this many forbidden lines become events; the rest are counted in the rule state. */
export const FORBIDDEN_EVENTS_PER_MINUTE = 60;
/** Match times a rate state keeps (a storm past it is shown as "at least"). */
const MAX_TIMES = 1000;
const TRUSTED_SKEW_MS = 86_400_000;

export interface RateState {
  kind: 'rate';
  /** Times (ms) of the matches inside the window, oldest first. */
  times: number[];
  firing: boolean;
  /** The last match that put the count over the limit; the rule recovers a full window after it. */
  lastExceededAt: number | null;
  /** Most matches seen in one window while firing. */
  peak: number;
  matched: number;
}

export interface ForbiddenState {
  kind: 'forbidden';
  matched: number;
  firstAt: number;
  lastAt: number;
  /** Events made in the minute `minute` (the per-minute cap). */
  minute: number;
  evented: number;
}

export type RuleState = RateState | ForbiddenState;

/** What a batch of decisions asks the evaluator to do beside saving states. */
export interface RuleEffects {
  /** Forbidden lines to turn into events (the issue grouped by pattern; its alert is critical). */
  events: { line: RuleLine; pattern: string }[];
  notifications: RuleNotice[];
  /** Lines that matched a rule (shown on the line, linked to its issue). */
  matches: { line: RuleLine; rule: string }[];
}

export type RuleNotice =
  | { kind: 'log_rate'; projectId: number; ruleKey: string; pattern: string | null; seen: number; allowed: number; windowMs: number; line: RuleLine }
  | { kind: 'log_rate_ok'; projectId: number; ruleKey: string; pattern: string | null; peak: number; allowed: number; windowMs: number };

/** The time a line counts at in the windows. */
export function ruleTime(line: Pick<LogLine, 'time' | 'receivedAt'>): number {
  return Math.abs(line.time - line.receivedAt) > TRUSTED_SKEW_MS ? line.receivedAt : line.time;
}

export function rateKey(pattern: string): string {
  return `${RATE_PREFIX}${pattern}`;
}

export function forbiddenKey(pattern: string): string {
  return `${FORBIDDEN_PREFIX}${pattern}`;
}

/**
 * Runs one line through its project's rules, updating `states` (keyed by rule key) in place and
 * adding what must happen to `effects`.
 */
export function applyLine(line: RuleLine, rules: LogRuleSet, states: Map<string, RuleState>, effects: RuleEffects, knownClean = false): void {
  const at = ruleTime(line);
  // Most lines match no pattern: one pass of the alternation says so (then neither list is walked).
  // `knownClean`: that pass was made already with these rules (the evaluator's expedite).
  const mayMatch = !knownClean && (!rules.anyPattern || rules.anyPattern.test(line.message));
  const forbidden = mayMatch ? rules.forbidden.find((r) => r.regex.test(line.message)) : undefined;
  if (forbidden) {
    const key = forbiddenKey(forbidden.pattern);
    const state = forbiddenState(states.get(key), at);
    state.matched += 1;
    state.lastAt = Math.max(state.lastAt, at);
    const minute = Math.floor(at / 60_000);
    if (state.minute !== minute) Object.assign(state, { minute, evented: 0 });
    if (state.evented < FORBIDDEN_EVENTS_PER_MINUTE) {
      state.evented += 1;
      effects.events.push({ line, pattern: forbidden.pattern });
    }
    states.set(key, state);
    effects.matches.push({ line, rule: key });
  }
  for (const rule of mayMatch ? rules.rateLimited : []) {
    if (!rule.regex.test(line.message)) continue;
    const key = rateKey(rule.pattern);
    countRate(key, rule.pattern, line, at, { count: rule.count, windowMs: rule.windowMs }, states, effects);
    if (!forbidden) effects.matches.push({ line, rule: key });
  }
  if (rules.errorRate && LOG_SEVERITY[line.level] >= LOG_SEVERITY.error) {
    countRate(ERROR_RATE_KEY, null, line, at, rules.errorRate, states, effects);
  }
}

function forbiddenState(existing: RuleState | undefined, at: number): ForbiddenState {
  if (existing?.kind === 'forbidden') return existing;
  return { kind: 'forbidden', matched: 0, firstAt: at, lastAt: at, minute: 0, evented: 0 };
}

function countRate(
  key: string,
  pattern: string | null,
  line: RuleLine,
  at: number,
  limit: { count: number; windowMs: number },
  states: Map<string, RuleState>,
  effects: RuleEffects,
): void {
  const existing = states.get(key);
  const state: RateState = existing?.kind === 'rate' ? existing : { kind: 'rate', times: [], firing: false, lastExceededAt: null, peak: 0, matched: 0 };
  state.matched += 1;
  insertSorted(state.times, at);
  const newest = state.times[state.times.length - 1]!;
  while (state.times.length && state.times[0]! <= newest - limit.windowMs) state.times.shift();
  if (state.times.length > MAX_TIMES) state.times.splice(0, state.times.length - MAX_TIMES);
  const seen = countWithin(state.times, at - limit.windowMs, at);
  if (seen > limit.count) {
    state.lastExceededAt = Math.max(state.lastExceededAt ?? at, at);
    state.peak = Math.max(state.peak, seen);
    if (!state.firing) {
      state.firing = true;
      effects.notifications.push({ kind: 'log_rate', projectId: line.projectId, ruleKey: key, pattern, seen, allowed: limit.count, windowMs: limit.windowMs, line });
    }
  }
  states.set(key, state);
}

/** How many of `times` are in (from, to]: counted, not filtered into a new array (up to MAX_TIMES per error line). */
function countWithin(times: readonly number[], from: number, to: number): number {
  let n = 0;
  for (let i = 0; i < times.length; i++) if (times[i]! > from && times[i]! <= to) n++;
  return n;
}

function insertSorted(times: number[], at: number): void {
  let i = times.length;
  while (i > 0 && times[i - 1]! > at) i -= 1;
  times.splice(i, 0, at);
}

/**
 * A firing rate rule calms down a full window after the last line that put it over its limit:
 * then it says so once and its peak is reset. `now` is the evaluator's clock.
 */
export function recover(projectId: number, key: string, state: RateState, limit: { count: number; windowMs: number }, now: number): RuleNotice | null {
  if (!state.firing || state.lastExceededAt === null || now - state.lastExceededAt < limit.windowMs) return null;
  const notice: RuleNotice = { kind: 'log_rate_ok', projectId, ruleKey: key, pattern: key === ERROR_RATE_KEY ? null : key.slice(RATE_PREFIX.length), peak: state.peak, allowed: limit.count, windowMs: limit.windowMs };
  state.firing = false;
  state.peak = 0;
  return notice;
}

/** The limit a rate rule key runs under in a rule set, or null when the set has no such rule any more. */
export function rateLimitOf(rules: LogRuleSet, key: string): { count: number; windowMs: number } | null {
  if (key === ERROR_RATE_KEY) return rules.errorRate;
  const rule = rules.rateLimited.find((r) => rateKey(r.pattern) === key);
  return rule ? { count: rule.count, windowMs: rule.windowMs } : null;
}

import type { LogStore } from '../store/logs.js';
import { parseState } from './evaluator.js';
import { escapeHtml } from './format.js';
import type { LineWorkerHealth } from './line-worker.js';
import { ERROR_RATE_KEY, FORBIDDEN_PREFIX, forbiddenKey, RATE_PREFIX } from './rules.js';

const DAY_MS = 86_400_000;
const MAX_LINES = 15;

/**
 * The `/status` lines of the log rules (the alert bot's `statusExtras`): every rate rule firing,
 * every forbidden pattern seen in the last 24 h, and every new log pattern (a template first seen
 * in the last 24 h by a project logging for a day or more: warning tier, shown here, not sent).
 */
export async function logStatusLines(logs: LogStore, slugOf: (projectId: number) => Promise<string>, now: number): Promise<string[]> {
  const lines: string[] = [];
  for (const s of await logs.ruleStates({ firing: true })) {
    const state = parseState(s);
    if (!state) continue;
    const project = escapeHtml(await slugOf(s.projectId));
    if (state.kind === 'rate' && state.firing) {
      const what = s.ruleKey === ERROR_RATE_KEY ? 'error rate' : `“${escapeHtml(s.ruleKey.slice(RATE_PREFIX.length))}”`;
      lines.push(`🔥 ${project}: log ${what} firing (peak ${state.peak} in one window)`);
    } else if (state.kind === 'forbidden' && now - state.lastAt < DAY_MS) {
      lines.push(`🚨 ${project}: forbidden “${escapeHtml(s.ruleKey.slice(FORBIDDEN_PREFIX.length))}” × ${state.matched}, last ${new Date(state.lastAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
    }
  }
  for (const t of await logs.newPatterns(now - DAY_MS, MAX_LINES)) {
    const project = escapeHtml(await slugOf(t.projectId));
    lines.push(`🆕 ${project}: new log pattern “${escapeHtml(shortened(t.template))}” × ${t.count}, first ${new Date(t.firstSeen).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  }
  if (!lines.length) return [];
  return ['<b>Log rules</b>', ...lines.slice(0, MAX_LINES), ...(lines.length > MAX_LINES ? [`… and ${lines.length - MAX_LINES} more`] : [])];
}

/** A line of /status stays short: a template or an error message cut to 120 characters. */
function shortened(text: string): string {
  return text.length <= 120 ? text : `${text.slice(0, 119)}…`;
}

/** Lines a forbidden pattern has matched in a project (its rule state), or null when none is stored. */
export async function forbiddenMatches(logs: LogStore, projectId: number, pattern: string): Promise<number | null> {
  const key = forbiddenKey(pattern);
  const row = (await logs.ruleStates({ projectId })).find((s) => s.ruleKey === key);
  const state = row ? parseState(row) : null;
  return state?.kind === 'forbidden' ? state.matched : null;
}

/**
 * The `/status` lines of the log-line thread (parse, scrub, templates), as the digest thread has
 * its own: down, restarted, batches it failed, Sentry lines stored without a template. None while
 * it has run without a fault since start.
 */
export function logThreadStatusLines(health: LineWorkerHealth): string[] {
  const lines: string[] = [];
  const error = health.lastError ? `: ${escapeHtml(shortened(health.lastError))}` : '';
  if (health.threadDown) {
    lines.push(`🔴 Log-line thread down${error}; restarting it. NDJSON log batches are answered 503 meanwhile, Sentry log lines stored without a template`);
  } else if (health.threadRestarts > 0) {
    lines.push(`⚠️ Log-line thread restarted ${plural(health.threadRestarts, 'time')} since start${error}`);
  }
  if (health.failures > 0) lines.push(`⚠️ ${plural(health.failures, 'log batch', 'log batches')} failed in the log-line thread since start (answered 500)${health.threadDown || health.threadRestarts ? '' : error}`);
  if (health.untemplatedLines > 0) lines.push(`⚠️ ${plural(health.untemplatedLines, 'Sentry log line')} stored without a template since start (the log-line thread could not give them one)`);
  return lines;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

import type { ForwarderState } from './forwarder.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The upstream's part of the bot's /status and the dashboard's banner (plain text; the callers
 * escape it): nothing while forwarding is off or all is well.
 */
export function upstreamStatusLines(state: ForwarderState, now: number): string[] {
  if (!state.enabled) return [];
  const lines: string[] = [];
  const waiting = Object.values(state.backlog).reduce((a, b) => a + b, 0);
  const limited = Object.entries(state.rateLimits).map(([category, until]) => `${category === '*' ? 'all' : category} ${Math.ceil((until - now) / 1000)} s`);
  if (limited.length) lines.push(`⚠️ Upstream Sentry rate-limits us (${limited.join(', ')}); ${plural(waiting, 'item')} waiting`);
  const retrying = Object.keys(state.retryAt).length > 0;
  if (retrying && state.lastError) lines.push(`🔴 Upstream Sentry failing: ${state.lastError}; ${plural(waiting, 'item')} waiting, retrying with backoff`);
  const dropped = Object.entries(state.dropped).filter(([, n]) => n > 0);
  if (dropped.length) lines.push(`⚠️ Upstream Sentry: not forwarded since start: ${dropped.map(([reason, n]) => `${n} ${reason}`).join(', ')}`);
  return lines;
}

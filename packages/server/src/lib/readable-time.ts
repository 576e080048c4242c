/**
 * Times for people, where no browser can localize them (Telegram texts, the CLI): the UTC minute
 * and how long ago, e.g. `2026-12-05 14:03 UTC (5 min ago)`. The zone is always written out, so
 * a reader in another zone is not misled; never an ISO string or epoch milliseconds.
 */
export function readableTime(ms: number, now: number = Date.now()): string {
  if (!Number.isFinite(ms)) return 'unknown time';
  const iso = new Date(ms).toISOString(); // 2026-12-05T14:03:27.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC (${relativeTime(ms, now)})`;
}

/** `just now`, `40 s ago`, `5 min ago`, `3 h 10 min ago`, `2 days ago`, `in 5 min` (clock skew). */
export function relativeTime(ms: number, now: number = Date.now()): string {
  const diff = now - ms;
  const span = Math.abs(diff);
  if (span < 5_000) return 'just now';
  const text = spanText(span);
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

function spanText(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  const days = Math.floor(h / 24);
  return days === 1 ? '1 day' : `${days} days`;
}

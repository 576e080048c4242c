import { LEVEL_LABEL, type IssueStatus, type Level } from '../../store/model.js';
import type { HourlyCount } from '../../store/store.js';
import { html, raw, type Html } from '../html.js';

const HOUR = 3_600_000;

export { LEVEL_LABEL };
export const STATUS_LABEL: Record<IssueStatus, string> = { new: 'New', in_progress: 'In progress', resolved: 'Resolved', ignored: 'Ignored' };

export function levelBadge(level: Level): Html {
  return html`<span class="badge lvl-${level}">${LEVEL_LABEL[level] ?? level}</span>`;
}

export function statusBadge(status: IssueStatus): Html {
  return html`<span class="badge st-${status}"><span class="dot"></span>${STATUS_LABEL[status] ?? status}</span>`;
}

/** 1234 → "1.2k": list cells stay narrow; the exact number is in the title. */
export function compactNumber(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0).replace(/\.0$/, '')}k`;
  return `${(n / 1_000_000).toFixed(1).replace(/\.0$/, '')}M`;
}

export function fullNumber(n: number): string {
  return n.toLocaleString('en-US');
}

/** A time a Date can hold: toISOString() throws for any other, and a page must not fail on one. */
function isValidTime(ms: number): boolean {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15;
}

export function relativeTime(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86_400) return `${Math.round(s / 3600)}h ago`;
  if (s < 30 * 86_400) return `${Math.round(s / 86_400)}d ago`;
  return isValidTime(ms) ? new Date(ms).toISOString().slice(0, 10) : '—';
}

export function isoMinute(ms: number): string {
  return isValidTime(ms) ? new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : '—';
}

/**
 * An absolute time: rendered in UTC, shown by the page's script in the viewer's time zone with the
 * UTC value on hover (the server cannot know the zone; without the script, UTC stays).
 */
export function absoluteTime(ms: number): Html {
  if (!isValidTime(ms)) return html`<span class="faint">—</span>`;
  return html`<time datetime="${new Date(ms).toISOString()}" title="${isoMinute(ms)}" data-local>${isoMinute(ms)}</time>`;
}

/** A relative time whose exact value is one hover away (local and UTC, by the script). */
export function ago(ms: number, now: number): Html {
  if (!isValidTime(ms)) return html`<span class="faint">—</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}" title="${isoMinute(ms)}" data-abs>${relativeTime(ms, now)}</time>`;
}

/** Counts per bucket for `buckets` hours ending with the current hour (missing hours are 0). */
export function hourlySeries(rows: HourlyCount[], nowMs: number, buckets: number): { startHour: number; counts: number[] } {
  const endHour = Math.floor(nowMs / HOUR);
  const startHour = endHour - buckets + 1;
  const counts = new Array<number>(buckets).fill(0);
  for (const r of rows) if (r.hour >= startHour && r.hour <= endHour) counts[r.hour - startHour]! += r.count;
  return { startHour, counts };
}

/** A tiny bar chart as inline SVG: no script, no layout shift, cheap to render 50 of. */
export function sparkline(counts: number[], label: string): Html {
  const width = 112;
  const height = 26;
  const max = Math.max(1, ...counts);
  const step = width / counts.length;
  const bars = counts.map((c, i) => {
    if (c === 0) return '';
    const h = Math.max(2, Math.round((c / max) * (height - 2)));
    const hot = i >= counts.length - 2 ? ' class="hot"' : '';
    return `<rect x="${(i * step + 0.5).toFixed(1)}" y="${height - h}" width="${Math.max(1, step - 1.5).toFixed(1)}" height="${h}"${hot}/>`;
  });
  return html`<svg class="spark" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="${label}"><line x1="0" y1="${height - 0.5}" x2="${width}" y2="${height - 0.5}"/>${raw(bars.join(''))}</svg>`;
}

/** The occurrence chart drawn on the server (uPlot replaces it when scripts run). */
export function barChart(counts: number[], startMs: number, stepMs: number): Html {
  const width = 1000;
  const height = 120;
  const max = Math.max(1, ...counts);
  const step = width / counts.length;
  const bars = counts
    .map((c, i) => (c ? `<rect x="${(i * step).toFixed(1)}" y="${(height - 14 - (c / max) * (height - 24)).toFixed(1)}" width="${Math.max(1, step - 1).toFixed(1)}" height="${((c / max) * (height - 24)).toFixed(1)}"/>` : ''))
    .join('');
  const days = Math.round((counts.length * stepMs) / 86_400_000);
  const ticks = Array.from({ length: days + 1 }, (_, d) => {
    const t = startMs + d * 86_400_000;
    const x = ((t - startMs) / stepMs) * step;
    return d % Math.max(1, Math.round(days / 7)) === 0 ? `<text x="${x.toFixed(0)}" y="${height - 2}">${new Date(t).toISOString().slice(5, 10)}</text>` : '';
  }).join('');
  return html`<svg viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="events per hour, max ${max}"><line x1="0" y1="${height - 14}" x2="${width}" y2="${height - 14}"/>${raw(bars)}${raw(ticks)}</svg>`;
}

export function pluralize(n: number, word: string): string {
  return `${fullNumber(n)} ${word}${n === 1 ? '' : 's'}`;
}

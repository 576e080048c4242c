import { humanDuration } from '../../monitors/format.js';
import type { PresentedMonitor } from '../../monitors/routes.js';
import { percentText, type UptimeFigure } from '../../monitors/uptime.js';
import type { AlertLogEntry } from '../../store/alerts.js';
import { html, raw, type Html } from '../html.js';

/**
 * The parts of a monitor card that make it readable at a glance (docs/monitors.md, "Uptime and
 * error budget"): uptime over 24 h / 7 d / 30 d, the 30-day error budget, an uptime probe's
 * response times, and whether the lock row applies at all.
 */

function uptimeCell(label: string, u: UptimeFigure): Html {
  const title = u.percent === null ? 'not watched in this window (new or paused)' : `${humanDuration(u.downMs)} down in ${humanDuration(u.countedMs)} watched`;
  return html`<span class="uptime" title="${title}">${label} <b class="num">${percentText(u.percent)}</b></span>`;
}

export function uptimeRows(m: PresentedMonitor): Html {
  const b = m.errorBudget;
  const budget =
    b.allowedMs === 0 && b.usedMs === 0
      ? html`<span class="faint">not watched yet</span>`
      : html`${humanDuration(b.allowedMs)} allowed · ${humanDuration(b.usedMs)} used · ${b.leftMs >= 0 ? html`<b class="num">${humanDuration(b.leftMs)}</b> left (${Math.round(b.leftPercent)} %)` : html`<b class="budget-over">overspent by ${humanDuration(-b.leftMs)}</b>`}`;
  return html`<tr data-uptime><th>Uptime</th><td>${uptimeCell('24 h', m.uptime24h)} · ${uptimeCell('7 d', m.uptime7d)} · ${uptimeCell('30 d', m.uptime30d)}</td></tr>
    <tr data-error-budget><th>Error budget</th><td>${budget} <span class="faint">(${b.windowDays} d at ${b.targetPercent} %)</span></td></tr>`;
}

/**
 * The lock row: only where a lock is reported, by Redis (BOTPULSE_REDIS_URL) or by our SDK's
 * heartbeat (`contexts.polling`). A monitor fed by plain pings or another SDK's check-ins has no
 * lock to report, so the row would only say something untrue about it.
 */
export function showsLockRow(m: Pick<PresentedMonitor, 'kind' | 'lock'>): boolean {
  return m.kind === 'heartbeat' && m.lock !== null;
}

/** An uptime probe's last response times as a sparkline (failed probes marked), with the latest and the slowest. */
export function probeRow(m: PresentedMonitor): Html {
  const samples = m.probeHistory;
  if (!samples) return html``;
  if (!samples.length) return html`<tr data-probe-history><th>Response time</th><td><span class="faint">no probe yet</span></td></tr>`;
  const width = 160;
  const height = 28;
  const max = Math.max(1, ...samples.map((s) => s.ms));
  const x = (i: number) => (samples.length === 1 ? width / 2 : (i / (samples.length - 1)) * width);
  const y = (ms: number) => height - 2 - (ms / max) * (height - 4);
  const line = samples.map((s, i) => `${x(i).toFixed(1)},${y(s.ms).toFixed(1)}`).join(' ');
  const failed = samples.map((s, i) => (s.ok ? '' : `<circle class="fail" cx="${x(i).toFixed(1)}" cy="${y(s.ms).toFixed(1)}" r="2"/>`)).join('');
  const last = samples[samples.length - 1]!;
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const svg = `<svg class="sparkline" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="response times of the last ${samples.length} probes, max ${max} ms"><polyline points="${line}"/>${failed}</svg>`;
  return html`<tr data-probe-history><th>Response time</th><td>${raw(svg)} last <b class="num">${last.ms} ms</b>${last.ok ? '' : ' (failed)'} · median ${median} ms · max ${max} ms <span class="faint">(last ${samples.length} probe${samples.length === 1 ? '' : 's'})</span></td></tr>`;
}

/** An issue alert of the monitors page, with the issue's short id and how its messages were delivered. */
export interface ShownAlert extends AlertLogEntry {
  shortId: string | null;
  /** For `enqueued` decisions: their outbox rows' delivery; null when unknown (rows pruned) or not sent at all. */
  delivery: 'pending' | 'sent' | 'failed' | null;
}

export function alertSubject(e: ShownAlert): Html {
  if (e.issueId === null) return html`project`;
  return html`<a href="/issues/${e.issueId}">${e.shortId ?? `#${e.issueId}`}</a>`;
}

/** The state a row of "Recent alerts" shows: a delivery when one is known, else the decision. */
export function alertState(e: ShownAlert): string {
  return e.delivery ?? e.outcome;
}

const DELIVERY_LABEL: Record<string, string> = { sent: 'delivered', pending: 'sending', forwarded: 'forwarded' };

/** `sent` reads "delivered" (a channel accepted it), `pending` "sending"; the rest as recorded. */
export function deliveryBadge(state: string): Html {
  const label = DELIVERY_LABEL[state] ?? state.replaceAll('_', ' ');
  return html`<span class="badge delivery-${state}" data-delivery="${state}">${label}</span>`;
}

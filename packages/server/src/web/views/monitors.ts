import type { Project } from '../../store/model.js';
import { html, type Html } from '../html.js';
import { ago } from './components.js';
import { page, type PageContext } from './layout.js';

export interface CheckInSummary {
  project: Project;
  parked: number;
  /** The latest check-ins received (raw, not evaluated yet). */
  latest: { slug: string; status: string; receivedAt: number }[];
}

/**
 * Honest placeholder until the monitors work lands: the layout that page will have, and the
 * check-ins already received and parked for it.
 */
export function monitorsPage(ctx: PageContext, summaries: CheckInSummary[]): Html {
  const body = html`<div class="page-head"><h1>Monitors</h1><span class="badge outline">not configured yet</span></div>
<div class="flash" role="status">Monitors are not configured yet: heartbeats, the polling lock, uptime and latency arrive with the monitors release.
  Check-ins your bots already send are kept (below) and will be evaluated then.</div>
<div class="section"><h2>Check-ins received</h2><div class="body">${checkIns(ctx, summaries)}</div></div>
<div class="grid-3" style="margin-top:14px">
  ${placeholder('Bots', 'Every bot with its state: up, silent (no heartbeat from the polling loop), or down; last update handled.')}
  ${placeholder('Heartbeat', 'Time since each bot last proved its loop is alive, against its expected interval and grace.')}
  ${placeholder('Lock holder', 'Which instance holds the single-poller lock, since when, and lock changes (a second poller means 409 Conflict).')}
</div>
<div class="grid-2" style="margin-top:14px">
  ${placeholder('Latency', 'Update-handling latency p50 / p95 / p99 per bot over time, from transactions.')}
  ${placeholder('Recent alerts', 'Alerts sent to Telegram chats: what fired, when, whether it was acknowledged, muted or resolved from the chat.')}
</div>`;
  return page(ctx, { title: 'Monitors', section: 'monitors', body });
}

function placeholder(title: string, text: string): Html {
  return html`<div class="placeholder"><h3>${title}</h3><div style="font-size:12.5px">${text}</div></div>`;
}

function checkIns(ctx: PageContext, summaries: CheckInSummary[]): Html {
  return html`<table class="kv">${summaries.map(
    (s) => html`<tr><th>${s.project.name}</th><td>${s.parked === 0
      ? html`<span class="faint">no check-ins yet</span>`
      : html`${s.parked} parked · ${s.latest.map((c, i) => html`${i ? ', ' : ''}${c.slug} <span class="badge ${c.status === 'ok' ? 'st-resolved' : c.status === 'error' ? 'lvl-error' : 'outline'}">${c.status}</span> ${ago(c.receivedAt, ctx.now)}`)}`}</td></tr>`,
  )}</table>`;
}

import { HOUR_MS, type LogTemplate } from '../../store/logs.js';
import type { Project } from '../../store/model.js';
import { html, queryString, type Html } from '../html.js';
import { ago, compactNumber, hourlySeries, sparkline } from './components.js';
import { page, type PageContext } from './layout.js';
import { logTabs } from './logs.js';

export interface LogTemplatesPageData {
  projects: Project[];
  project: Project | null;
  templates: LogTemplate[];
  /** The rate window (hours) and the windows offered. */
  hours: number;
  windows: number[];
  now: number;
  kept: boolean;
}

/** The top templates of a project's lines (docs/logs.md "Templates"): rate, first/last seen, new patterns, a link to their lines. */
export function logTemplatesPage(ctx: PageContext, d: LogTemplatesPageData): Html {
  const form = html`<form method="get" action="/logs/templates" class="inline-field">
  ${d.projects.length > 1 ? html`<select name="project" aria-label="Project">${d.projects.map((p) => html`<option value="${p.slug}"${p.id === d.project?.id ? html` selected` : ''}>${p.name}</option>`)}</select>` : d.project ? html`<input type="hidden" name="project" value="${d.project.slug}">` : ''}
  <select name="hours" aria-label="Rate window">${d.windows.map((h) => html`<option value="${String(h)}"${h === d.hours ? html` selected` : ''}>last ${h === 168 ? '7 days' : h === 1 ? 'hour' : `${h} h`}</option>`)}</select>
  <button class="small" type="submit">Show</button></form>`;
  const body = html`<div class="page-head"><h1>Log templates</h1><span class="spacer"></span>${form}</div>
${logTabs(d.project, 'templates')}
${!d.kept ? html`<div class="section"><div class="empty">This server keeps no log lines.</div></div>` : d.project ? table(d) : html`<div class="section"><div class="empty">No project yet.</div></div>`}`;
  return page(ctx, { title: 'Log templates', section: 'logs', body });
}

function table(d: LogTemplatesPageData): Html {
  const project = d.project!;
  if (!d.templates.length) return html`<div class="section"><div class="empty">No template yet: templates are learnt from the lines as they arrive.</div></div>`;
  const buckets = Math.min(d.hours, 48);
  const rows = d.templates.map((t) => {
    const series = hourlySeries(t.hours.map((h) => ({ hour: h.hour / HOUR_MS, count: h.count })), d.now, buckets);
    const rate = t.recentCount / d.hours;
    return html`<tr${t.noticedAt !== null ? html` class="new-pattern"` : ''}>
  <td class="log-message"><code>${t.template.length > 300 ? `${t.template.slice(0, 300)}…` : t.template}</code>${t.noticedAt !== null ? html` <span class="badge level-warning" title="first seen after the project had logged for a day">new pattern</span>` : ''}</td>
  <td class="num" title="${String(t.recentCount)} lines in the window">${rate >= 10 || rate === 0 ? compactNumber(Math.round(rate)) : rate.toFixed(1)}/h</td>
  <td>${sparkline(series.counts, `lines per hour, last ${buckets} h`)}</td>
  <td class="num">${compactNumber(t.count)}</td>
  <td class="nowrap">${ago(t.firstSeen, d.now)}</td>
  <td class="nowrap">${ago(t.lastSeen, d.now)}</td>
  <td><a href="/logs${queryString({ project: project.slug, q: `template:${t.id}` })}">lines</a></td>
</tr>`;
  });
  return html`<div class="section"><table class="list">
  <thead><tr><th>Template</th><th>Rate</th><th>Per hour</th><th>Lines</th><th>First seen</th><th>Last seen</th><th></th></tr></thead>
  <tbody>${rows}</tbody></table>
  <div class="faint" style="padding:8px 14px">Most lines in the window first. Numbers, ids, hex, UUIDs and durations are masked; <code>&lt;*&gt;</code> marks a word that varies. A <em>new pattern</em> is a template first seen after the project had logged for a day (a warning: shown here and in /status, not sent).</div></div>`;
}

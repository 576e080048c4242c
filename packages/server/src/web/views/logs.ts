import type { LogLine } from '../../store/logs.js';
import type { Project } from '../../store/model.js';
import { html, queryString, type Html } from '../html.js';
import { page, type PageContext } from './layout.js';

export interface LogsPageData {
  projects: Project[];
  project: Project | null;
  lines: LogLine[];
  /** Event id → issue id, for the lines that became events. */
  issues: Map<string, number>;
  filters: { q: string; min_level: string };
  /** False when the server keeps no log lines (the store is not wired). */
  kept: boolean;
}

const LEVELS = ['', 'debug', 'info', 'warning', 'error', 'critical'];

/** Newest first, the filters of the API in one box (`field:value`, `level:error`, `logger:…`, words). */
export function logsPage(ctx: PageContext, d: LogsPageData): Html {
  const form = html`<form method="get" action="/logs" class="inline-field">
  ${d.projects.length > 1 ? html`<select name="project" aria-label="Project">${d.projects.map((p) => html`<option value="${p.slug}"${p.id === d.project?.id ? html` selected` : ''}>${p.name}</option>`)}</select>` : d.project ? html`<input type="hidden" name="project" value="${d.project.slug}">` : ''}
  <input type="search" name="q" value="${d.filters.q}" placeholder="words, field:value, level:error, logger:bot.db" aria-label="Search">
  <select name="min_level" aria-label="Lowest level">${LEVELS.map((l) => html`<option value="${l}"${l === d.filters.min_level ? html` selected` : ''}>${l ? `${l} and above` : 'any level'}</option>`)}</select>
  <button class="small" type="submit">Search</button></form>`;
  const templates = d.project ? html` <a href="/logs/templates${queryString({ project: d.project.slug })}">Templates</a>` : '';
  const body = html`<div class="page-head"><h1>Logs</h1>${templates}<span class="spacer"></span>${form}</div>
${!d.kept ? html`<div class="section"><div class="empty">This server keeps no log lines.</div></div>` : d.project ? table(d.project, d.lines, d.issues) : html`<div class="section"><div class="empty">No project yet.</div></div>`}`;
  return page(ctx, { title: 'Logs', section: 'logs', body });
}

function table(project: Project, lines: LogLine[], issues: Map<string, number>): Html {
  if (!lines.length) {
    return html`<div class="section"><div class="empty">No log line matches. Bots send lines as Sentry <code>log</code> items, with the SDK's
      <code>createLogger({ ship: true })</code>, or as NDJSON to <code>/api/${String(project.id)}/logs/</code> (docs/logs.md).</div></div>`;
  }
  const rows = lines.map(
    (l) => html`<tr>
  <td class="nowrap"><time datetime="${new Date(l.time).toISOString()}">${new Date(l.time).toISOString().replace('T', ' ').slice(0, 19)}</time></td>
  <td><span class="badge level-${l.level}">${l.level}</span></td>
  <td>${l.logger ? html`<a href="/logs${queryString({ project: project.slug, q: `logger:${l.logger}` })}"><code>${l.logger}</code></a>` : ''}</td>
  <td class="log-message"><code>${l.message.length > 500 ? `${l.message.slice(0, 500)}…` : l.message}</code>${fieldList(project, l)}</td>
  <td>${l.rule ? html`<span class="badge" title="${l.rule}">${l.rule.startsWith('forbidden:') ? 'forbidden' : 'rate'}</span>` : ''}${l.eventId && issues.has(l.eventId) ? html` <a href="/issues/${String(issues.get(l.eventId))}">issue</a>` : ''}</td>
</tr>`,
  );
  return html`<div class="section"><table class="list">
  <thead><tr><th>Time (UTC)</th><th>Level</th><th>Logger</th><th>Message</th><th>Rule</th></tr></thead>
  <tbody>${rows}</tbody></table>
  <div class="faint" style="padding:8px 14px">Newest first (by arrival), at most 200 lines; the API pages further (docs/api.md "Logs").</div></div>`;
}

function fieldList(project: Project, l: LogLine): Html {
  const entries = Object.entries(l.fields).slice(0, 12);
  if (!entries.length) return html``;
  return html`<div class="faint">${entries.map(([k, v]) => html`<a href="/logs${queryString({ project: project.slug, q: `${k}:${v}` })}"><code>${k}=${v.length > 80 ? `${v.slice(0, 80)}…` : v}</code></a> `)}</div>`;
}

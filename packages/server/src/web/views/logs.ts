import { createHash } from 'node:crypto';
import type { RuleRow } from '../../logs/rule-view.js';
import type { LogLine } from '../../store/logs.js';
import type { Project } from '../../store/model.js';
import { html, queryString, type Html } from '../html.js';
import { absoluteTime, fullNumber } from './components.js';
import { may, page, type PageContext } from './layout.js';

/** The Logs page's filters as the person wrote them (the query string), shown back in the form. */
export interface LogFilters {
  q: string;
  min_level: string;
  logger: string;
  rule: string;
  /** A quick range (15m, 1h, 24h, 7d) or ''. */
  range: string;
  /** Times as ms, or null. */
  from: number | null;
  to: number | null;
}

export interface LogsPageData {
  projects: Project[];
  project: Project | null;
  lines: LogLine[];
  /** Event id → issue id, for the lines that became events. */
  issues: Map<string, number>;
  filters: LogFilters;
  /** False when the server keeps no log lines (the store is not wired). */
  kept: boolean;
  rules: RuleRow[];
  /** The id to ask for older lines with (`before`), when the page is full. */
  olderThan: number | null;
  /** Live follow is offered: the newest lines are shown (no `to`, no `before`). */
  follow: boolean;
}

const LEVELS = ['', 'debug', 'info', 'warning', 'error', 'critical'];
export const QUICK_RANGES = ['15m', '1h', '24h', '7d'] as const;
/** Lines the page keeps while following: older ones drop off the bottom. */
export const FOLLOW_MAX_LINES = 500;
export const LOG_PAGE_LINES = 200;

/** The pages about a project's logs. The templates page (a separate piece of work) adds its tab here. */
export function logTabs(project: Project | null, current: 'lines' | 'rules' | 'templates'): Html {
  const slug = project?.slug;
  const tab = (href: string, key: string, label: string) => html`<a href="${href}${queryString({ project: slug })}"${key === current ? html` aria-current="true"` : ''}>${label}</a>`;
  return html`<nav class="tabs log-tabs" aria-label="Logs">${tab('/logs', 'lines', 'Lines')}${tab('/logs/rules', 'rules', 'Rules')}${tab('/logs/templates', 'templates', 'Templates')}</nav>`;
}

/** A rule's anchor on the Logs page (rule keys hold any text, anchors must not). */
export function ruleAnchor(key: string): string {
  return `rule-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/** Newest first, with the filters, live follow (by the page's script) and the rules' states. */
export function logsPage(ctx: PageContext, d: LogsPageData): Html {
  const body = html`<div class="page-head"><h1>Logs</h1><span class="spacer"></span>${projectPicker(d)}</div>
${logTabs(d.project, 'lines')}
${!d.kept ? html`<div class="section"><div class="empty">This server keeps no log lines.</div></div>` : d.project ? projectBody(ctx, d, d.project) : html`<div class="section"><div class="empty">No project yet.</div></div>`}`;
  return page(ctx, { title: 'Logs', section: 'logs', body });
}

function projectPicker(d: LogsPageData): Html {
  if (d.projects.length < 2) return html``;
  return html`<form method="get" action="/logs" class="inline-field"><select name="project" aria-label="Project" data-autosubmit>${d.projects.map((p) => html`<option value="${p.slug}"${p.id === d.project?.id ? html` selected` : ''}>${p.name}</option>`)}</select><noscript><button class="small" type="submit">Show</button></noscript></form>`;
}

function projectBody(ctx: PageContext, d: LogsPageData, project: Project): Html {
  return html`${filterForm(d, project)}
${linesTable(d, project)}
${ruleStates(ctx, project, d.rules)}`;
}

function filterForm(d: LogsPageData, project: Project): Html {
  const f = d.filters;
  const quick = QUICK_RANGES.map((r) => html`<a class="btn small${f.range === r ? ' active' : ''}" href="/logs${queryString({ project: project.slug, q: f.q || undefined, min_level: f.min_level || undefined, logger: f.logger || undefined, rule: f.rule || undefined, range: r })}"${f.range === r ? html` aria-current="true"` : ''}>${r}</a>`);
  return html`<form method="get" action="/logs" class="log-filters" data-log-filters>
  <input type="hidden" name="project" value="${project.slug}">
  ${f.rule ? html`<input type="hidden" name="rule" value="${f.rule}">` : ''}
  <input type="search" name="q" value="${f.q}" placeholder="words, field:value (user_id:42)" aria-label="Search">
  <select name="min_level" aria-label="Lowest level">${LEVELS.map((l) => html`<option value="${l}"${l === f.min_level ? html` selected` : ''}>${l ? `${l} and above` : 'any level'}</option>`)}</select>
  <input type="text" name="logger" value="${f.logger}" placeholder="logger" aria-label="Logger" size="12">
  <label class="faint">from <input type="datetime-local" name="from" aria-label="From" ${timeValue(f.from)}></label>
  <label class="faint">to <input type="datetime-local" name="to" aria-label="To" ${timeValue(f.to)}></label>
  ${f.range ? html`<input type="hidden" name="range" value="${f.range}">` : ''}
  <button class="small" type="submit">Search</button>
  <span class="quick-ranges" aria-label="Quick ranges">${quick}</span>
  <a class="small" href="/logs${queryString({ project: project.slug })}">clear</a>
</form>
${f.rule ? html`<div class="flash" role="status">Only the lines the rule <code>${f.rule}</code> matched. <a href="/logs${queryString({ project: project.slug })}">All lines</a></div>` : ''}`;
}

/**
 * A datetime-local input's value: the server renders UTC (it cannot know the viewer's zone); the
 * page's script shows it in the viewer's zone and sends the person's local time back as UTC.
 */
function timeValue(ms: number | null): Html {
  if (ms === null || !Number.isFinite(ms)) return html``;
  const iso = new Date(ms).toISOString();
  return html`value="${iso.slice(0, 16)}" data-utc="${iso}"`;
}

function linesTable(d: LogsPageData, project: Project): Html {
  const followBar = d.follow
    ? html`<div class="follow-bar" data-follow="/logs/follow${queryString(followQuery(d, project))}" data-after="${String(d.lines[0]?.id ?? 0)}" data-max="${String(FOLLOW_MAX_LINES)}">
  <button class="small" type="button" data-follow-toggle aria-pressed="true">Pause live follow</button>
  <span class="faint" data-follow-status>Live: new lines appear at the top (paused while the tab is hidden; the page keeps the newest ${String(FOLLOW_MAX_LINES)}).</span></div>`
    : html`<div class="follow-bar faint">Live follow is off for a range that ends in the past or an older page.</div>`;
  if (!d.lines.length && !d.follow) return html`<div class="section">${followBar}<div class="empty">No log line matches.</div></div>`;
  return html`<div class="section">${followBar}<table class="list log-lines">
  <thead><tr><th>Time</th><th>Level</th><th>Logger</th><th>Message</th><th>Rule / issue</th></tr></thead>
  <tbody data-follow-rows>${d.lines.map((l) => lineRow(project, l, l.eventId ? d.issues.get(l.eventId) : undefined))}</tbody></table>
  ${!d.lines.length ? html`<div class="empty" data-follow-empty>No log line matches yet. Bots send lines as Sentry <code>log</code> items, with the SDK's
      <code>createLogger({ ship: true })</code>, or as NDJSON to <code>/api/${String(project.id)}/logs/</code> (docs/logs.md).</div>` : ''}
  <div class="pager"><span>Newest first (by arrival), ${String(LOG_PAGE_LINES)} a page.</span><span class="btns">${d.olderThan !== null ? html`<a class="btn small" href="/logs${queryString({ ...baseQuery(d, project), before: d.olderThan })}">Older lines</a>` : ''}</span></div></div>`;
}

/** The filters as a query (without paging), for links and the follow URL. */
function baseQuery(d: LogsPageData, project: Project): Record<string, string | number | undefined> {
  const f = d.filters;
  return {
    project: project.slug,
    q: f.q || undefined,
    min_level: f.min_level || undefined,
    logger: f.logger || undefined,
    rule: f.rule || undefined,
    range: f.range || undefined,
    from: f.range || f.from === null ? undefined : new Date(f.from).toISOString(),
    to: f.to === null ? undefined : new Date(f.to).toISOString(),
  };
}

function followQuery(d: LogsPageData, project: Project): Record<string, string | number | undefined> {
  // A quick range's start moves with the clock; new lines are inside it by definition.
  return { ...baseQuery(d, project), range: undefined };
}

const LEVEL_CLASS: Record<string, string> = { trace: 'debug', debug: 'debug', info: 'info', warning: 'warning', error: 'error', critical: 'fatal' };

/** One line's row: shared by the page and the follow endpoint, so both escape alike. */
export function lineRow(project: Project, l: LogLine, issueId: number | undefined): Html {
  const message = l.message.length > 500 ? `${l.message.slice(0, 500)}…` : l.message;
  return html`<tr data-line="${String(l.id)}">
  <td class="nowrap">${lineTime(l.time)}</td>
  <td><span class="badge lvl-${LEVEL_CLASS[l.level] ?? 'debug'}">${l.level}</span></td>
  <td>${l.logger ? html`<a href="/logs${queryString({ project: project.slug, logger: l.logger })}"><code>${l.logger}</code></a>` : ''}</td>
  <td class="log-message"><code>${message}</code>${fieldList(project, l)}</td>
  <td class="nowrap">${l.rule ? html`<a class="badge" href="/logs${queryString({ project: project.slug })}#${ruleAnchor(l.rule)}" title="${l.rule}">${l.rule.startsWith('forbidden:') ? 'forbidden' : 'rate'}</a>` : ''}${issueId !== undefined ? html` <a href="/issues/${String(issueId)}">issue</a>` : ''}</td>
</tr>`;
}

/** To the second: shown in the viewer's zone by the script (`data-local="seconds"`), UTC without it. */
function lineTime(ms: number): Html {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return html`<span class="faint">—</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}" title="${iso}" data-local="seconds">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

function fieldList(project: Project, l: LogLine): Html {
  const entries = Object.entries(l.fields).slice(0, 12);
  if (!entries.length) return html``;
  return html`<div class="faint">${entries.map(([k, v]) => html`<a href="/logs${queryString({ project: project.slug, q: `${k}:${v}` })}"><code>${k}=${v.length > 80 ? `${v.slice(0, 80)}…` : v}</code></a> `)}</div>`;
}

const STATE_CLASS = { firing: 'lvl-error', ok: 'st-resolved', never: 'outline' } as const;

/** The rules in force and their states; each row is the anchor a matched line links to. */
export function ruleStates(ctx: PageContext, project: Project, rules: RuleRow[], opts: { editLink?: boolean } = {}): Html {
  const edit = opts.editLink !== false && may(ctx, 'member') ? html`<a class="btn small" href="/logs/rules${queryString({ project: project.slug })}">Edit rules</a>` : '';
  const head = html`<div class="section-head"><h2>${opts.editLink === false ? 'Rule states' : 'Rules'}</h2><span class="spacer"></span>${edit}</div>`;
  if (!rules.length) return html`<div class="section" id="rules">${head}<div class="empty">No log rules run for this project (they are turned off).</div></div>`;
  const rows = rules.map(
    (r) => html`<tr id="${ruleAnchor(r.key)}"${r.inForce ? '' : html` class="faint"`}>
  <td>${r.kind === 'error_rate' ? 'error rate' : r.kind === 'forbidden' ? 'forbidden' : 'rate-limited'}</td>
  <td>${r.pattern === null ? html`<span class="faint">ERROR and CRITICAL lines</span>` : html`<code>${r.pattern}</code>`}</td>
  <td>${r.limit}</td>
  <td><span class="badge ${STATE_CLASS[r.state]}" data-rule-state="${r.state}">${r.state === 'never' ? 'not matched yet' : r.state}</span></td>
  <td class="nowrap">${r.lastFired !== null ? absoluteTime(r.lastFired) : html`<span class="faint">never</span>`}</td>
  <td class="num">${fullNumber(r.matched)}</td>
  <td>${r.kind === 'error_rate' ? html`<a href="/logs${queryString({ project: project.slug, min_level: 'error' })}">lines</a>` : html`<a href="/logs${queryString({ project: project.slug, rule: r.key })}">lines</a>`}</td>
</tr>`,
  );
  return html`<div class="section" id="rules">${head}<table class="list rule-states">
  <thead><tr><th>Rule</th><th>Pattern</th><th>Limit</th><th>State</th><th>Last fired</th><th class="num">Matched</th><th></th></tr></thead>
  <tbody>${rows}</tbody></table>
  <div class="faint" style="padding:8px 14px">Firing: a rate rule over its limit, a forbidden pattern seen in the last 24 h (as Telegram's /status says).</div></div>`;
}

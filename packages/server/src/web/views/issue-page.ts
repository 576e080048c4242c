import type { Actor, Issue, IssueHistoryEntry, Project, StoredEvent } from '../../store/model.js';
import { MAX_NOTE_LENGTH } from '../../store/issue-story.js';
import type { IssueTagSummary } from '../../store/store.js';
import type { GithubLink } from '../../store/github.js';
import { html, jsonForScript, queryString, type Html } from '../html.js';
import { expandLink, linkValues, safeHttpUrl } from '../links.js';
import { absoluteTime, ago, barChart, fullNumber, levelBadge, pluralize, statusBadge } from './components.js';
import { eventSections } from './event.js';
import { lineRow } from './logs.js';
import type { LogLine } from '../../store/logs.js';
import { csrfField, may, page, type PageContext } from './layout.js';

export interface IssuePageData {
  issue: Issue;
  project: Project;
  event: StoredEvent | null;
  events: StoredEvent[];
  /** Id (row id) of the next page of events, when there is one. */
  olderThan: number | null;
  chart: { startMs: number; stepMs: number; counts: number[] };
  tags: IssueTagSummary[];
  /** The issue's story, oldest first. */
  history: IssueHistoryEntry[];
  /** Dashboard logins, the assignee choices. */
  users: string[];
  flash?: string;
  /** A log-born issue's matching lines (docs/logs.md); absent for other issues. */
  logLines?: IssueLogLines;
  /** The GitHub link and the project's GitHub state (docs/github.md); absent: no GitHub integration. */
  github?: { link: GithubLink | null; configured: boolean; disabled: { reason: string; at: number } | null };
}

/** The lines that matched a forbidden pattern, newest first, at most `limit`; `href` is the Logs page filtered to them. */
export interface IssueLogLines {
  pattern: string;
  lines: LogLine[];
  href: string;
  limit: number;
}

export function issuePage(ctx: PageContext, d: IssuePageData): Html {
  const body = html`
<div class="crumbs"><a href="/issues">Issues</a><span>/</span><a href="/issues?project=${d.project.slug}">${d.project.name}</a><span>/</span><span class="mono">${d.issue.shortId}</span></div>
${header(ctx, d)}
${d.flash ? html`<div class="flash" role="status">${d.flash}</div>` : ''}
${githubPanel(ctx, d)}
<div class="panel">
  ${stats(ctx, d.issue)}
  ${chart(d)}
</div>
<div class="layout">
  <div class="main-col">${d.logLines ? logLinesSection(d.project, d.logLines) : ''}${d.event ? eventPanel(ctx, d) : html`<div class="section"><div class="empty">The events of this issue were pruned (retention); its counts remain.</div></div>`}
  ${historySection(ctx, d)}</div>
  <aside class="side-col">${sidebar(ctx, d)}</aside>
</div>`;
  return page(ctx, { title: `${d.issue.shortId} ${d.issue.title}`, section: 'issues', body, charts: true });
}

function header(ctx: PageContext, d: IssuePageData): Html {
  const i = d.issue;
  return html`<div class="issue-header">
  <div class="titles">
    <h1>${i.title}</h1>
    <div class="sub">${levelBadge(i.level)} ${statusBadge(i.status)}
      ${i.regressed ? html`<span class="badge regressed">regressed</span>` : ''}
      ${i.status === 'ignored' ? html`<span>${ignoreText(i)}</span>` : ''}
      ${i.status === 'resolved' && i.resolvedInRelease ? html`<span>fixed in <code>${i.resolvedInRelease}</code></span>` : ''}
      ${i.status === 'resolved' && i.resolvedInNextRelease ? html`<span>fixed in the next release</span>` : ''}
      ${i.assignee ? html`<span class="badge outline" title="assignee">@${i.assignee}</span>` : ''}
      ${i.culprit ? html`<code>${i.culprit}</code>` : ''}
      ${i.origin ? html`<span class="badge outline">${i.origin}</span>` : ''}
      ${i.httpStatus ? html`<span class="badge outline">HTTP ${i.httpStatus}</span>` : ''}
    </div>
  </div>
  ${statusActions(ctx, i)}
</div>`;
}

/** The issue's GitHub issue: its state, the last action on it and who took it, or a button to create it. */
function githubPanel(ctx: PageContext, d: IssuePageData): Html | string {
  const gh = d.github;
  if (!gh) return '';
  const parts: Html[] = [];
  if (gh.disabled) parts.push(html`<div class="flash error" role="alert">GitHub link of this project disabled since ${absoluteTime(gh.disabled.at)}: ${gh.disabled.reason}. Change its token or repository (<code>PUT /api/v1/projects/${d.project.slug}/github</code>) to enable it again.</div>`);
  const link = gh.link;
  if (link?.state === 'linked' && link.number !== null) {
    const url = safeHttpUrl(link.url);
    const last = link.lastAction && link.lastActionAt !== null ? html` · ${actionText(link.lastAction)} by <strong>${link.lastActor ?? '?'}</strong> ${ago(link.lastActionAt, ctx.now)}` : '';
    parts.push(html`<div class="muted github-link">GitHub ${url ? html`<a href="${url}" rel="noopener noreferrer">${link.repo}#${link.number}</a>` : html`${link.repo}#${link.number}`} (${link.githubState})${last}</div>`);
  } else if (link) {
    parts.push(html`<div class="muted github-link">GitHub issue in ${link.repo} being created (asked by ${link.requestedBy} ${ago(link.createdAt, ctx.now)}).</div>`);
  } else if (gh.configured && !gh.disabled) {
    parts.push(html`<form method="post" action="/issues/${d.issue.id}/github">${csrfField(ctx)}<button type="submit">Create GitHub issue</button></form>`);
  }
  return parts.length ? html`<div class="github">${parts}</div>` : '';
}

const ACTIONS: Record<string, string> = { closed: 'closed on GitHub', reopened: 'reopened on GitHub', closed_from_botpulse: 'closed from Botpulse', closed_not_planned: 'closed on GitHub as not planned' };

function actionText(action: string): string {
  return ACTIONS[action] ?? action;
}

function ignoreText(i: Issue): Html {
  const parts: Html[] = [];
  if (i.ignoreUntil) parts.push(html`until ${absoluteTime(i.ignoreUntil)}`);
  if (i.ignoreUntilCount) parts.push(html`until ${fullNumber(i.ignoreUntilCount)} events`);
  return parts.length ? html`ignored ${parts.map((p, n) => html`${n ? ' or ' : ''}${p}`)}` : html`ignored for good`;
}

/** The workflow new → in progress → resolved, plus ignore (for a time or a count) and reopen. */
function statusActions(ctx: PageContext, i: Issue): Html {
  const action = (status: string, label: string, cls = '', extra: Html = html``) =>
    html`<form method="post" action="/issues/${i.id}/status">${csrfField(ctx)}<input type="hidden" name="status" value="${status}">${extra}<button class="${cls}" type="submit">${label}</button></form>`;
  const ignoreMenu = html`<details class="menu"><summary class="btn">Ignore ▾</summary><div class="menu-items">
    ${[['1h', 'for 1 hour'], ['24h', 'for 24 hours'], ['7d', 'for 7 days']].map(([v, l]) => action('ignored', `Ignore ${l}`, '', html`<input type="hidden" name="ignoreFor" value="${v}">`))}
    ${[['10', 'until 10 more events'], ['100', 'until 100 more events']].map(([v, l]) => action('ignored', `Ignore ${l}`, '', html`<input type="hidden" name="ignoreForEvents" value="${v}">`))}
    <div class="sep"></div>${action('ignored', 'Ignore for good')}
  </div></details>`;
  const resolveMenu = html`<details class="menu"><summary class="btn" aria-label="Resolve in a release">▾</summary><div class="menu-items">
    <form class="inline-field" method="post" action="/issues/${i.id}/status">${csrfField(ctx)}<input type="hidden" name="status" value="resolved">
      <input name="inRelease" placeholder="release, e.g. ${i.lastRelease ?? '1.4.2'}" aria-label="Fixed in release" required><button class="small" type="submit">Resolve in</button></form>
    <div class="faint" style="font-size:11.5px;padding:0 6px 4px">Events from older releases won't reopen it.</div>
    <div class="sep"></div>${action('resolved', 'Resolve in the next release', '', html`<input type="hidden" name="inNextRelease" value="1">`)}
    <div class="faint" style="font-size:11.5px;padding:0 6px 4px">Releases seen so far won't reopen it; the first new one will.</div>
  </div></details>`;
  const buttons: Html[] = [];
  const github = safeHttpUrl(i.githubUrl);
  // A viewer changes nothing: no status buttons at all (the routes refuse their POSTs too).
  if (!may(ctx, 'member')) return html`<div class="actions">${github ? html`<a class="btn" href="${github}" rel="noopener noreferrer">GitHub issue ↗</a>` : ''}</div>`;
  if (i.status === 'new') buttons.push(action('in_progress', 'Start: in progress'));
  if (i.status === 'in_progress') buttons.push(action('new', 'Back to new', 'ghost'));
  if (i.status === 'new' || i.status === 'in_progress') buttons.push(action('resolved', 'Resolve', 'primary'), resolveMenu, ignoreMenu);
  if (i.status === 'resolved' || i.status === 'ignored') buttons.push(action('new', 'Reopen', 'primary'));
  if (github) buttons.push(html`<a class="btn" href="${github}" rel="noopener noreferrer">GitHub issue ↗</a>`);
  return html`<div class="actions">${buttons}</div>`;
}

function stats(ctx: PageContext, i: Issue): Html {
  return html`<div class="stats">
  <div class="stat"><div class="k">Events</div><div class="v">${fullNumber(i.eventCount)}</div><div class="s">total, all time</div></div>
  <div class="stat"><div class="k">Users</div><div class="v">${fullNumber(i.userCount)}</div><div class="s">affected</div></div>
  <div class="stat"><div class="k">First seen</div><div class="v">${ago(i.firstSeen, ctx.now)}</div><div class="s">${i.firstRelease ? html`in <code>${i.firstRelease}</code>` : absoluteTime(i.firstSeen)}</div></div>
  <div class="stat"><div class="k">Last seen</div><div class="v">${ago(i.lastSeen, ctx.now)}</div><div class="s">${i.lastRelease ? html`in <code>${i.lastRelease}</code>` : absoluteTime(i.lastSeen)}</div></div>
</div>`;
}

function chart(d: IssuePageData): Html {
  const total = d.chart.counts.reduce((a, b) => a + b, 0);
  return html`<div class="chart">
  <div class="muted" style="font-size:12px;margin-bottom:2px">Events per hour, last 14 days · ${pluralize(total, 'event')}</div>
  <div data-chart="chart-data">${barChart(d.chart.counts, d.chart.startMs, d.chart.stepMs)}</div>
  <script type="application/json" id="chart-data">${jsonForScript({ start: d.chart.startMs, step: d.chart.stepMs, counts: d.chart.counts })}</script>
</div>`;
}

function eventPanel(ctx: PageContext, d: IssuePageData): Html {
  const e = d.event!;
  const latest = d.events[0]?.id === e.id;
  return html`<div class="section">
  <div class="event-head"><strong>${latest ? 'Latest event' : 'Event'}</strong>
    <span class="mono">${e.eventId.slice(0, 12)}</span><span>${ago(e.timestamp, ctx.now)}</span><span class="faint">${absoluteTime(e.timestamp)}</span>
    ${e.release ? html`<span>release <code>${e.release}</code></span>` : ''}${e.environment ? html`<span>${e.environment}</span>` : ''}
    <span class="spacer"></span>${linksOut(d)}
  </div>
</div>
${eventSections(e, { attachmentsDownload: may(ctx, 'member') })}`;
}

function linksOut(d: IssuePageData): Html {
  if (!d.event) return html``;
  const values = linkValues(d.event);
  const links = d.project.linkTemplates
    .map((t) => ({ name: t.name, url: expandLink(t, values) }))
    .filter((l): l is { name: string; url: string } => l.url !== null);
  return html`<span class="links">${links.map((l) => html`<a class="btn small" href="${l.url}" rel="noopener noreferrer">${l.name} ↗</a>`)}</span>`;
}

function sidebar(ctx: PageContext, d: IssuePageData): Html {
  return html`${assigneeSection(ctx, d)}
<div class="section"><h2>Tags</h2><div class="body">${tagBars(d)}</div></div>
${eventList(ctx, d)}
<div class="section"><h2>Details</h2><div class="body"><table class="kv">
  <tr><th>Project</th><td>${d.project.name}</td></tr>
  <tr><th>Short id</th><td>${d.issue.shortId}</td></tr>
  <tr><th>First seen</th><td>${absoluteTime(d.issue.firstSeen)}</td></tr>
  <tr><th>Last seen</th><td>${absoluteTime(d.issue.lastSeen)}</td></tr>
  <tr><th>Releases</th><td>${d.issue.firstRelease ?? '—'}${d.issue.lastRelease && d.issue.lastRelease !== d.issue.firstRelease ? html` → ${d.issue.lastRelease}` : ''}</td></tr>
  <tr><th>Fingerprint</th><td title="${d.issue.fingerprint}">${d.issue.fingerprint.slice(0, 16)}…</td></tr>
</table></div></div>`;
}

function eventList(ctx: PageContext, d: IssuePageData): Html {
  const items = d.events.map(
    (e) => html`<li${d.event?.id === e.id ? html` aria-current="true"` : ''}><a class="eid" href="/issues/${d.issue.id}${queryString({ event: e.eventId })}">${e.eventId.slice(0, 12)}</a><span class="faint">${e.release ?? ''}</span><span class="muted">${ago(e.timestamp, ctx.now)}</span></li>`,
  );
  const more = d.olderThan !== null ? html`<li><a href="/issues/${d.issue.id}${queryString({ before: d.olderThan })}">Older events →</a></li>` : '';
  return html`<div class="section" id="events"><h2>Events</h2><ul class="event-list">${items}${more}</ul></div>`;
}

/** Each tag key's values as a stacked bar (Sentry's tag summary), the top four shown. */
function tagBars(d: IssuePageData): Html {
  if (d.tags.length === 0) return html`<div class="faint">No tags.</div>`;
  const bars = d.tags.slice(0, 12).map(({ key, values, truncated }) => {
    const total = values.reduce((a, v) => a + v.count, 0) || 1;
    const top = values.slice(0, 4);
    const distinct = truncated ? `${values.length}+ values` : `${values.length} value${values.length === 1 ? '' : 's'}`;
    return html`<div class="tagbar"><div class="name"><span>${key}</span><span class="num">${distinct}</span></div>
      <div class="track">${top.map((v) => html`<div class="seg" style="width:${((v.count / total) * 100).toFixed(1)}%" title="${v.value}: ${v.count}"></div>`)}</div>
      <div class="vals">${top.map((v, i) => html`${i ? ' · ' : ''}<a href="/issues${queryString({ q: `${key}:${v.value.includes(' ') ? `"${v.value}"` : v.value}`, status: 'all' })}">${v.value}</a> ${percent(v.count, total)}`)}</div></div>`;
  });
  return html`<div class="tagbars">${bars}</div>`;
}

function percent(count: number, total: number): string {
  const p = (count / total) * 100;
  return p >= 1 ? `${Math.round(p)}%` : '<1%';
}

function assigneeSection(ctx: PageContext, d: IssuePageData): Html {
  const current = d.issue.assignee;
  const option = (value: string, label: string) => html`<option value="${value}"${(current ?? '') === value ? html` selected` : ''}>${label}</option>`;
  if (!may(ctx, 'member')) return html`<div class="section" id="assignee"><h2>Assignee</h2><div class="body">${current ?? html`<span class="faint">Nobody</span>`}</div></div>`;
  return html`<div class="section" id="assignee"><h2>Assignee</h2><div class="body">
  <form class="inline-field" method="post" action="/issues/${d.issue.id}/assign">${csrfField(ctx)}
    <select name="assignee" aria-label="Assignee">${option('', 'Nobody')}${d.users.map((u) => option(u, u === ctx.login ? `${u} (me)` : u))}</select>
    <button class="small" type="submit">Assign</button>
  </form>
  ${current !== ctx.login && ctx.login ? html`<form method="post" action="/issues/${d.issue.id}/assign">${csrfField(ctx)}<input type="hidden" name="assignee" value="me"><button class="small ghost" type="submit">Assign to me</button></form>` : ''}
</div></div>`;
}

/** Who did what and when: status changes, assignments, acknowledgements, notes (docs/issues.md). */
function historySection(ctx: PageContext, d: IssuePageData): Html {
  const items = d.history.map(
    (h) => html`<li class="history-${h.action}"><span class="muted">${ago(h.at, ctx.now)}</span>
      <strong>${actorText(h.actor)}</strong> ${historyText(h)}</li>`,
  );
  return html`<div class="section" id="history"><h2>History</h2><div class="body">
  ${items.length ? html`<ul class="history">${items}</ul>` : html`<div class="faint">Nothing has happened to this issue yet: it was first seen ${ago(d.issue.firstSeen, ctx.now)}.</div>`}
  ${may(ctx, 'member') ? html`<form method="post" action="/issues/${d.issue.id}/notes">${csrfField(ctx)}
    <textarea name="text" rows="2" maxlength="${MAX_NOTE_LENGTH}" placeholder="Add a note: what you found, who is on it…" aria-label="Note" required></textarea>
    <button class="small" type="submit">Add note</button>
  </form>` : ''}
</div></div>`;
}

export function actorText(actor: Actor): string {
  switch (actor.kind) {
    case 'system':
      return 'Botpulse';
    case 'telegram':
      return `${actor.name} (Telegram)`;
    case 'token':
      return `API token “${actor.name}”`;
    case 'cli':
      return `${actor.name} (CLI)`;
    case 'github':
      return `${actor.name} (GitHub)`;
    default:
      return actor.name;
  }
}

export function historyText(h: IssueHistoryEntry): Html {
  const d = h.detail;
  switch (h.action) {
    case 'resolved':
      return d.release ? html`resolved it in <code>${String(d.release)}</code>` : d.nextRelease ? html`resolved it in the next release` : html`resolved it`;
    case 'reopened':
      return html`reopened it`;
    case 'in_progress':
      return html`marked it in progress`;
    case 'ignored': {
      const parts: Html[] = [];
      if (typeof d.until === 'number') parts.push(html`until ${absoluteTime(d.until)}`);
      if (typeof d.forEvents === 'number') parts.push(html`for ${fullNumber(d.forEvents)} more events`);
      return parts.length ? html`muted it ${parts.map((p, n) => html`${n ? ' or ' : ''}${p}`)}` : html`muted it for good`;
    }
    case 'regressed':
      return d.release ? html`reopened it: it recurred in <code>${String(d.release)}</code> (regression)` : html`reopened it: it recurred after it was resolved (regression)`;
    case 'unignored':
      return html`reopened it: an event came after its mute ended`;
    case 'assigned':
      return html`assigned it to <strong>${String(d.assignee)}</strong>`;
    case 'unassigned':
      return html`unassigned it`;
    case 'acknowledged':
      return html`acknowledged the alert`;
    case 'linked':
      return html`linked ${typeof d.url === 'string' && safeHttpUrl(d.url) ? html`<a href="${safeHttpUrl(d.url)!}" rel="noopener noreferrer">${d.url}</a>` : 'an external issue'}`;
    case 'note':
      return html`wrote: <span class="note">${String(d.text ?? '')}</span>`;
    default:
      return html`${h.action}`;
  }
}

/** A log-born issue's lines: the rows of the Logs page (same escaping), and a link to all of them there. */
function logLinesSection(project: Project, l: IssueLogLines): Html {
  return html`<div class="section" id="log-lines" data-log-lines><div class="section-head"><h2>Matching log lines</h2><span class="spacer"></span>
  <a class="btn small" href="${l.href}">All on the Logs page</a></div>
  <div class="body faint">Lines that matched the forbidden pattern <code>${l.pattern}</code>, newest first${l.lines.length === l.limit ? `, the last ${l.limit}` : ''}.</div>
  ${l.lines.length
    ? html`<table class="list log-lines"><thead><tr><th>Time</th><th>Level</th><th>Logger</th><th>Message</th><th>Rule / issue</th></tr></thead><tbody>${l.lines.map((line) => lineRow(project, line, undefined))}</tbody></table>`
    : html`<div class="empty">No matching line is kept any more (log retention).</div>`}</div>`;
}

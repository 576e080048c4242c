import type { Issue, IssueStatus, Project } from '../../store/model.js';
import type { HourlyCount } from '../../store/store.js';
import { html, queryString, type Html } from '../html.js';
import { PAGE_SIZE, PERIODS, SORTS, stateParams, VIEWS, type ListState, type ViewName } from '../query.js';
import { ago, compactNumber, fullNumber, hourlySeries, LEVEL_LABEL, sparkline, STATUS_LABEL, statusBadge } from './components.js';
import { csrfField, may, page, type PageContext } from './layout.js';

export interface IssueListData {
  state: ListState;
  issues: Issue[];
  total: number;
  /** More match than `total` (the count stops past the page: countBoundFor). */
  totalIsLowerBound?: boolean;
  recentCounts: Map<number, number>;
  statusCounts: Record<IssueStatus, number>;
  hourly: Map<number, HourlyCount[]>;
  projects: Project[];
  releases: string[];
  flash?: string;
  /** Spooled events the digest could not store and kept in its quarantine (docs/architecture.md "Failure paths (audit)"). */
  quarantine?: { rows: number; latestError: string | null };
  /** Forwarding to the upstream Sentry is failing, rate-limited or gave items up (docs/upstream.md). */
  upstream?: string[];
}

const ORIGINS = ['webhook', 'handler', 'worker', 'miniapp', 'http', 'scheduler'];
const ENVIRONMENTS = ['production', 'staging', 'development'];

export function issueListPage(ctx: PageContext, data: IssueListData): Html {
  const body = html`
<div class="page-head"><h1>Issues</h1><span class="spacer"></span>
  <a class="btn small" href="/projects">Set up a bot</a></div>
${viewChips(data.state)}
<div class="panel">
  ${filterForm(data)}
  ${results(ctx, data)}
</div>`;
  return page(ctx, { title: 'Issues', section: 'issues', body });
}

function href(state: ListState, change: Partial<ListState> = {}): string {
  return `/issues${queryString(stateParams(state, { page: 1, ...change }))}`;
}

function viewChips(state: ListState): Html {
  const chips = (Object.keys(VIEWS) as ViewName[]).map(
    (name) => html`<a class="chip" href="${href({ ...blankState(), project: state.project }, { view: name })}" title="${VIEWS[name].hint}"${state.view === name ? html` aria-current="true"` : ''}>${VIEWS[name].label}</a>`,
  );
  return html`<nav class="views" id="views" aria-label="Saved views">${chips}</nav>`;
}

function blankState(): ListState {
  return { view: 'unresolved', status: '', q: '', project: '', level: '', origin: '', environment: '', release: '', period: '', sort: '', page: 1 };
}

function filterForm(data: IssueListData): Html {
  const s = data.state;
  const options = (values: [string, string][], current: string) =>
    values.map(([value, label]) => html`<option value="${value}"${value === current ? ' selected' : ''}>${label}</option>`);
  const moreOpen = Boolean(s.origin || s.environment || s.release);
  return html`<form class="issue-filters" method="get" action="/issues" role="search"
    hx-get="/issues" hx-target="#results" hx-select="#results" hx-select-oob="#views" hx-swap="outerHTML" hx-push-url="true"
    hx-trigger="submit, input changed delay:350ms from:#q">
  <input type="hidden" name="view" value="${s.view === 'unresolved' ? '' : s.view}">
  ${s.status ? html`<input type="hidden" name="status" value="${s.status}">` : ''}
  <div class="filters">
    <div class="search"><label class="sr-only" for="q">Search</label>
      <input id="q" name="q" type="search" value="${s.q}" placeholder="Search title or culprit, B-012, level:critical, chat_type:group…" autocomplete="off"></div>
    <select name="project" aria-label="Project" data-autosubmit>${options([['', 'All projects'], ...data.projects.map((p): [string, string] => [p.slug, p.name])], s.project)}</select>
    <select name="level" aria-label="Level" data-autosubmit>${options([['', 'Any level'], ...Object.entries(LEVEL_LABEL)], s.level)}</select>
    <select name="period" aria-label="Seen within" data-autosubmit>${options([['', 'Any time'], ...Object.keys(PERIODS).map((p): [string, string] => [p, `Last ${p}`])], s.period)}</select>
    <select name="sort" aria-label="Sort" data-autosubmit>${options([['', 'Default sort'], ...Object.entries(SORTS).map(([k, v]): [string, string] => [k, `Sort: ${v}`])], s.sort)}</select>
    <button type="submit">Filter</button>
  </div>
  <details class="more"${moreOpen ? ' open' : ''}><summary class="faint" style="padding:0 12px 8px;cursor:pointer;font-size:12px">More filters: origin, environment, release</summary>
    <div class="more-filters">
      <input name="origin" list="origins" value="${s.origin}" placeholder="origin" aria-label="Origin">
      <input name="environment" list="environments" value="${s.environment}" placeholder="environment" aria-label="Environment">
      <input name="release" list="releases" value="${s.release}" placeholder="release" aria-label="Release">
    </div>
  </details>
  <datalist id="origins">${ORIGINS.map((o) => html`<option value="${o}">`)}</datalist>
  <datalist id="environments">${ENVIRONMENTS.map((o) => html`<option value="${o}">`)}</datalist>
  <datalist id="releases">${data.releases.map((o) => html`<option value="${o}">`)}</datalist>
</form>`;
}

function currentStatusTab(state: ListState): string {
  if (state.status) return state.status;
  return state.view === 'today' || state.view === 'http5xx' ? 'all' : 'unresolved';
}

function statusTabs(data: IssueListData): Html {
  const c = data.statusCounts;
  const tabs: [string, string, number][] = [
    ['unresolved', 'Unresolved', c.new + c.in_progress],
    ['new', STATUS_LABEL.new, c.new],
    ['in_progress', STATUS_LABEL.in_progress, c.in_progress],
    ['resolved', STATUS_LABEL.resolved, c.resolved],
    ['ignored', STATUS_LABEL.ignored, c.ignored],
    ['all', 'All', c.new + c.in_progress + c.resolved + c.ignored],
  ];
  const current = currentStatusTab(data.state);
  return html`<nav class="tabs" aria-label="Status">${tabs.map(
    ([status, label, n]) => html`<a href="${href(data.state, { status })}"${status === current ? html` aria-current="true"` : ''}>${label}<span class="count">${compactNumber(n)}</span></a>`,
  )}</nav>`;
}

function results(ctx: PageContext, data: IssueListData): Html {
  const recent = data.state.view === 'today';
  return html`<div id="results">
  ${statusTabs(data)}
  ${data.flash ? html`<div class="flash" role="status" style="margin:10px 12px 0">${data.flash}</div>` : ''}
  ${data.quarantine?.rows ? html`<div class="flash error" role="alert" style="margin:10px 12px 0">${data.quarantine.rows} spooled event${data.quarantine.rows === 1 ? '' : 's'} could not be stored and ${data.quarantine.rows === 1 ? 'is' : 'are'} kept in the digest quarantine (table <code>digest_quarantine</code>)${data.quarantine.latestError ? html`; latest error: <code>${data.quarantine.latestError}</code>` : ''}. The events behind ${data.quarantine.rows === 1 ? 'it' : 'them'} were stored.</div>` : ''}
  ${data.upstream?.length ? html`<div class="flash error" role="alert" style="margin:10px 12px 0">${data.upstream.map((line) => html`<div>${line}</div>`)}</div>` : ''}
  ${may(ctx, 'member') ? html`<form method="post" action="/issues/bulk" data-bulk>` : html`<div class="issue-results">`}
    ${csrfField(ctx)}
    <input type="hidden" name="back" value="${href(data.state, { page: data.state.page })}">
    <div class="bulkbar">
      ${may(ctx, 'member') ? html`<input type="checkbox" data-select-all aria-label="Select all on this page">
      <button class="small" name="action" value="resolve" data-needs-selection>Resolve</button>
      <button class="small" name="action" value="resolve_next" data-needs-selection title="Releases seen so far won't reopen them; the first new one will">Resolve in next release</button>
      <button class="small" name="action" value="in_progress" data-needs-selection>Mark in progress</button>
      <button class="small" name="action" value="ignore" data-needs-selection>Ignore</button>` : ''}
      <span data-selected-count></span><span class="spacer"></span>
      <span class="num">${resultRange(data)}</span>
    </div>
    <div class="issue-head" aria-hidden="true"><span></span><span>Issue</span><span>${recent ? 'Today' : 'Last 24 hours'}</span><span class="r">${recent ? 'Today' : 'Events'}</span><span class="r">Users</span><span class="r">Last seen</span></div>
    ${data.issues.length ? html`<div class="issue-list" role="list">${data.issues.map((i) => issueRow(ctx, data, i))}</div>` : emptyState(data)}
  ${may(ctx, 'member') ? html`</form>` : html`</div>`}
  ${pager(data)}
</div>`;
}

function resultRange(data: IssueListData): string {
  if (data.total === 0) return '0 issues';
  const first = (data.state.page - 1) * PAGE_SIZE + 1;
  return `${fullNumber(first)}–${fullNumber(first + data.issues.length - 1)} of ${fullNumber(data.total)}${data.totalIsLowerBound ? '+' : ''}`;
}

function issueRow(ctx: PageContext, data: IssueListData, issue: Issue): Html {
  const series = hourlySeries(data.hourly.get(issue.id) ?? [], ctx.now, 24);
  const dayTotal = series.counts.reduce((a, b) => a + b, 0);
  const events = data.recentCounts.get(issue.id) ?? issue.eventCount;
  const project = data.projects.length > 1 ? data.projects.find((p) => p.id === issue.projectId) : undefined;
  return html`<div class="issue-row lvl-${issue.level}" role="listitem">
  ${may(ctx, 'member') ? html`<input type="checkbox" name="ids" value="${issue.id}" aria-label="Select ${issue.shortId}">` : html`<span></span>`}
  <div class="issue-main">
    <div class="issue-title"><span class="short-id">${issue.shortId}</span><a href="/issues/${issue.id}">${issue.title}</a></div>
    <div class="issue-meta">
      <span class="badge lvl-${issue.level}">${LEVEL_LABEL[issue.level]}</span>
      ${issue.status !== 'new' ? statusBadge(issue.status) : ''}
      ${issue.regressed ? html`<span class="badge regressed">regressed</span>` : ''}
      ${issue.httpStatus ? html`<span class="badge outline">HTTP ${issue.httpStatus}</span>` : ''}
      ${issue.origin ? html`<span class="badge outline">${issue.origin}</span>` : ''}
      ${project ? html`<span class="badge outline">${project.name}</span>` : ''}
      ${issue.githubUrl ? html`<a class="badge outline" href="${issue.githubUrl}" rel="noopener noreferrer">GitHub</a>` : ''}
      ${issue.culprit ? html`<span class="culprit" title="${issue.culprit}">${issue.culprit}</span>` : ''}
      <span class="mobile-counts">${compactNumber(events)} events · ${compactNumber(issue.userCount)} users</span>
    </div>
  </div>
  <div class="col-spark">${sparkline(series.counts, `${dayTotal} events in the last 24 hours`)}</div>
  <div class="r big col-events" title="${fullNumber(events)}">${compactNumber(events)}</div>
  <div class="r big col-users" title="${fullNumber(issue.userCount)}">${compactNumber(issue.userCount)}</div>
  <div class="r age">${ago(issue.lastSeen, ctx.now)}</div>
</div>`;
}

function emptyState(data: IssueListData): Html {
  const filtered = data.state.q || data.state.level || data.state.period || data.state.origin || data.state.environment || data.state.release;
  return html`<div class="empty">${filtered ? 'No issue matches these filters.' : data.state.view === 'unresolved' ? 'No unresolved issues. Nice.' : 'Nothing in this view right now.'}</div>`;
}

function pager(data: IssueListData): Html {
  const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
  const more = data.totalIsLowerBound === true;
  const p = data.state.page;
  if (pages <= 1 && !more) return html``;
  return html`<div class="pager"><span>Page ${p} of ${fullNumber(pages)}${more ? '+' : ''}</span><span class="btns">
    ${p > 1 ? html`<a class="btn small" href="${href(data.state, { page: p - 1 })}" rel="prev">← Previous</a>` : ''}
    ${p < pages || more ? html`<a class="btn small" href="${href(data.state, { page: p + 1 })}" rel="next">Next →</a>` : ''}
  </span></div>`;
}

import type { Project, ReleaseSummary } from '../../store/model.js';
import { html, queryString, type Html } from '../html.js';
import { ago, fullNumber } from './components.js';
import { csrfField, may, page, type PageContext } from './layout.js';

export interface ReleasesPageData {
  projects: Project[];
  project: Project | null;
  releases: ReleaseSummary[];
  flash?: string;
}

/** Per release: the issues it brought, the ones that came back with it, and what is still open. */
export function releasesPage(ctx: PageContext, d: ReleasesPageData): Html {
  const picker = html`<form method="get" action="/releases" class="inline-field">
  <select name="project" aria-label="Project" data-autosubmit>${d.projects.map(
    (p) => html`<option value="${p.slug}"${p.id === d.project?.id ? html` selected` : ''}>${p.name}</option>`,
  )}</select><noscript><button class="small" type="submit">Show</button></noscript></form>`;
  const body = html`<div class="page-head"><h1>Releases</h1><span class="spacer"></span>${d.projects.length > 1 ? picker : ''}</div>
${d.flash ? html`<div class="flash" role="status">${d.flash}</div>` : ''}
${d.project ? releaseTable(ctx, d.project, d.releases) : html`<div class="section"><div class="empty">No project yet.</div></div>`}`;
  return page(ctx, { title: 'Releases', section: 'releases', body });
}

function releaseTable(ctx: PageContext, project: Project, releases: ReleaseSummary[]): Html {
  if (releases.length === 0) {
    return html`<div class="section"><div class="empty">No release seen in ${project.name} yet. Set <code>release</code> in the SDK
      (or <code>SENTRY_RELEASE</code>) and each event names the build it came from.</div></div>`;
  }
  const issues = (release: string, extra: Record<string, string> = {}) => `/issues${queryString({ project: project.slug, release, ...extra })}`;
  const rows = releases.map(
    (r) => html`<tr>
  <td><code>${r.version}</code></td>
  <td>${ago(r.firstSeen, ctx.now)}</td>
  <td class="num"><a href="${issues(r.version, { status: 'all', sort: 'first_seen' })}">${fullNumber(r.newIssues)}</a></td>
  <td class="num">${fullNumber(r.regressions)}</td>
  <td class="num"><a href="${issues(r.version)}">${fullNumber(r.openIssues)}</a></td>
  <td>${r.openIssues && may(ctx, 'member')
    ? html`<form method="post" action="/releases/resolve-next">${csrfField(ctx)}<input type="hidden" name="project" value="${project.slug}"><input type="hidden" name="release" value="${r.version}">
        <button class="small" type="submit" title="Releases seen so far won't reopen them; the first new one will">Resolve its open issues in the next release</button></form>`
    : ''}</td>
</tr>`,
  );
  return html`<div class="section"><table class="list">
  <thead><tr><th>Release</th><th>First seen</th><th class="num">New issues</th><th class="num">Regressions</th><th class="num">Open, last seen in it</th><th></th></tr></thead>
  <tbody>${rows}</tbody></table>
  <div class="faint" style="padding:8px 14px">Newest first. Regressions: issues that came back with an event of the release after they were resolved.</div></div>`;
}

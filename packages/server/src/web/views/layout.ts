import { html, type Html, type Renderable } from '../html.js';
import type { StaticUrls } from '../routes/static.js';
import { roleAtLeast, type Role } from '../../store/model.js';

export interface PageContext {
  /** The logged-in user; absent on the login page. */
  login?: string;
  /** The user's role: views show only the buttons it may use (the routes refuse the rest anyway). */
  role?: Role;
  csrfToken?: string;
  assets: StaticUrls;
  now: number;
}

export type Section = 'issues' | 'releases' | 'logs' | 'projects' | 'monitors' | 'users' | 'login';

/** Whether the page's user may do what needs `role` (a viewer may change nothing). */
export function may(ctx: Pick<PageContext, 'role'>, role: Role): boolean {
  return ctx.role !== undefined && roleAtLeast(ctx.role, role);
}

export interface PageOptions {
  title: string;
  section: Section;
  body: Renderable;
  /** Pages with the occurrence chart load uPlot; the others don't pay for it. */
  charts?: boolean;
}

export function page(ctx: PageContext, opts: PageOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}'>
<title>${opts.title} · Botpulse</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='6' fill='%234f46e5'/%3E%3C/svg%3E">
<link rel="stylesheet" href="${ctx.assets.css}">
${opts.charts ? html`<link rel="stylesheet" href="${ctx.assets.uplotCss}">` : ''}
<script src="${ctx.assets.htmx}" defer></script>
${opts.charts ? html`<script src="${ctx.assets.uplot}" defer></script>` : ''}
<script src="${ctx.assets.js}" defer></script>
</head>
<body>
${opts.section === 'login' ? opts.body : html`${topbar(ctx, opts.section)}<main>${opts.body}</main>`}
</body>
</html>`;
}

function topbar(ctx: PageContext, section: Section): Html {
  const link = (href: string, name: Section, label: string) =>
    html`<a href="${href}"${section === name ? html` aria-current="page"` : ''}>${label}</a>`;
  return html`<header class="topbar">
  <a class="brand" href="/issues"><span class="brand-dot"></span><span class="word">Botpulse</span></a>
  <nav class="nav">${link('/issues', 'issues', 'Issues')}${link('/releases', 'releases', 'Releases')}${link('/logs', 'logs', 'Logs')}${link('/projects', 'projects', 'Projects')}${link('/monitors', 'monitors', 'Monitors')}${may(ctx, 'admin') ? link('/users', 'users', 'Users & tokens') : ''}</nav>
  <div class="whoami"><span class="login-name">${ctx.login ?? ''}</span>${ctx.role && ctx.role !== 'admin' ? html` <span class="badge outline" title="${ctx.role === 'viewer' ? 'A viewer sees everything and changes nothing' : 'A member triages issues; an admin manages projects, users and monitors'}">${ctx.role}</span>` : ''}
    <form method="post" action="/logout">${csrfField(ctx)}<button class="small ghost" type="submit">Log out</button></form>
  </div>
</header>`;
}

/** The hidden synchronizer token every form of a session carries. */
export function csrfField(ctx: Pick<PageContext, 'csrfToken'>): Html {
  return html`<input type="hidden" name="_csrf" value="${ctx.csrfToken ?? ''}">`;
}

import { html, type Html } from '../html.js';
import { page, type PageContext } from './layout.js';

export function loginPage(ctx: PageContext, opts: { csrfToken: string; next: string; login?: string; error?: string }): Html {
  const body = html`<div class="login-wrap"><div class="login">
  <div class="brand"><span class="brand-dot"></span>Botpulse</div>
  <form class="panel" method="post" action="/login">
    <div class="panel-body">
      ${opts.error ? html`<div class="flash error" role="alert">${opts.error}</div>` : ''}
      <input type="hidden" name="_csrf" value="${opts.csrfToken}">
      <input type="hidden" name="next" value="${opts.next}">
      <div class="form-grid">
        <div class="field"><label for="login">Login</label>
          <input id="login" name="login" autocomplete="username" autocapitalize="none" required value="${opts.login ?? ''}" ${opts.login ? '' : 'autofocus'}></div>
        <div class="field"><label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required ${opts.login ? 'autofocus' : ''}></div>
      </div>
      <button class="primary" type="submit">Log in</button>
      <p class="faint" style="margin:0;font-size:12px">First start: user <code>admin</code>, password in <code>&lt;data dir&gt;/initial-admin-password</code>. Add users with <code>botpulse user add &lt;login&gt;</code>.</p>
    </div>
  </form>
</div></div>`;
  return page(ctx, { title: 'Log in', section: 'login', body });
}

export function errorPage(ctx: PageContext, status: number, message: string, loggedIn: boolean): Html {
  const titles: Record<number, string> = { 403: 'Refused', 404: 'Not found', 429: 'Too many attempts' };
  const body = html`<div class="panel" style="max-width:560px;margin:40px auto"><div class="panel-body">
    <h1>${titles[status] ?? 'Something went wrong'}</h1>
    <p>${message}</p>
    <p><a href="${loggedIn ? '/issues' : '/login'}">${loggedIn ? 'Back to issues' : 'Go to the login page'}</a></p>
  </div></div>`;
  return page(ctx, { title: titles[status] ?? 'Error', section: loggedIn ? 'issues' : 'login', body });
}

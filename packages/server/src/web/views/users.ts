import type { ApiTokenSummary, UserSummary } from '../../store/model.js';
import { html, type Html } from '../html.js';
import { ago } from './components.js';
import { csrfField, page, type PageContext } from './layout.js';

export interface UsersView {
  users: UserSummary[];
  tokens: ApiTokenSummary[];
  flash?: string;
  errors?: string[];
  /** A token just created: shown this once (only its hash is kept). */
  newToken?: { label: string; token: string };
}

const ROLE_HELP = 'admin: manages projects, users, tokens, alert rules and monitors · member: also triages issues (status, bulk actions) · viewer: sees everything, changes nothing';

/** Users and API tokens (admins only: the route refuses the others). */
export function usersPage(ctx: PageContext, v: UsersView): Html {
  const body = html`<div class="page-head"><h1>Users &amp; API tokens</h1></div>
${v.flash ? html`<div class="flash" role="status">${v.flash}</div>` : ''}
${v.errors?.length ? html`<div class="flash error" role="alert">${v.errors.map((e) => html`<div>${e}</div>`)}</div>` : ''}
${v.newToken ? html`<div class="flash" role="status" data-new-token><div>API token <b>${v.newToken.label}</b> — copy it now, it is not shown again:</div>
  <div class="copy-row"><code class="secret" id="new-token">${v.newToken.token}</code><button type="button" class="small" data-copy="${v.newToken.token}">Copy</button></div></div>` : ''}
<div class="section"><h2>Users</h2><div class="body">
<table class="manage" id="users"><tr><th>Login</th><th>Role</th><th>Added</th><th></th></tr>
${v.users.map((u) => userRow(ctx, u))}
</table>
<form method="post" action="/users" class="inline-form" style="margin-top:12px">${csrfField(ctx)}
  <input name="login" placeholder="login" required maxlength="64" aria-label="New user's login">
  <input name="password" type="password" placeholder="password (8+ characters)" required minlength="8" autocomplete="new-password" aria-label="New user's password">
  ${roleSelect('role', 'member')}
  <button class="primary" type="submit">Add user</button>
</form>
<p class="muted" style="margin:8px 0 0;font-size:12.5px">${ROLE_HELP}. Also <code>npx botpulse user add</code>.</p>
</div></div>
<div class="section" style="margin-top:14px"><h2>API tokens</h2><div class="body">
<table class="manage" id="tokens"><tr><th>Label</th><th>Role</th><th>Created</th><th>Last used</th><th></th></tr>
${v.tokens.map((t) => tokenRow(ctx, t))}
${v.tokens.length ? '' : html`<tr><td colspan="5" class="muted">No API tokens.</td></tr>`}
</table>
<form method="post" action="/tokens" class="inline-form" style="margin-top:12px">${csrfField(ctx)}
  <input name="label" placeholder="label (e.g. ci, grafana)" required maxlength="100" aria-label="New token's label">
  ${roleSelect('role', 'member')}
  <button class="primary" type="submit">Create token</button>
</form>
<p class="muted" style="margin:8px 0 0;font-size:12.5px">Send it as <code>Authorization: Bearer &lt;token&gt;</code> to <code>/api/v1</code> (docs/api.md). A viewer token reads only.</p>
</div></div>`;
  return page(ctx, { title: 'Users & API tokens', section: 'users', body });
}

function userRow(ctx: PageContext, u: UserSummary): Html {
  const self = u.login === ctx.login;
  return html`<tr data-user="${u.login}"><td><b>${u.login}</b>${self ? html` <span class="faint">(you)</span>` : ''}</td>
  <td><form method="post" action="/users/${u.login}/role" class="inline-form">${csrfField(ctx)}${roleSelect('role', u.role)}<button class="small" type="submit">Set role</button></form></td>
  <td class="muted">${ago(u.createdAt, ctx.now)}</td>
  <td><form method="post" action="/users/${u.login}/password" class="inline-form">${csrfField(ctx)}<input name="password" type="password" placeholder="new password" minlength="8" required autocomplete="new-password" aria-label="New password for ${u.login}"><button class="small" type="submit">Reset password</button></form>
  ${self ? '' : html`<form method="post" action="/users/${u.login}/remove" class="inline-form" data-confirm="Remove ${u.login}? They are logged out at once.">${csrfField(ctx)}<button class="small danger" type="submit">Remove</button></form>`}</td></tr>`;
}

function tokenRow(ctx: PageContext, t: ApiTokenSummary): Html {
  return html`<tr data-token="${t.id}"><td><b>${t.label}</b></td><td>${t.role}</td><td class="muted">${ago(t.createdAt, ctx.now)}</td>
  <td class="muted">${t.lastUsedAt === null ? 'never' : ago(t.lastUsedAt, ctx.now)}</td>
  <td><form method="post" action="/tokens/${String(t.id)}/revoke" class="inline-form" data-confirm="Revoke ${t.label}? Scripts using it stop working at once.">${csrfField(ctx)}<button class="small danger" type="submit">Revoke</button></form></td></tr>`;
}

function roleSelect(name: string, selected: string): Html {
  return html`<select name="${name}" aria-label="Role">${['admin', 'member', 'viewer'].map((r) => html`<option value="${r}"${r === selected ? ' selected' : ''}>${r}</option>`)}</select>`;
}

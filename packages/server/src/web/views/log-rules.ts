import type { LogRulesSpec } from '../../logs/config.js';
import type { RuleRow } from '../../logs/rule-view.js';
import type { Project } from '../../store/model.js';
import { html, type Html } from '../html.js';
import { csrfField, may, page, type PageContext } from './layout.js';
import { logTabs, ruleStates } from './logs.js';

export interface LogRulesPageData {
  projects: Project[];
  project: Project;
  /** The rules in force (defaults, BOTPULSE_LOG_RULES, the project's own). */
  spec: LogRulesSpec;
  /** The project has rules set by a person (stored), which win over the configured ones. */
  overridden: boolean;
  /** The stored rules could not be read (then the configured ones apply). */
  overrideProblem: string | null;
  rules: RuleRow[];
  /** A refused edit: what was wrong, and the values to show back. */
  error?: { message: string; form: string; values: Record<string, string> };
  flash?: string;
}

/**
 * The rule editor (docs/logs.md "Changing the rules"): one form per rule, each change stored as
 * the project's own rules. A viewer sees the rules and their states, without forms.
 */
export function logRulesPage(ctx: PageContext, d: LogRulesPageData): Html {
  const editable = may(ctx, 'member');
  const body = html`<div class="page-head"><h1>Logs</h1><span class="spacer"></span>${projectPicker(d)}</div>
${logTabs(d.project, 'rules')}
${d.flash ? html`<div class="flash" role="status">${d.flash}</div>` : ''}
${d.error ? html`<div class="flash error" role="alert" data-rule-error>${d.error.message}</div>` : ''}
${d.overrideProblem ? html`<div class="flash error" role="alert">The rules stored for this project cannot be read (${d.overrideProblem}); the configured rules apply. Saving a change replaces them.</div>` : ''}
<div class="section"><div class="body faint" style="padding-top:12px">
  Patterns match a line's message after scrubbing, in RE2 syntax (<code>(?i)</code> for any case; no backreferences, no lookaround).
  ${d.overridden ? 'This project has rules set here: they win over BOTPULSE_LOG_RULES and the defaults.' : 'This project runs the configured rules (BOTPULSE_LOG_RULES, else seed 002\'s defaults); a change here is stored for the project and wins over them.'}
  ${editable && d.overridden ? html`<form method="post" action="/logs/rules/reset" class="inline-form" data-confirm="Drop this project's own log rules and go back to the configured ones?">${csrfField(ctx)}${projectField(d)}<button class="small" type="submit">Back to the configured rules</button></form>` : ''}
  ${editable ? html`<form method="post" action="/logs/rules/enabled" class="inline-form">${csrfField(ctx)}${projectField(d)}<input type="hidden" name="enabled" value="${d.spec.enabled ? '0' : '1'}"><button class="small" type="submit">${d.spec.enabled ? 'Turn log rules off' : 'Turn log rules on'}</button></form>` : ''}
</div></div>
${d.spec.enabled ? html`${forbiddenSection(ctx, d, editable)}${rateSection(ctx, d, editable)}${errorRateSection(ctx, d, editable)}` : html`<div class="section"><div class="empty">Log rules are off for this project: its lines are stored, nothing is matched.</div></div>`}
${ruleStates(ctx, d.project, d.rules, { editLink: false })}`;
  return page(ctx, { title: 'Log rules', section: 'logs', body });
}

function projectPicker(d: LogRulesPageData): Html {
  if (d.projects.length < 2) return html``;
  return html`<form method="get" action="/logs/rules" class="inline-field"><select name="project" aria-label="Project" data-autosubmit>${d.projects.map((p) => html`<option value="${p.slug}"${p.id === d.project.id ? html` selected` : ''}>${p.name}</option>`)}</select><noscript><button class="small" type="submit">Show</button></noscript></form>`;
}

function projectField(d: LogRulesPageData): Html {
  return html`<input type="hidden" name="project" value="${d.project.slug}">`;
}

/** The value a refused form had, else the rule's own. */
function shown(d: LogRulesPageData, form: string, field: string, fallback: string): string {
  return d.error?.form === form ? (d.error.values[field] ?? fallback) : fallback;
}

function forbiddenSection(ctx: PageContext, d: LogRulesPageData, editable: boolean): Html {
  const rows = d.spec.forbidden.map((pattern, i) => {
    const form = `forbidden-${i}`;
    return html`<tr><td>${editable
      ? html`<form method="post" action="/logs/rules/forbidden">${csrfField(ctx)}${projectField(d)}<input type="hidden" name="action" value="edit"><input type="hidden" name="from" value="${pattern}"><input type="hidden" name="form" value="${form}">
        <input name="pattern" value="${shown(d, form, 'pattern', pattern)}" aria-label="Forbidden pattern ${String(i + 1)}" required maxlength="500"><button class="small" type="submit">Save</button></form>`
      : html`<code>${pattern}</code>`}</td>
      <td>${editable ? deleteForm(ctx, d, '/logs/rules/forbidden', pattern) : ''}</td></tr>`;
  });
  return html`<div class="section rule-editor" data-rules="forbidden"><h2>Forbidden patterns</h2>
  <div class="body faint">The first matching line alerts at <b>critical</b> at once (repeated until acknowledged) and becomes an issue grouped by the pattern.</div>
  <table class="list"><tbody>${rows.length ? rows : html`<tr><td class="faint">None.</td><td></td></tr>`}</tbody></table>
  ${editable ? html`<div class="body"><form method="post" action="/logs/rules/forbidden">${csrfField(ctx)}${projectField(d)}<input type="hidden" name="action" value="add"><input type="hidden" name="form" value="forbidden-add">
    <input name="pattern" value="${shown(d, 'forbidden-add', 'pattern', '')}" placeholder="e.g. (?i)deadlock detected" aria-label="New forbidden pattern" required maxlength="500"><button class="small primary" type="submit">Add forbidden pattern</button></form></div>` : ''}
</div>`;
}

function rateSection(ctx: PageContext, d: LogRulesPageData, editable: boolean): Html {
  const fields = (form: string, r: { pattern: string; count: number; windowSeconds: number }, label: string) => html`
    <input name="pattern" value="${shown(d, form, 'pattern', r.pattern)}" aria-label="${label} pattern" required maxlength="500">
    at most <input name="count" type="number" min="1" step="1" value="${shown(d, form, 'count', String(r.count))}" aria-label="${label} count" style="width:6em">
    per <input name="window_seconds" type="number" min="1" max="86400" value="${shown(d, form, 'window_seconds', String(r.windowSeconds))}" aria-label="${label} window (seconds)" style="width:7em"> s`;
  const rows = d.spec.rateLimited.map((r, i) => {
    const form = `rate-${i}`;
    return html`<tr><td>${editable
      ? html`<form method="post" action="/logs/rules/rate-limited">${csrfField(ctx)}${projectField(d)}<input type="hidden" name="action" value="edit"><input type="hidden" name="from" value="${r.pattern}"><input type="hidden" name="form" value="${form}">${fields(form, r, `Rate-limited ${i + 1}`)}<button class="small" type="submit">Save</button></form>`
      : html`<code>${r.pattern}</code>: at most ${String(r.count)} per ${String(r.windowSeconds)} s`}</td>
      <td>${editable ? deleteForm(ctx, d, '/logs/rules/rate-limited', r.pattern) : ''}</td></tr>`;
  });
  return html`<div class="section rule-editor" data-rules="rate-limited"><h2>Rate-limited patterns</h2>
  <div class="body faint">Above the rate, one alert with the rate seen and allowed; one “back to normal” when it calms down.</div>
  <table class="list"><tbody>${rows.length ? rows : html`<tr><td class="faint">None.</td><td></td></tr>`}</tbody></table>
  ${editable ? html`<div class="body"><form method="post" action="/logs/rules/rate-limited">${csrfField(ctx)}${projectField(d)}<input type="hidden" name="action" value="add"><input type="hidden" name="form" value="rate-add">${fields('rate-add', { pattern: '', count: 1, windowSeconds: 30 }, 'New rate-limited')}<button class="small primary" type="submit">Add rate-limited pattern</button></form></div>` : ''}
</div>`;
}

function errorRateSection(ctx: PageContext, d: LogRulesPageData, editable: boolean): Html {
  const e = d.spec.errorRate;
  const form = 'error-rate';
  const state = e ? html`more than <b>${String(e.count)}</b> ERROR/CRITICAL lines in <b>${String(e.windowMinutes)}</b> minutes notifies` : html`off`;
  return html`<div class="section rule-editor" data-rules="error-rate"><h2>Error rate</h2>
  <div class="body">${state}
  ${editable ? html`<div style="margin-top:8px"><form method="post" action="/logs/rules/error-rate">${csrfField(ctx)}${projectField(d)}<input type="hidden" name="action" value="save"><input type="hidden" name="form" value="${form}">
    more than <input name="count" type="number" min="0" step="1" value="${shown(d, form, 'count', String(e?.count ?? 10))}" aria-label="Error rate count" style="width:6em">
    in <input name="window_minutes" type="number" min="1" max="1440" value="${shown(d, form, 'window_minutes', String(e?.windowMinutes ?? 10))}" aria-label="Error rate window (minutes)" style="width:6em"> min
    <button class="small" type="submit">${e ? 'Save' : 'Turn on'}</button></form>
    ${e ? html`<form method="post" action="/logs/rules/error-rate">${csrfField(ctx)}${projectField(d)}<input type="hidden" name="action" value="off"><button class="small" type="submit">Turn off</button></form>` : ''}</div>` : ''}
  </div></div>`;
}

function deleteForm(ctx: PageContext, d: LogRulesPageData, action: string, pattern: string): Html {
  return html`<form method="post" action="${action}" data-confirm="Delete the rule “${pattern}”?">${csrfField(ctx)}${projectField(d)}<input type="hidden" name="action" value="delete"><input type="hidden" name="pattern" value="${pattern}"><button class="small" type="submit">Delete</button></form>`;
}

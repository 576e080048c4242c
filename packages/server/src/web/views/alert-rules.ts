import type { ProjectRules } from '../../alerts/config.js';
import type { Silence } from '../../store/alerts.js';
import type { Project } from '../../store/model.js';
import { html, type Html } from '../html.js';
import { ago } from './components.js';
import { csrfField, may, page, type PageContext } from './layout.js';

export interface AlertRulesView {
  project: Project;
  enabled: boolean;
  effective: ProjectRules | null;
  /** The project's stored override (what this page edits). */
  override: Record<string, unknown>;
  overrideProblem: string | null;
  silences: Silence[];
  flash?: string;
  errors?: string[];
  /** The values sent, shown again after a refusal. */
  form?: Record<string, string>;
}

/** The override keys this page edits (alerts/config.ts rulesOverrideSchema), with their words. */
export const RULE_FIELDS: { key: string; label: string; kind: 'tier' | 'text' | 'number' | 'boolean'; hint: string }[] = [
  { key: 'newIssue', label: 'New issue', kind: 'tier', hint: 'the first event of an issue' },
  { key: 'regression', label: 'Regression', kind: 'tier', hint: 'a resolved issue recurs' },
  { key: 'unignored', label: 'Un-ignored', kind: 'tier', hint: "an ignored issue's condition ended" },
  { key: 'level', label: 'Level threshold', kind: 'text', hint: 'debug, info, warning, error, critical or off' },
  { key: 'levelTier', label: 'Level tier', kind: 'tier', hint: 'for events at or above the threshold' },
  { key: 'frequency', label: 'Frequency (per issue)', kind: 'text', hint: 'e.g. 10/10m: more than 10 events in 10 minutes; off' },
  { key: 'frequencyTier', label: 'Frequency tier', kind: 'tier', hint: '' },
  { key: 'projectFrequency', label: 'Frequency (whole project)', kind: 'text', hint: 'e.g. 100/5m; off' },
  { key: 'projectFrequencyTier', label: 'Project frequency tier', kind: 'tier', hint: '' },
  { key: 'cooldownSeconds', label: 'Cooldown (s)', kind: 'number', hint: 'repeats of one issue wait this long (0–86400)' },
  { key: 'silent', label: 'Silent messages', kind: 'boolean', hint: 'Telegram notifications without sound' },
];

export function alertRulesPage(ctx: PageContext, v: AlertRulesView): Html {
  const admin = may(ctx, 'admin');
  const body = html`<div class="crumbs"><a href="/projects">Projects</a><span>/</span><a href="/projects/${v.project.slug}">${v.project.name}</a><span>/</span><span>Alert rules</span></div>
<div class="page-head"><h1>Alert rules · ${v.project.name}</h1></div>
${v.flash ? html`<div class="flash" role="status">${v.flash}</div>` : ''}
${v.errors?.length ? html`<div class="flash error" role="alert">${v.errors.map((e) => html`<div>${e}</div>`)}</div>` : ''}
${v.overrideProblem ? html`<div class="flash error" role="alert">The stored rules are ignored: ${v.overrideProblem}. Saving this form replaces them.</div>` : ''}
${v.enabled ? '' : html`<div class="flash error" role="alert">Alerting is not running in this server: the rules are shown as stored.</div>`}
<div class="grid-2">
<div class="section"><h2>Rules</h2><div class="body">
${admin ? html`<form method="post" action="/projects/${v.project.slug}/alerts" class="form-grid" id="rules-form">${csrfField(ctx)}` : html`<form class="form-grid" id="rules-form" aria-readonly="true">`}
<table class="manage"><tr><th>Rule</th><th>This project</th><th>In effect</th></tr>
${RULE_FIELDS.map((f) => ruleRow(v, f, admin))}
</table>
${admin ? html`<div><button class="primary" type="submit">Save rules</button> <span class="muted" style="font-size:12px">Empty: the configured value (<code>BOTPULSE_ALERT_RULES</code>, the defaults) applies.</span></div>` : html`<p class="muted" style="margin:0;font-size:12.5px">Only an admin changes the rules.</p>`}
</form></div></div>
<div class="section"><h2>Silences</h2><div class="body">
<table class="manage" id="silences"><tr><th>Until</th><th>Scope</th><th>Reason</th><th></th></tr>
${v.silences.map((s) => html`<tr data-silence="${String(s.id)}"><td>${new Date(s.endsAt).toISOString().replace('T', ' ').slice(0, 16)} UTC</td><td>${s.projectId === null ? 'every project' : s.issueId !== null ? `issue ${s.issueId}` : 'this project'}</td><td class="muted">${s.reason ?? ''} <span class="faint">(${s.createdBy}, ${ago(s.createdAt, ctx.now)})</span></td>
  <td>${admin ? html`<form method="post" action="/projects/${v.project.slug}/silences/${String(s.id)}/remove" class="inline-form">${csrfField(ctx)}<button class="small" type="submit">End</button></form>` : ''}</td></tr>`)}
${v.silences.length ? '' : html`<tr><td colspan="4" class="muted">No silence: alerts go out.</td></tr>`}
</table>
${admin ? html`<form method="post" action="/projects/${v.project.slug}/silences" class="inline-form" style="margin-top:12px">${csrfField(ctx)}
  <input name="duration" placeholder="2h" required style="width:80px" aria-label="Silence for">
  <input name="reason" placeholder="reason (optional)" maxlength="500" aria-label="Reason">
  <button type="submit">Silence this project</button></form>` : ''}
</div></div>
</div>`;
  return page(ctx, { title: `Alert rules · ${v.project.name}`, section: 'projects', body });
}

function ruleRow(v: AlertRulesView, f: (typeof RULE_FIELDS)[number], admin: boolean): Html {
  const stored = v.override[f.key];
  const value = v.form?.[f.key] ?? (stored === undefined ? '' : String(stored));
  const input =
    f.kind === 'tier' || f.kind === 'boolean'
      ? html`<select name="${f.key}" aria-label="${f.label}"${admin ? '' : ' disabled'}>${['', ...(f.kind === 'tier' ? ['warning', 'alert', 'critical', 'off'] : ['true', 'false'])].map((o) => html`<option value="${o}"${o === value ? ' selected' : ''}>${o || '(configured)'}</option>`)}</select>`
      : html`<input name="${f.key}" value="${value}" aria-label="${f.label}" placeholder="(configured)"${admin ? '' : ' readonly'} style="width:130px">`;
  return html`<tr><td>${f.label}${f.hint ? html`<div class="faint" style="font-size:11.5px">${f.hint}</div>` : ''}</td><td>${input}</td><td class="muted">${effectiveOf(v.effective, f.key)}</td></tr>`;
}

function effectiveOf(r: ProjectRules | null, key: string): string {
  if (!r) return '';
  const freq = (f: { count: number; windowMs: number }) => (f.count > 0 ? `${f.count}/${Math.round(f.windowMs / 60_000)}m` : 'off');
  switch (key) {
    case 'newIssue': return r.newIssue;
    case 'regression': return r.regression;
    case 'unignored': return r.unignored;
    case 'level': return r.level.threshold === 'fatal' ? 'critical' : r.level.threshold;
    case 'levelTier': return r.level.tier;
    case 'frequency': return freq(r.frequency);
    case 'frequencyTier': return r.frequency.tier;
    case 'projectFrequency': return freq(r.projectFrequency);
    case 'projectFrequencyTier': return r.projectFrequency.tier;
    case 'cooldownSeconds': return String(Math.round(r.cooldownMs / 1000));
    case 'silent': return String(r.silent);
    default: return '';
  }
}

import type { OperationPercentiles } from '../../logs/latency.js';
import type { LatencyPoint, PresentedMonitor } from '../../monitors/routes.js';
import type { AlertTarget } from '../../store/alerts.js';
import type { BotSignalsState, Flip, MonitorStatus, Notification, Refusal, SignalRuleState } from '../../store/monitors.js';
import type { Project } from '../../store/model.js';
import { html, jsonForScript, raw, type Html } from '../html.js';
import { absoluteTime, ago } from './components.js';
import { csrfField, may, page, type PageContext } from './layout.js';
import { alertState, alertSubject, deliveryBadge, probeRow, showsLockRow, uptimeRows, type ShownAlert } from './monitor-uptime.js';

export interface MonitorRow {
  monitor: PresentedMonitor;
  flips: Flip[];
}

export interface BotSection {
  project: Project;
  monitors: MonitorRow[];
  /** p50/p95/p99 per step over the last hours (empty: no transactions). */
  latency: LatencyPoint[];
  /** Per operation, from log lines with `operation` + `duration_ms`, over the same hours (absent or empty: none). */
  operations?: OperationPercentiles[];
  notifications: Notification[];
  /** Issue alerts with their issues' short ids and, once sent, their delivery. */
  alertLog: ShownAlert[];
  /** Check-ins the monitors refused, per reason (limit reached, no usable slug, impossible schedule). */
  refusals: Refusal[];
}

export interface MonitorsPageData {
  /** False when the server runs without monitors (the page then says so). */
  enabled: boolean;
  /** The monitors' clock (tests compress time): relative times are measured from it. */
  now: number;
  bots: BotSection[];
  targets: AlertTarget[];
  /** Alert outbox rows parked after failing in Botpulse itself (alerts/outbox.ts): never sent. */
  parkedAlerts?: { count: number; exampleReason: string | null };
  latencyHours: number;
  latencyStepMinutes: number;
  /** BOTPULSE_CHECKIN_MONITOR_LIMIT, named next to refused check-ins. */
  checkInMonitorLimit: number;
  flash?: string;
}

const STATUS_LABEL: Record<MonitorStatus, string> = { new: 'New', up: 'Up', late: 'Late', down: 'Down', paused: 'Paused' };

export function monitorStatusBadge(status: MonitorStatus): Html {
  return html`<span class="badge mon-${status}" data-status="${status}"><span class="dot"></span>${STATUS_LABEL[status] ?? status}</span>`;
}

/** Every bot: its monitors (heartbeat, lock, uptime), latency percentiles, downtime history and recent alerts. */
export function monitorsPage(ctx: PageContext, d: MonitorsPageData): Html {
  const all = d.bots.flatMap((b) => b.monitors.map((r) => r.monitor));
  const count = (s: MonitorStatus) => all.filter((m) => m.status === s).length;
  const disabled = d.targets.filter((t) => t.disabledAt !== null);
  const body = html`<div class="page-head"><h1>Monitors</h1>
  <span class="mon-counts">${(['up', 'late', 'down', 'new', 'paused'] as const).map((s) => (count(s) ? html`${monitorStatusBadge(s)}<span class="num">${count(s)}</span> ` : ''))}</span>
  <span class="spacer"></span><a class="btn small" href="/monitors">Refresh</a></div>
${!d.enabled ? html`<div class="flash error" role="status">Monitors are not running in this server.</div>` : ''}
${d.flash ? html`<div class="flash" role="status">${d.flash}</div>` : ''}
${disabled.map((t) => html`<div class="flash error" role="alert">Alert target ${t.channel} <code>${t.target}</code> is disabled${t.disabledAt ? html` since ${ago(t.disabledAt, ctx.now)}` : ''}: ${t.disabledReason ?? 'no reason recorded'}. Run <code>botpulse test-alert</code> to re-enable it.</div>`)}
${d.parkedAlerts?.count ? html`<div class="flash error" role="alert">${d.parkedAlerts.count} alert${d.parkedAlerts.count === 1 ? '' : 's'} could not be built or sent because of an error in Botpulse and ${d.parkedAlerts.count === 1 ? 'was' : 'were'} set aside (parked)${d.parkedAlerts.exampleReason ? html`, e.g. <code>${d.parkedAlerts.exampleReason}</code>` : ''}. The alerts behind ${d.parkedAlerts.count === 1 ? 'it' : 'them'} were delivered; <code>GET /api/v1/alerts</code> lists them.</div>` : ''}
${d.bots.length ? d.bots.map((b) => botSection(ctx, d, b)) : html`<div class="section"><div class="empty">No projects yet.</div></div>`}`;
  return page(ctx, { title: 'Monitors', section: 'monitors', body, charts: d.bots.some((b) => b.latency.length > 0) });
}

function botSection(ctx: PageContext, d: MonitorsPageData, b: BotSection): Html {
  const id = `bot-${b.project.id}`;
  return html`<section class="section bot" id="${id}">
  <h2>${b.project.name} <span class="faint mono">${b.project.slug}</span></h2>
  <div class="body">
  ${b.refusals.map((r) => refusalNotice(d, r))}
  ${b.monitors.length
    ? html`<div class="monitors">${b.monitors.map((r) => monitorCard(ctx, d.now, r))}</div>`
    : html`<div class="empty small-empty">No monitors yet. Ping <code>/api/${b.project.id}/heartbeat/&lt;slug&gt;?sentry_key=…</code>, send Sentry check-ins, ${may(ctx, 'admin') ? 'add one below' : 'or ask an admin to add one'}.</div>`}
  ${d.enabled && may(ctx, 'admin') ? createForm(ctx, b.project) : ''}
  <div class="grid-2 bot-lower">
    <div class="sub-section"><h3>Latency <span class="faint">p50 / p95 / p99, last ${d.latencyHours} h</span></h3>${latencyChart(id, b.latency, d.latencyStepMinutes)}${operationTable(b.operations ?? [])}</div>
    <div class="sub-section"><h3>Recent alerts</h3>${recentAlerts(d.now, b)}</div>
  </div>
  </div>
</section>`;
}

function monitorCard(ctx: PageContext, now: number, r: MonitorRow): Html {
  const m = r.monitor;
  const deaf = (m.downReason ?? '').startsWith('deaf') || (m.status !== 'down' && /getUpdates/.test(m.lastReason ?? ''));
  const every = m.schedule ? html`cron <code>${m.schedule}</code>${m.timezone ? html` ${m.timezone}` : ''}` : html`every ${duration(m.periodSeconds)}`;
  return html`<article class="monitor mon-${m.status}" id="monitor-${m.id}" data-monitor="${m.slug}">
  <div class="monitor-head">${monitorStatusBadge(m.status)} <strong class="mono">${m.slug}</strong> <span class="badge outline">${m.kind}</span>
    ${deaf ? html`<span class="badge mon-down" title="getUpdates is not succeeding: the process runs but hears nothing">deaf</span>` : ''}
    ${m.conflictSince ? html`<span class="badge mon-late" title="409 Conflict streak">409 since ${ago(m.conflictSince, now)}</span>` : ''}
    ${m.signalsFiring.map((s) => html`<span class="badge mon-down" data-signal-firing="${s}" title="a bot signal alert is firing">${SIGNAL_BADGE[s.split(' ')[0]!] ?? s}${s.includes(' ') ? s.slice(s.indexOf(' ')) : ''}</span> `)}
  </div>
  <table class="kv">
    <tr><th>Last ping</th><td>${m.lastPingAt ? ago(m.lastPingAt, now) : html`<span class="faint">never</span>`}${m.lastOkAt && m.lastOkAt !== m.lastPingAt ? html` · last ok ${ago(m.lastOkAt, now)}` : ''}</td></tr>
    ${uptimeRows(m)}
    <tr><th>Expected</th><td>${every}, grace ${duration(m.graceSeconds)}${m.nextDeadline && (m.status === 'up' || m.status === 'late') ? html` · next deadline ${absoluteTime(m.nextDeadline)}` : ''}</td></tr>
    ${m.status === 'down' && m.downSince ? html`<tr><th>Down</th><td>since ${ago(m.downSince, now)}${m.downReason ? html`: ${m.downReason}` : ''}${m.alertSent ? html` <span class="faint">(alert sent)</span>` : ''}</td></tr>` : ''}
    ${m.lastReason && m.status !== 'down' ? html`<tr><th>Last failure</th><td>${m.lastReason}</td></tr>` : ''}
    ${showsLockRow(m) ? html`<tr><th>Lock holder</th><td>${lockText(m)}</td></tr>` : ''}
    ${m.kind === 'heartbeat' && m.lastGetUpdatesOkAt ? html`<tr><th>getUpdates ok</th><td>${agoIso(m.lastGetUpdatesOkAt, now)}</td></tr>` : ''}
    ${m.kind === 'heartbeat' ? html`<tr><th>409 conflicts</th><td class="num">${m.conflictsTotal}</td></tr>` : ''}
    ${m.kind === 'uptime' ? html`<tr><th>Probe</th><td>${m.url ?? ''}</td></tr>` : ''}
    ${probeRow(m)}
    ${m.gauges && Object.keys(m.gauges).length ? html`<tr><th>Gauges</th><td>${Object.entries(m.gauges).slice(0, 12).map(([k, v]) => html`<span class="gauge">${k} <b class="num">${v}</b></span> `)}</td></tr>` : ''}
    ${m.kind === 'heartbeat' && m.signals ? signalRows(now, m) : ''}
    ${m.setByHand.length ? html`<tr><th>Set by hand</th><td>${m.setByHand.join(', ')} <span class="faint">(check-ins' monitor_config leaves these alone)</span></td></tr>` : ''}
  </table>
  ${environmentTable(now, m)}
  ${may(ctx, 'admin') ? html`${editForm(ctx, m)}${monitorActions(ctx, m)}` : ''}
  ${flipList(now, r.flips, m.environments.length > 1)}
</article>`;
}

/**
 * Each environment's own state (Sentry: one monitor, a state per environment), shown when the
 * monitor has several environments or one that is not `production`: each goes down and recovers
 * on its own; the card's badge is the worst of them.
 */
function environmentTable(now: number, m: PresentedMonitor): Html {
  const named = m.environments.filter((e) => e.environment !== null);
  // One environment under Sentry's default name says nothing the card does not already say.
  if (named.length === 0 || (m.environments.length === 1 && named[0]!.environment === 'production')) return html``;
  return html`<table class="crumbs-table environments" data-environments="${m.slug}"><tr><th>Environment</th><th>State</th><th>Last ping</th><th></th></tr>${m.environments.map(
    (e) => html`<tr data-environment="${e.environment ?? ''}"><td class="mono">${e.environment ?? html`<span class="faint">not tied to one yet</span>`}</td><td>${monitorStatusBadge(e.status)}</td><td class="time">${e.lastPingAt ? ago(e.lastPingAt, now) : html`<span class="faint">never</span>`}</td><td class="msg">${e.status === 'down' ? (e.downReason ?? '') : (e.lastReason ?? '')}</td></tr>`,
  )}</table>`;
}

/** The person's edit: every value shown; what is changed becomes "set by hand" (check-ins stop changing it). */
function editForm(ctx: PageContext, m: PresentedMonitor): Html {
  if (m.source === 'config') return html`<p class="faint small-empty">Declared in BOTPULSE_MONITORS: edit it in the configuration.</p>`;
  return html`<details class="edit-monitor"><summary>Edit settings</summary>
  <form method="post" action="/monitors/${m.id}/settings" class="form-grid">${csrfField(ctx)}
    <label>Period (s) <input name="periodSeconds" inputmode="decimal" value="${m.periodSeconds}"></label>
    <label>Grace (s) <input name="graceSeconds" inputmode="decimal" value="${m.graceSeconds}"></label>
    <label>Cron schedule <input name="schedule" value="${m.schedule ?? ''}" placeholder="e.g. 0 3 * * * or @daily"></label>
    <label>Time zone <input name="timezone" value="${m.timezone ?? ''}" placeholder="UTC"></label>
    <label>Failures before down <input name="failureThreshold" inputmode="numeric" value="${m.failureThreshold}"></label>
    <label>Successes before up <input name="recoveryThreshold" inputmode="numeric" value="${m.recoveryThreshold}"></label>
    <label>Update lag limit (s, 0 = off) <input name="updateLagSeconds" inputmode="decimal" value="${m.updateLagSeconds ?? ''}" placeholder="${m.signalRules.updateLag ? String(m.signalRules.updateLag.seconds) : 'off'} (server default)"></label>
    <label>Update lag for (min) <input name="updateLagMinutes" inputmode="decimal" value="${m.updateLagMinutes ?? ''}" placeholder="${m.signalRules.updateLag ? String(m.signalRules.updateLag.minutes) : ''} (server default)"></label>
    <div class="form-actions"><button class="small" type="submit">Save</button>
    ${m.setByHand.length ? html`<button class="small ghost" type="submit" name="giveBack" value="1" title="The SDK's monitor_config decides these settings again">Give back to check-ins</button>` : ''}</div>
  </form></details>`;
}

/** Pause or resume every environment; delete (a monitor from the configuration file is removed there). */
function monitorActions(ctx: PageContext, m: PresentedMonitor): Html {
  const paused = m.status === 'paused';
  return html`<div class="inline-form monitor-actions" style="margin-top:6px">
  <form method="post" action="/monitors/${m.id}/pause" class="inline-form">${csrfField(ctx)}<input type="hidden" name="paused" value="${paused ? '0' : '1'}"><button class="small" type="submit">${paused ? 'Resume' : 'Pause'}</button></form>
  ${m.source === 'config' ? '' : html`<form method="post" action="/monitors/${m.id}/delete" class="inline-form" data-confirm="Delete the monitor ${m.slug} and its history? A check-in with this slug creates it again.">${csrfField(ctx)}<button class="small danger" type="submit">Delete</button></form>`}
</div>`;
}

/** A new monitor of a bot: a heartbeat (pings or check-ins expected) or an uptime probe of a URL. */
function createForm(ctx: PageContext, project: Project): Html {
  return html`<details class="new-monitor" style="margin:10px 0"><summary>New monitor</summary>
  <form method="post" action="/monitors" class="form-grid" style="margin-top:8px">${csrfField(ctx)}<input type="hidden" name="project" value="${project.slug}">
    <label>Slug <input name="slug" required maxlength="100" placeholder="e.g. nightly-report"></label>
    <label>Kind <select name="kind"><option value="heartbeat">heartbeat (expects pings)</option><option value="uptime">uptime (probes a URL)</option></select></label>
    <label>Period (s) <input name="periodSeconds" inputmode="decimal" placeholder="server default"></label>
    <label>Grace (s) <input name="graceSeconds" inputmode="decimal" placeholder="server default"></label>
    <label>Cron schedule <input name="schedule" placeholder="e.g. 0 3 * * * (instead of a period)"></label>
    <label>Time zone <input name="timezone" placeholder="UTC"></label>
    <label>Failures before down <input name="failureThreshold" inputmode="numeric" placeholder="1 (probes: server default)"></label>
    <label>URL (uptime) <input name="url" placeholder="https://bot.example.com/health"></label>
    <div class="form-actions"><button class="small primary" type="submit">Create monitor</button></div>
  </form></details>`;
}

const REFUSAL_TEXT: Record<Refusal['reason'], (d: MonitorsPageData, r: Refusal) => Html> = {
  limit: (d, r) => html`${r.count} check-in${r.count === 1 ? '' : 's'} for unknown monitors refused: limit ${d.checkInMonitorLimit} reached`,
  slug: (_d, r) => html`${r.count} check-in${r.count === 1 ? '' : 's'} refused: no usable monitor slug`,
  schedule: (_d, r) => html`${r.count} check-in monitor_config${r.count === 1 ? '' : 's'} refused: impossible or unreadable schedule`,
};

function refusalNotice(d: MonitorsPageData, r: Refusal): Html {
  return html`<div class="flash error" role="status" data-refused="${r.reason}">${REFUSAL_TEXT[r.reason](d, r)} <span class="faint">(last ${ago(r.lastAt, d.now)}${r.lastSlug ? html`, <code>${r.lastSlug}</code>` : ''}: ${r.lastDetail ?? ''})</span></div>`;
}

function lockText(m: PresentedMonitor): Html {
  const lock = m.lock as Record<string, unknown> | null;
  if (!lock) return html``;
  if (typeof lock['error'] === 'string') return html`<span class="faint">${lock['error']}</span>`;
  if (lock['free'] === true || (lock['holder'] === null && 'holder' in lock)) return html`<span class="faint">free (key ${String(lock['key'] ?? '')})</span>`;
  const host = String(lock['host'] ?? '?');
  const pid = String(lock['pid'] ?? '?');
  const env = typeof lock['env'] === 'string' && lock['env'] ? lock['env'] : null;
  const since = typeof lock['ts'] === 'string' && lock['ts'] ? lock['ts'] : null;
  const via = lock['source'] === 'redis' ? `Redis ${String(lock['key'] ?? '')}` : 'from check-ins';
  return html`host <b>${host}</b> pid <b>${pid}</b>${env ? html` · ${env}` : ''}${since ? html` · since ${absoluteTime(Date.parse(since))}` : ''} <span class="faint">(${via})</span>`;
}

/** The downtime history; each change names its environment when the monitor has several. */
function flipList(now: number, flips: Flip[], nameEnvironments: boolean): Html {
  if (!flips.length) return html``;
  return html`<details class="flips"><summary>Downtime history <span class="faint">(${flips.length} change${flips.length === 1 ? '' : 's'})</span></summary>
  <table class="crumbs-table">${flips.map(
    (f) => html`<tr><td class="time">${ago(f.at, now)}</td><td class="cat">${monitorStatusBadge(f.from)} → ${monitorStatusBadge(f.to)}</td><td class="msg">${nameEnvironments && f.environment ? html`<span class="mono">${f.environment}</span>: ` : ''}${f.reason ?? ''}</td></tr>`,
  )}</table></details>`;
}

function recentAlerts(now: number, b: BotSection): Html {
  type Row = { at: number; key: string; what: Html; state: string; times: number };
  const all: Row[] = [
    ...b.notifications.map((n) => ({ at: n.createdAt, key: `n:${n.id}`, what: html`<span class="mono">${String(n.payload['monitor'] ?? '')}</span> ${n.kind.replaceAll('_', ' ')}`, state: n.status, times: 1 })),
    ...b.alertLog.map((e) => ({ at: e.at, key: `${e.fingerprint}:${e.reasons.join()}:${alertState(e)}`, what: html`${alertSubject(e)} ${e.reasons.join(', ')} <span class="faint">(${e.tier})</span>`, state: alertState(e), times: 1 })),
  ].sort((x, y) => y.at - x.at);
  // Repeats of one alert (same issue, reasons and outcome) share a row with a count.
  const rows: Row[] = [];
  for (const r of all) {
    const same = rows.find((x) => x.key === r.key);
    if (same) same.times += 1;
    else rows.push({ ...r });
  }
  if (!rows.length) return html`<div class="faint small-empty">No alerts yet.</div>`;
  return html`<table class="crumbs-table alerts">${rows.slice(0, 8).map(
    (r) => html`<tr><td class="time">${ago(r.at, now)}</td><td class="msg">${r.what}${r.times > 1 ? html` <span class="faint">×${r.times}</span>` : ''}</td><td class="cat">${deliveryBadge(r.state)}</td></tr>`,
  )}</table>`;
}

/** Server-drawn lines (uPlot replaces them when scripts run). */
/** Percentiles per operation from log lines (logs/latency.ts), next to the transactions' chart. */
function operationTable(ops: OperationPercentiles[]): Html {
  if (!ops.length) return html``;
  const ms = (v: number | null) => (v === null ? '—' : v >= 100 ? String(Math.round(v)) : v.toFixed(1));
  return html`<table class="list operations" aria-label="Latency per operation (log lines)">
  <thead><tr><th>Operation <span class="faint">(log lines)</span></th><th class="num">n</th><th class="num">p50 ms</th><th class="num">p95 ms</th><th class="num">p99 ms</th></tr></thead>
  <tbody>${ops.map((o) => html`<tr><td><code>${o.operation}</code></td><td class="num">${String(o.count)}</td><td class="num">${ms(o.p50)}</td><td class="num">${ms(o.p95)}</td><td class="num">${ms(o.p99)}</td></tr>`)}</tbody></table>`;
}

function latencyChart(id: string, points: LatencyPoint[], stepMinutes: number): Html {
  if (!points.length) return html`<div class="faint small-empty">No transactions yet (the SDK's performance tracing feeds this).</div>`;
  const width = 600;
  const height = 110;
  const max = Math.max(1, ...points.flatMap((p) => [p.p99 ?? 0, p.p95 ?? 0]));
  const t0 = points[0]!.at;
  const span = Math.max(1, points[points.length - 1]!.at - t0);
  const line = (key: 'p50' | 'p95' | 'p99') =>
    points
      .filter((p) => p[key] !== null)
      .map((p) => `${(((p.at - t0) / span) * width).toFixed(1)},${(height - 4 - ((p[key] ?? 0) / max) * (height - 12)).toFixed(1)}`)
      .join(' ');
  const last = points[points.length - 1]!;
  const svg = `<svg viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="latency, max ${Math.round(max)} ms"><line x1="0" y1="${height - 4}" x2="${width}" y2="${height - 4}"/>`
    + `<polyline class="p99" points="${line('p99')}"/><polyline class="p95" points="${line('p95')}"/><polyline class="p50" points="${line('p50')}"/></svg>`;
  return html`<div class="latency" data-latency="${id}-latency">${raw(svg)}</div>
  <script type="application/json" id="${id}-latency">${jsonForScript({ step: stepMinutes * 60_000, points: points.map((p) => [p.at, p.p50, p.p95, p.p99]) })}</script>
  <div class="legend faint"><span class="k p50">p50</span> ${fmtMs(last.p50)} · <span class="k p95">p95</span> ${fmtMs(last.p95)} · <span class="k p99">p99</span> ${fmtMs(last.p99)} <span>(latest ${stepMinutes} min, ${last.count} transactions; max ${fmtMs(max)})</span></div>`;
}

function fmtMs(v: number | null): string {
  if (v === null) return '–';
  return v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s` : `${Math.round(v)} ms`;
}

function duration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function agoIso(iso: string, now: number): Html {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ago(ms, now) : html`${iso}`;
}

const SIGNAL_BADGE: Record<string, string> = { webhook: 'webhook failing', update_lag: 'updates late', throttled: 'throttled by Telegram' };

/**
 * What the bot itself reported with its heartbeat (docs/monitors.md, "Bot signals"): Telegram's
 * getWebhookInfo, the update lag of its last minute, and Telegram's 429s, each with its rule's state.
 */
function signalRows(now: number, m: PresentedMonitor): Html {
  const s = m.signals as BotSignalsState;
  const last = s.minutes[s.minutes.length - 1];
  const w = s.webhook;
  const lagRule = m.signalRules.updateLag;
  const throttleRule = m.signalRules.throttle;
  return html`${w ? html`<tr data-signal="webhook"><th>Webhook</th><td>${ruleBadge(s.rules.webhook)}${w.urlSet === false ? html`<b>no webhook set</b> · ` : ''}<span class="num">${w.pendingUpdateCount ?? '?'}</span> update${w.pendingUpdateCount === 1 ? '' : 's'} waiting${w.lastErrorAt ? html` · last delivery error ${ago(w.lastErrorAt, now)}${w.lastErrorMessage ? html`: ${w.lastErrorMessage}` : ''}` : ''}${w.checkedAt ? html` <span class="faint">(getWebhookInfo ${ago(w.checkedAt, now)})</span>` : ''}${w.checkError ? html` <span class="faint">· the last ask failed: ${w.checkError}</span>` : ''}</td></tr>` : ''}
    ${last ? html`<tr data-signal="update_lag"><th>Update lag</th><td>${ruleBadge(s.rules.update_lag)}${last.dated ? html`p50 <b class="num">${secs(last.lagP50)}</b> · p95 <b class="num">${secs(last.lagP95)}</b> · max <b class="num">${secs(last.lagMax)}</b>` : html`<span class="faint">no dated update</span>`} <span class="faint">(${last.updates} update${last.updates === 1 ? '' : 's'} in the minute of ${absoluteTime(last.start)}; ${lagRule ? `alerts above ${lagRule.seconds} s for ${lagRule.minutes} min` : 'alert off'})</span></td></tr>
    <tr data-signal="throttled"><th>Telegram 429s</th><td>${ruleBadge(s.rules.throttled)}<span class="num">${last.throttled}</span> in the last minute${last.throttled ? html` (${Object.entries(last.methods).map(([k, v]) => `${k} ${v}`).join(', ')}), retry_after ${secs(last.retryAfterSeconds)}` : ''} · <span class="num">${s.totals.throttled}</span> in all <span class="faint">(${throttleRule ? `alerts at ≥ ${throttleRule.secondsPerMinute} s of retry_after a minute for ${throttleRule.minutes} min` : 'alert off'})</span></td></tr>` : ''}
    ${s.ignored.count ? html`<tr data-signal="ignored"><th>Unreadable signals</th><td><span class="num">${s.ignored.count}</span> part${s.ignored.count === 1 ? '' : 's'} of check-ins left out${s.ignored.last ? html`, last: <code>${s.ignored.last}</code>` : ''}</td></tr>` : ''}`;
}

function ruleBadge(rule: SignalRuleState): Html {
  if (rule.state === 'firing') return html`<span class="badge mon-down" title="${rule.detail ?? ''}">alerting</span> `;
  if (rule.state === 'pending') return html`<span class="badge mon-late" title="breached since ${rule.since === null ? '?' : new Date(rule.since).toISOString()}; alerts if it lasts">pending</span> `;
  return html``;
}

function secs(v: number | null): string {
  if (v === null) return '–';
  return v >= 10 ? `${Math.round(v)} s` : `${Math.round(v * 10) / 10} s`;
}

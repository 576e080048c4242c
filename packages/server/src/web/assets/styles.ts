/** The dashboard's one stylesheet, served from /static/app.css (no build step, no framework). */
export const STYLES = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --panel: #ffffff; --panel-2: #f9fafb; --border: #e3e6ea; --border-strong: #cfd4da;
  --text: #1c2024; --muted: #626b76; --faint: #8b939c; --link: #1f5fd1; --accent: #4f46e5; --accent-text: #ffffff;
  --hover: #f1f3f6; --selected: #eef2ff; --code-bg: #f4f5f7; --mark: #fff3c4;
  --fatal: #9d174d; --error: #dc2626; --warning: #d97706; --info: #2563eb; --debug: #6b7280;
  --ok: #15803d; --new: #2563eb; --progress: #7c3aed; --resolved: #15803d; --ignored: #6b7280;
  --spark: #94a3b8; --spark-hot: #ef4444; --shadow: 0 1px 2px rgba(16, 24, 40, .05);
  --radius: 6px; --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1115; --panel: #161a20; --panel-2: #1b2027; --border: #272d36; --border-strong: #353c47;
    --text: #e6e9ed; --muted: #9aa4b0; --faint: #6e7883; --link: #7aa7ff; --accent: #6366f1;
    --hover: #1d232b; --selected: #1e2340; --code-bg: #11151a; --mark: #4a3d0a;
    --fatal: #f472b6; --error: #f87171; --warning: #fbbf24; --info: #60a5fa; --debug: #9ca3af;
    --ok: #4ade80; --new: #60a5fa; --progress: #a78bfa; --resolved: #4ade80; --ignored: #9ca3af;
    --spark: #64748b; --spark-hot: #f87171; --shadow: none;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
h1 { font-size: 20px; margin: 0; font-weight: 650; letter-spacing: -.01em; }
h2 { font-size: 13px; margin: 0 0 8px; font-weight: 650; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
h3 { font-size: 14px; margin: 0 0 6px; }
.num { font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.faint { color: var(--faint); }
.nowrap { white-space: nowrap; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

/* top bar */
.topbar { display: flex; align-items: center; gap: 18px; padding: 0 20px; height: 48px; background: var(--panel); border-bottom: 1px solid var(--border); position: sticky; top: 0; z-index: 5; }
.brand { display: flex; align-items: center; gap: 8px; font-weight: 700; color: var(--text); font-size: 15px; }
.brand:hover { text-decoration: none; }
.brand-dot { width: 10px; height: 10px; border-radius: 50%; background: var(--accent); box-shadow: 0 0 0 3px color-mix(in srgb, var(--accent) 25%, transparent); }
.nav { display: flex; gap: 2px; flex: 1; }
.nav a { color: var(--muted); padding: 6px 10px; border-radius: var(--radius); font-weight: 500; }
.nav a:hover { background: var(--hover); text-decoration: none; color: var(--text); }
.nav a[aria-current="page"] { color: var(--text); background: var(--hover); }
.whoami { display: flex; align-items: center; gap: 10px; color: var(--muted); font-size: 13px; }
main { padding: 18px 20px 40px; max-width: 1320px; margin: 0 auto; }

/* controls */
button, .btn { font: inherit; font-size: 13px; font-weight: 500; display: inline-flex; align-items: center; gap: 6px; height: 30px; padding: 0 12px; border-radius: var(--radius); border: 1px solid var(--border-strong); background: var(--panel); color: var(--text); cursor: pointer; white-space: nowrap; box-shadow: var(--shadow); }
button:hover, .btn:hover { background: var(--hover); text-decoration: none; }
button.primary, .btn.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
button.primary:hover { filter: brightness(1.08); }
button.ghost { border-color: transparent; box-shadow: none; background: transparent; color: var(--muted); }
button.small, .btn.small { height: 26px; padding: 0 9px; font-size: 12px; }
button:disabled { opacity: .5; cursor: default; }
button.danger { color: var(--error); border-color: color-mix(in srgb, var(--error) 45%, transparent); }
.inline-form { display: inline-flex; gap: 6px; align-items: center; flex-wrap: wrap; margin: 0; }
table.manage { width: 100%; border-collapse: collapse; font-size: 13px; }
table.manage th { text-align: left; font-weight: 500; color: var(--muted); padding: 6px 8px 6px 0; }
table.manage td { padding: 6px 8px 6px 0; border-top: 1px solid var(--border); vertical-align: middle; }
.secret { font-family: var(--mono); word-break: break-all; }
input, select, textarea { font: inherit; font-size: 13px; color: var(--text); background: var(--panel); border: 1px solid var(--border-strong); border-radius: var(--radius); padding: 5px 9px; min-height: 30px; }
textarea { font-family: var(--mono); font-size: 12.5px; width: 100%; }
input:focus, select:focus, textarea:focus, button:focus-visible { outline: 2px solid color-mix(in srgb, var(--accent) 55%, transparent); outline-offset: 0; border-color: var(--accent); }
input[type="checkbox"] { min-height: 0; width: 15px; height: 15px; accent-color: var(--accent); }
label { font-size: 12px; color: var(--muted); font-weight: 500; }

.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; box-shadow: var(--shadow); }
.panel-body { padding: 14px 16px; }
.panel + .panel, .section + .section { margin-top: 14px; }
.page-head { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; margin-bottom: 14px; }
.page-head .spacer { flex: 1; }
.flash { padding: 9px 12px; border-radius: var(--radius); margin-bottom: 12px; background: var(--selected); border: 1px solid color-mix(in srgb, var(--accent) 30%, transparent); }
.flash.error { background: color-mix(in srgb, var(--error) 12%, var(--panel)); border-color: color-mix(in srgb, var(--error) 40%, transparent); }

/* saved views and status tabs */
.views { display: flex; gap: 6px; flex-wrap: wrap; margin-bottom: 12px; }
.chip { flex-shrink: 0; display: inline-flex; align-items: center; gap: 6px; height: 28px; padding: 0 11px; border-radius: 999px; border: 1px solid var(--border); background: var(--panel); color: var(--muted); font-size: 12.5px; font-weight: 500; }
.chip:hover { text-decoration: none; color: var(--text); background: var(--hover); }
.chip[aria-current="true"] { background: var(--selected); color: var(--accent); border-color: color-mix(in srgb, var(--accent) 40%, transparent); }
.tabs { display: flex; gap: 0; border-bottom: 1px solid var(--border); padding: 0 12px; overflow-x: auto; }
.tabs a { padding: 10px 12px 9px; color: var(--muted); border-bottom: 2px solid transparent; font-weight: 500; white-space: nowrap; font-size: 13px; }
.tabs a:hover { color: var(--text); text-decoration: none; }
.tabs a[aria-current="true"] { color: var(--text); border-bottom-color: var(--accent); }
.tabs .count { color: var(--faint); margin-left: 4px; font-variant-numeric: tabular-nums; }

/* filters */
.filters { display: flex; gap: 8px; padding: 10px 12px; flex-wrap: wrap; align-items: center; border-bottom: 1px solid var(--border); }
.filters .search { flex: 1 1 300px; }
.filters .search input { width: 100%; }
.more-filters { padding: 0 12px 10px; border-bottom: 1px solid var(--border); display: flex; gap: 8px; flex-wrap: wrap; }
.more-filters input { width: 150px; }

/* issue list */
.bulkbar { display: flex; align-items: center; gap: 8px; padding: 7px 12px; border-bottom: 1px solid var(--border); background: var(--panel-2); font-size: 12px; color: var(--muted); }
.bulkbar .spacer { flex: 1; }
.issue-head, .issue-row { display: grid; grid-template-columns: 28px minmax(0, 1fr) 112px 64px 56px 82px; gap: 10px; align-items: center; padding: 0 12px; }
.issue-head { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--faint); padding-top: 6px; padding-bottom: 6px; border-bottom: 1px solid var(--border); font-weight: 600; }
.issue-head .r, .issue-row .r { text-align: right; }
.issue-row { border-bottom: 1px solid var(--border); padding-top: 9px; padding-bottom: 9px; position: relative; }
.issue-row:last-child { border-bottom: 0; }
.issue-row:hover { background: var(--hover); }
.issue-row::before { content: ""; position: absolute; left: 0; top: 8px; bottom: 8px; width: 3px; border-radius: 0 2px 2px 0; background: var(--lvl, var(--error)); }
.issue-main { min-width: 0; }
.issue-title { display: flex; gap: 8px; align-items: baseline; min-width: 0; }
.issue-title a { color: var(--text); font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.issue-title a:visited { color: color-mix(in srgb, var(--text) 80%, var(--muted)); }
.short-id { font-family: var(--mono); font-size: 11.5px; color: var(--muted); white-space: nowrap; }
.issue-meta { display: flex; gap: 6px; align-items: center; color: var(--muted); font-size: 12px; margin-top: 3px; min-width: 0; flex-wrap: wrap; }
.issue-meta .culprit { font-family: var(--mono); font-size: 11.5px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 52ch; }
.issue-row .big { font-weight: 600; font-variant-numeric: tabular-nums; }
.issue-row .age { font-size: 12px; color: var(--muted); }
.empty { padding: 48px 16px; text-align: center; color: var(--muted); }
.pager { display: flex; align-items: center; justify-content: space-between; padding: 10px 12px; font-size: 12.5px; color: var(--muted); border-top: 1px solid var(--border); }
.pager .btns { display: flex; gap: 6px; }

/* badges */
.badge { display: inline-flex; align-items: center; gap: 4px; height: 19px; padding: 0 7px; border-radius: 4px; font-size: 11px; font-weight: 600; white-space: nowrap; background: color-mix(in srgb, var(--c, var(--muted)) 13%, transparent); color: var(--c, var(--muted)); }
.badge.outline { background: transparent; border: 1px solid var(--border-strong); color: var(--muted); font-weight: 500; }
.lvl-fatal { --c: var(--fatal); --lvl: var(--fatal); }
.lvl-error { --c: var(--error); --lvl: var(--error); }
.lvl-warning { --c: var(--warning); --lvl: var(--warning); }
.lvl-info { --c: var(--info); --lvl: var(--info); }
.lvl-debug { --c: var(--debug); --lvl: var(--debug); }
.st-new { --c: var(--new); }
.st-in_progress { --c: var(--progress); }
.st-resolved { --c: var(--resolved); }
.st-ignored { --c: var(--ignored); }
.regressed { --c: var(--error); }
.dot { width: 7px; height: 7px; border-radius: 50%; background: var(--c, var(--muted)); display: inline-block; }

svg.spark { display: block; width: 112px; height: 26px; }
svg.spark rect { fill: var(--spark); }
svg.spark rect.hot { fill: var(--spark-hot); }
svg.spark line { stroke: var(--border-strong); stroke-width: 1; }

/* issue page */
.crumbs { font-size: 12.5px; color: var(--muted); margin-bottom: 8px; display: flex; gap: 6px; flex-wrap: wrap; }
.issue-header { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; margin-bottom: 14px; }
.issue-header .titles { flex: 1 1 480px; min-width: 0; }
.issue-header h1 { word-break: break-word; }
.issue-header .sub { margin-top: 6px; display: flex; gap: 8px; flex-wrap: wrap; align-items: center; color: var(--muted); font-size: 12.5px; }
.actions { display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
.actions form { display: inline; margin: 0; }
details.menu { position: relative; }
details.menu > summary { list-style: none; }
details.menu > summary::-webkit-details-marker { display: none; }
details.menu[open] > .menu-items { position: absolute; right: 0; top: 34px; z-index: 10; min-width: 220px; background: var(--panel); border: 1px solid var(--border-strong); border-radius: 8px; padding: 6px; box-shadow: 0 8px 24px rgba(0,0,0,.14); display: grid; gap: 2px; }
.menu-items button { width: 100%; justify-content: flex-start; border: 0; box-shadow: none; background: transparent; }
.menu-items button:hover { background: var(--hover); }
.menu-items .sep { border-top: 1px solid var(--border); margin: 4px 0; }
.menu-items form.inline-field { display: flex; gap: 6px; padding: 4px; }
.menu-items form.inline-field input { flex: 1; min-width: 0; }
.stats { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); border-bottom: 1px solid var(--border); }
.stat { padding: 12px 16px; border-right: 1px solid var(--border); min-width: 0; }
.stat:last-child { border-right: 0; }
.stat .k { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--faint); font-weight: 600; }
.stat .v { font-size: 18px; font-weight: 650; font-variant-numeric: tabular-nums; margin-top: 2px; }
.stat .s { font-size: 12px; color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.chart { padding: 10px 12px 6px; height: 150px; }
.chart svg { width: 100%; height: 120px; display: block; }
.chart svg rect { fill: color-mix(in srgb, var(--accent) 70%, transparent); }
.chart svg text { fill: var(--faint); font-size: 10px; }
.chart svg line { stroke: var(--border); }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 320px; gap: 14px; margin-top: 14px; align-items: start; }
.section { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; box-shadow: var(--shadow); }
.section > h2 { padding: 11px 14px 0; }
.section > .body { padding: 4px 14px 14px; }
.event-head { display: flex; align-items: center; gap: 10px; padding: 10px 14px; border-bottom: 1px solid var(--border); flex-wrap: wrap; font-size: 12.5px; color: var(--muted); }
.event-head .spacer { flex: 1; }
.exception { padding: 12px 14px; border-bottom: 1px solid var(--border); }
.exception:last-child { border-bottom: 0; }
.exc-type { font-weight: 700; font-family: var(--mono); font-size: 13px; }
.exc-value { margin: 2px 0 10px; white-space: pre-wrap; word-break: break-word; }
.caused-by { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--faint); font-weight: 600; margin-bottom: 4px; }
.frames { border: 1px solid var(--border); border-radius: var(--radius); overflow: hidden; }
.frame { border-bottom: 1px solid var(--border); }
.frame:last-child { border-bottom: 0; }
.frame > summary { padding: 6px 10px; cursor: pointer; font-family: var(--mono); font-size: 12px; display: flex; gap: 6px; flex-wrap: wrap; list-style: none; }
.frame > summary::-webkit-details-marker { display: none; }
.frame > summary:hover { background: var(--hover); }
.frame .fn { font-weight: 650; }
.frame .file { color: var(--muted); word-break: break-all; }
.frame.lib > summary { color: var(--faint); }
.frame.lib .fn { font-weight: 400; }
.tag-inapp { font-size: 10px; font-family: system-ui, sans-serif; font-weight: 600; color: var(--accent); border: 1px solid color-mix(in srgb, var(--accent) 40%, transparent); border-radius: 3px; padding: 0 4px; }
.context { margin: 0; background: var(--code-bg); border-top: 1px solid var(--border); overflow-x: auto; padding: 4px 0; }
.context .ln { display: grid; grid-template-columns: 52px 1fr; white-space: pre; font-family: var(--mono); font-size: 12px; line-height: 1.6; }
.context .ln .no { text-align: right; padding-right: 12px; color: var(--faint); user-select: none; }
.context .ln.cur { background: color-mix(in srgb, var(--error) 14%, transparent); }
.context .ln.cur .no { color: var(--error); font-weight: 700; }
.lib-frames > summary { padding: 6px 10px; font-size: 12px; color: var(--muted); cursor: pointer; background: var(--panel-2); }
table.kv { width: 100%; border-collapse: collapse; font-size: 12.5px; }
table.kv th { text-align: left; font-weight: 500; color: var(--muted); width: 32%; padding: 5px 10px 5px 0; vertical-align: top; white-space: nowrap; }
table.kv td { padding: 5px 0; word-break: break-word; font-family: var(--mono); font-size: 12px; }
table.kv tr + tr th, table.kv tr + tr td { border-top: 1px solid var(--border); }
table.list { width: 100%; border-collapse: collapse; font-size: 12.5px; }
table.list th { text-align: left; font-weight: 500; color: var(--muted); padding: 8px 14px; }
table.list td { padding: 7px 14px; border-top: 1px solid var(--border); vertical-align: middle; }
table.list .num { text-align: right; font-variant-numeric: tabular-nums; }
table.crumbs-table { width: 100%; border-collapse: collapse; font-size: 12px; }
table.crumbs-table td { padding: 5px 8px 5px 0; border-top: 1px solid var(--border); vertical-align: top; }
table.crumbs-table td.msg { font-family: var(--mono); word-break: break-word; width: 100%; }
table.crumbs-table td.cat { white-space: nowrap; color: var(--muted); }
table.crumbs-table td.time { white-space: nowrap; color: var(--faint); font-variant-numeric: tabular-nums; }
.tagbars { display: grid; gap: 10px; grid-template-columns: minmax(0, 1fr); }
.tagbar { min-width: 0; }
.side-col, .main-col { min-width: 0; }
.tagbar .name { display: flex; justify-content: space-between; font-size: 12px; color: var(--muted); margin-bottom: 3px; }
.tagbar .track { display: flex; height: 8px; border-radius: 4px; overflow: hidden; background: var(--hover); }
.tagbar .seg { height: 100%; }
.tagbar .seg:nth-child(1) { background: var(--accent); } .tagbar .seg:nth-child(2) { background: #0ea5e9; } .tagbar .seg:nth-child(3) { background: #14b8a6; } .tagbar .seg:nth-child(4) { background: #f59e0b; }
.tagbar .vals { font-size: 11.5px; color: var(--muted); margin-top: 3px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tagbar .vals a { color: inherit; }
.tree { font-family: var(--mono); font-size: 12px; line-height: 1.6; overflow-x: auto; }
.tree details { padding-left: 14px; }
.tree summary { margin-left: -14px; cursor: pointer; }
.tree .leaf { padding-left: 0; white-space: pre-wrap; word-break: break-word; }
.tree .key { color: var(--progress); }
.tree .str { color: var(--ok); }
.tree .numv { color: var(--info); }
.tree .nul { color: var(--faint); }
.event-list { list-style: none; margin: 0; padding: 0; }
.history { list-style: none; margin: 0 0 10px; padding: 0; }
.history li { padding: 5px 0; border-top: 1px solid var(--border); font-size: 12.5px; }
.history li:first-child { border-top: 0; }
.history .note { white-space: pre-wrap; }
.history-regressed strong, .history-unignored strong { color: var(--muted); }
.event-list li { display: flex; justify-content: space-between; gap: 8px; padding: 6px 14px; border-top: 1px solid var(--border); font-size: 12.5px; }
.event-list li[aria-current="true"] { background: var(--selected); }
.event-list .eid { font-family: var(--mono); font-size: 11.5px; }
.links { display: flex; gap: 6px; flex-wrap: wrap; }

/* projects, monitors, login */
.grid-2 { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
.grid-3 { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 14px; }
.grid-2 > .section, .grid-3 > .section { margin-top: 0; align-self: start; }
.copy-row { display: flex; gap: 6px; align-items: center; }
.copy-row code { flex: 1; padding: 6px 9px; background: var(--code-bg); border: 1px solid var(--border); border-radius: var(--radius); overflow-x: auto; white-space: nowrap; }
pre.snippet { margin: 0; background: var(--code-bg); border: 1px solid var(--border); border-radius: var(--radius); padding: 10px 12px; overflow-x: auto; line-height: 1.55; }
.snippets > details { border-top: 1px solid var(--border); }
.snippets > details > summary { padding: 10px 0; cursor: pointer; font-weight: 600; }
.snippets > details > div { padding-bottom: 12px; }
.form-grid { display: grid; gap: 12px; }
.form-grid .field { display: grid; gap: 4px; }
.form-grid .hint { font-size: 12px; color: var(--faint); }
.placeholder { border: 1px dashed var(--border-strong); border-radius: 8px; padding: 14px; color: var(--muted); min-height: 96px; background: var(--panel-2); }
.placeholder h3 { color: var(--text); }
/* monitors */
.mon-up { --c: var(--ok); } .mon-late { --c: var(--warning); } .mon-down { --c: var(--error); } .mon-new { --c: var(--new); } .mon-paused { --c: var(--ignored); }
.mon-counts { display: inline-flex; gap: 4px; align-items: center; flex-wrap: wrap; font-size: 13px; }
.mon-counts .num { margin-right: 6px; font-weight: 600; }
.section.bot > h2 .mono { text-transform: none; letter-spacing: 0; font-weight: 400; }
.monitors { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 10px; margin-top: 6px; }
.monitor { border: 1px solid var(--border); border-left: 3px solid var(--c, var(--border)); border-radius: var(--radius); padding: 9px 12px; background: var(--panel-2); min-width: 0; }
.monitor-head { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; margin-bottom: 4px; }
.monitor-head strong { word-break: break-all; }
.monitor table.kv th { width: 30%; }
.monitor .gauge { display: inline-block; margin-right: 8px; }
.flips > summary { cursor: pointer; font-size: 12px; color: var(--muted); padding: 6px 0 2px; }
.flips .badge { height: 17px; font-size: 10.5px; }
.bot-lower { margin-top: 12px; }
.sub-section { min-width: 0; }
.sub-section h3 { font-size: 13px; }
.small-empty { padding: 12px 0; font-size: 12.5px; }
.latency { min-height: 130px; }
.latency svg { width: 100%; height: 120px; display: block; }
.latency svg line { stroke: var(--border); }
.latency svg polyline { fill: none; stroke-width: 1.6; vector-effect: non-scaling-stroke; }
.latency svg .p50, .legend .k.p50 { stroke: var(--ok); color: var(--ok); }
.latency svg .p95, .legend .k.p95 { stroke: var(--warning); color: var(--warning); }
.latency svg .p99, .legend .k.p99 { stroke: var(--error); color: var(--error); }
.legend { font-size: 11.5px; }
.legend .k { font-weight: 600; }
table.alerts td.msg { font-family: inherit; }
.delivery-sent, .delivery-forwarded { --c: var(--ok); } .delivery-enqueued { --c: var(--info); } .delivery-pending { --c: var(--info); }
.delivery-failed, .delivery-no_target { --c: var(--error); } .delivery-inhibited, .delivery-silenced, .delivery-suppressed, .delivery-recorded { --c: var(--ignored); }
.sparkline { vertical-align: middle; margin-right: 6px; } .sparkline polyline { fill: none; stroke: var(--info); stroke-width: 1.4; vector-effect: non-scaling-stroke; } .sparkline .fail { fill: var(--error); }
.budget-over { color: var(--error); } .uptime { white-space: nowrap; }
.login-wrap { min-height: 100vh; display: grid; place-items: center; padding: 20px; }
.login { width: 100%; max-width: 360px; }
.login .panel-body { padding: 22px; display: grid; gap: 14px; }
.login input { width: 100%; height: 36px; }
.login button { width: 100%; height: 36px; justify-content: center; }
.login .brand { justify-content: center; margin-bottom: 6px; font-size: 18px; }

@media (max-width: 900px) {
  .layout { grid-template-columns: minmax(0, 1fr); }
  .grid-2, .grid-3 { grid-template-columns: minmax(0, 1fr); }
}
@media (max-width: 640px) {
  main { padding: 12px 10px 32px; }
  .topbar { padding: 0 10px; gap: 8px; }
  .brand span.word { display: none; }
  .whoami .login-name { display: none; }
  /* Four sections (five with Users & tokens) and Log out do not fit a phone's width: the nav scrolls sideways on its own. */
  .nav { min-width: 0; overflow-x: auto; scrollbar-width: none; }
  .nav a { padding: 6px 7px; white-space: nowrap; }
  .issue-head { display: none; }
  .issue-row { grid-template-columns: 24px minmax(0, 1fr) 58px; gap: 8px; }
  .issue-row .col-spark, .issue-row .col-users { display: none; }
  .issue-row .col-events { display: none; }
  .issue-row .mobile-counts { display: inline; }
  .issue-meta .culprit { max-width: 100%; }
  .issue-title { flex-direction: column; gap: 0; }
  .issue-title a { white-space: normal; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; line-height: 1.3; }
  .views { flex-wrap: nowrap; overflow-x: auto; margin-left: -10px; margin-right: -10px; padding: 0 10px 2px; scrollbar-width: none; }
  .bulkbar button[value="in_progress"] { display: none; }
  .stats { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .stat:nth-child(2) { border-right: 0; }
  .stat:nth-child(-n+2) { border-bottom: 1px solid var(--border); }
  .filters select { flex: 1 1 30%; }
  .monitors { grid-template-columns: minmax(0, 1fr); }
  .monitor table.kv th { white-space: normal; }
  .more-filters input { flex: 1 1 40%; width: auto; }
  h1 { font-size: 18px; }
}
.mobile-counts { display: none; }
.chart-tip { font-size: 11.5px; min-height: 16px; }
.uplot, .uplot * { font-family: inherit !important; }
.u-legend { font-size: 11px; }
/* logs */
.log-tabs { margin: 0 0 12px; padding: 0; }
.log-filters { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 12px; }
.log-filters input[type="search"] { min-width: 240px; flex: 1; }
.quick-ranges { display: inline-flex; gap: 4px; }
.btn.active { background: var(--selected); border-color: var(--accent); }
.section-head { display: flex; align-items: center; gap: 8px; padding: 11px 14px 6px; }
.section-head h2 { margin: 0; }
.section-head .spacer { flex: 1; }
.follow-bar { display: flex; gap: 10px; align-items: center; padding: 8px 14px; border-bottom: 1px solid var(--border); font-size: 12.5px; }
.log-lines tr.fresh td { background: var(--selected); }
.log-message code { white-space: pre-wrap; word-break: break-word; }
.rule-editor form { display: inline-flex; gap: 6px; align-items: center; flex-wrap: wrap; margin: 0; }
.rule-editor form input[name="pattern"] { min-width: 320px; }
`;
